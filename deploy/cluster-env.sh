# shellcheck shell=bash source-path=SCRIPTDIR
# Source me (do not execute):   . deploy/cluster-env.sh
#
# deploy/env.sh, then pointed at the three-broker cluster of deploy/cluster.sh: Kafka over
# SASL_SSL with SCRAM-SHA-512 and the cluster's CA, topics created with 3 replicas and
# min.insync.replicas=2, and the database grassroots_cluster (services on the cluster keep
# their inbox and outbox apart from those on the single broker). This shell is the Kafka
# super user `admin`, as with deploy/env.sh; each service is its own user.
#
# Also exported, for mutual TLS (no password; the user is the certificate's CN):
#   GRASSROOTS_CLUSTER_MTLS_BOOTSTRAP_SERVERS   the brokers' SSL listener
#   GRASSROOTS_CLUSTER_CERTS                    users/<user>.crt and users/<user>.key, ca.crt
#
# Input (optional): GRASSROOTS_CLUSTER_PORT_BASE (default 9190; see deploy/cluster.sh).

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

_grassroots_cluster_env() {
  local base n client='' mtls='' db=grassroots_cluster svc upper pw_var
  base=${GRASSROOTS_CLUSTER_PORT_BASE:-9190}
  for n in 1 2 3; do
    client+="127.0.0.1:$((base + n)),"
    mtls+="127.0.0.1:$((base + 10 + n)),"
  done
  export GRASSROOTS_CLUSTER_PORT_BASE=$base
  export GRASSROOTS_CLUSTER_DIR=$GRASSROOTS_STATE_DIR/cluster
  export GRASSROOTS_CLUSTER_CERTS=$GRASSROOTS_CLUSTER_DIR/certs
  export GRASSROOTS_CLUSTER_MTLS_BOOTSTRAP_SERVERS=${mtls%,}
  export GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS=${client%,}
  export GRASSROOTS_KAFKA_SECURITY_PROTOCOL=SASL_SSL
  export GRASSROOTS_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
  export GRASSROOTS_KAFKA_CA_FILE=$GRASSROOTS_CLUSTER_CERTS/ca.crt
  export GRASSROOTS_KAFKA_REPLICATION_FACTOR=3
  export GRASSROOTS_KAFKA_MIN_INSYNC_REPLICAS=2

  export GRASSROOTS_PG_DATABASE=$db
  export PGDATABASE=$db
  export GRASSROOTS_ADMIN_DSN="postgresql:///$db?host=$GRASSROOTS_PG_SOCKET_DIR&port=$GRASSROOTS_PG_PORT&user=postgres"
  for svc in grading rectification notification reporting intake; do
    upper=${svc^^}
    pw_var=${upper}_DB_PASSWORD
    [[ -n ${!pw_var:-} ]] || continue
    export "${upper}_DATABASE_URL=postgresql://$svc:${!pw_var}@127.0.0.1:$GRASSROOTS_PG_PORT/$db"
  done
}
_grassroots_cluster_env
unset -f _grassroots_cluster_env
