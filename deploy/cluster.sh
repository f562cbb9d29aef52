#!/usr/bin/env bash
# A three-broker Kafka cluster (KRaft, each node controller + broker) on loopback, with TLS,
# SCRAM-SHA-512 users, client certificates and the platform's ACLs — the shape of a production
# cluster (Strimzi), for the failover and TLS tests. The single broker of deploy/infra.sh is
# untouched (other ports, other state).
#
#   deploy/cluster.sh up|down|status|reset
#   deploy/cluster.sh start|stop|kill|crash|pause|resume <n>      n = 1, 2 or 3
#
#   up       create the CA and certificates, format and start the nodes that are not running
#            (resume paused ones), create the users (SCRAM-SHA-512) and ACLs of
#            deploy/kafka/acls.txt, the topics (3 replicas, min.insync.replicas=2) and the
#            database grassroots_cluster (same roles, own schemas). Idempotent.
#   down     stop every node (controlled shutdown).           status  one line per node.
#   reset    down, then delete the cluster's state (data, certificates).
#   start n  start one node and wait until it serves.        stop n  controlled shutdown.
#   kill n   SIGKILL (crash is the same).                     pause n / resume n  SIGSTOP/SIGCONT.
#
# Then:  . deploy/cluster-env.sh   (points clients at the cluster: SASL_SSL, SCRAM-SHA-512, CA).
#
# Needs what `deploy/infra.sh up` set up: the secrets (KAFKA_*_PASSWORD), PostgreSQL, the
# Kafka jars in the shared cache (fetched here with mvn if missing), and `make deps` (.venv).
#
# Listeners of node n (GRASSROOTS_CLUSTER_PORT_BASE, default 9190):
#   base+n     CLIENT      SASL_SSL, SCRAM-SHA-512 (services, county systems, admin)
#   base+10+n  MTLS        SSL with a client certificate required (user = the certificate's CN)
#   base+20+n  INTERNAL    SSL, brokers' certificates (replication)
#   base+30+n  CONTROLLER  SSL, brokers' certificates (KRaft quorum)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEPLOY=$REPO/deploy
# shellcheck source=cluster-env.sh
. "$DEPLOY/cluster-env.sh"

NODES=(1 2 3)
STATE=$GRASSROOTS_STATE_DIR
LOG_DIR=$STATE/logs
DIR=$GRASSROOTS_CLUSTER_DIR
CERTS=$GRASSROOTS_CLUSTER_CERTS
CLUSTER_ID_FILE=$DIR/cluster.id
STOREPASS_FILE=$CERTS/.storepass
ADMIN_PROPS=$DIR/admin-client.properties
BASE=$GRASSROOTS_CLUSTER_PORT_BASE
START_TIMEOUT=${GRASSROOTS_KAFKA_START_TIMEOUT:-120}
STARTED_MARK='Kafka Server started'
KAFKA_POM=$DEPLOY/kafka/pom.xml
KAFKA_LOG4J=$DEPLOY/kafka/log4j2.properties
# The same version and jar cache as deploy/infra.sh (one download per machine).
KAFKA_VERSION=${GRASSROOTS_KAFKA_VERSION:-$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$KAFKA_POM")}
CACHE_ROOT=${GRASSROOTS_CACHE:-${HOME:+$HOME/.cache/grassroots}}
CACHE_ROOT=${CACHE_ROOT:-$STATE/cache}
KAFKA_HOME=$CACHE_ROOT/kafka-$KAFKA_VERSION
KAFKA_LIB=$KAFKA_HOME/lib
KAFKA_MARKER=$KAFKA_HOME/.fetched
PYTHON=$REPO/.venv/bin/python

say() { printf '%s\n' "$*"; }
die() {
  printf 'cluster: error: %s\n' "$*" >&2
  exit 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

client_port() { echo $((BASE + $1)); }
mtls_port() { echo $((BASE + 10 + $1)); }
internal_port() { echo $((BASE + 20 + $1)); }
controller_port() { echo $((BASE + 30 + $1)); }
node_dir() { echo "$DIR/node-$1"; }
node_log() { echo "$LOG_DIR/cluster-node-$1.log"; }

check_node() {
  [[ ${1:-} =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"
}

java_bin() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || die "java not found: run deploy/infra.sh up first"
  fi
}

# ---------------------------------------------------------------- jars, secrets, certificates

# As deploy/infra.sh does (same marker, same lock), so either script may fetch first.
kafka_fetch() {
  local want tmp
  want="$KAFKA_VERSION $(sha256sum <"$KAFKA_POM" | cut -d' ' -f1)"
  [[ -f $KAFKA_MARKER && $(<"$KAFKA_MARKER") == "$want" ]] && return 0
  command -v mvn >/dev/null || die "Kafka jars missing and no mvn: run deploy/infra.sh up first"
  mkdir -p "$KAFKA_HOME"
  exec 8>"$KAFKA_HOME/.lock"
  flock 8
  if [[ ! -f $KAFKA_MARKER || $(<"$KAFKA_MARKER") != "$want" ]]; then
    say "cluster: fetching kafka_2.13 $KAFKA_VERSION jars into $KAFKA_LIB (mvn)"
    tmp=$KAFKA_HOME/lib.tmp
    rm -rf "$tmp"
    mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
      -DincludeScope=runtime -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" \
      >"$KAFKA_HOME/mvn.log" 2>&1 || die "mvn could not fetch Kafka (see $KAFKA_HOME/mvn.log)"
    rm -rf "$KAFKA_LIB"
    mv "$tmp" "$KAFKA_LIB"
    printf '%s\n' "$want" >"$KAFKA_MARKER"
  fi
  exec 8>&-
}

# The users of the ACL file, plus admin.
acl_users() {
  { echo admin; grep -Ev '^[[:space:]]*(#|$)' "$DEPLOY/kafka/acls.txt" | awk '{print $1}'; } |
    awk '!seen[$0]++'
}

check_secrets() {
  local user var
  for user in $(acl_users); do
    var=KAFKA_${user^^}_PASSWORD
    [[ -n ${!var:-} ]] || die "$var is not set: run deploy/infra.sh up first (it makes the secrets)"
  done
}

# A CA, one certificate per broker (CN=broker: the brokers' principal, a super user; the
# address 127.0.0.1 and localhost in subjectAltName, so clients verify the host name) and one
# client certificate per user (CN=<user>: the principal the ACLs name, on the MTLS listener).
make_certs() {
  local n user ext
  mkdir -p "$CERTS/users"
  chmod 700 "$CERTS"
  if [[ ! -s $STOREPASS_FILE ]]; then
    (umask 077 && od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$STOREPASS_FILE")
  fi
  if [[ ! -s $CERTS/ca.crt ]]; then
    say "cluster: creating the CA ($CERTS/ca.crt)"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj '/CN=Grassroots local cluster CA' \
      -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" 2>/dev/null || die "openssl could not create the CA"
    chmod 600 "$CERTS/ca.key"
  fi
  ext=$CERTS/.ext
  for n in "${NODES[@]}"; do
    [[ -s $CERTS/broker-$n.p12 ]] && continue
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$ext"
    sign "broker-$n" broker "$ext"
    openssl pkcs12 -export -in "$CERTS/broker-$n.crt" -inkey "$CERTS/broker-$n.key" \
      -certfile "$CERTS/ca.crt" -name broker -out "$CERTS/broker-$n.p12" \
      -passout "file:$STOREPASS_FILE" || die "openssl could not write broker-$n.p12"
    chmod 600 "$CERTS/broker-$n.p12"
  done
  for user in $(acl_users); do
    [[ -s $CERTS/users/$user.crt ]] && continue
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
    sign "users/$user" "$user" "$ext"
  done
  rm -f "$ext"
}

sign() { # <file stem> <CN> <extensions file>
  local stem=$CERTS/$1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$stem.key" -out "$stem.csr" \
    2>/dev/null || die "openssl could not create a key for $2"
  chmod 600 "$stem.key"
  openssl x509 -req -in "$stem.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$3" -out "$stem.crt" 2>/dev/null || die "openssl could not sign $2"
  rm -f "$stem.csr"
}

# ---------------------------------------------------------------- nodes

node_pid() {
  local pid file
  file=$(node_dir "$1")/kafka.pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # Guard against pid reuse: it must be this node's broker.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $(node_dir "$1")/server.properties" || return 1
  echo "$pid"
}

# Whether the process the pid file names is gone. Only this judges "exited during startup": the
# identity check of node_pid reads /proc/<pid>/cmdline, which is empty for an instant while the
# launching shell execs java (the new image's arguments are not yet mapped), and a node that was
# starting fine was once reported dead in that instant.
node_exited() {
  local pid file
  file=$(node_dir "$1")/kafka.pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  ! kill -0 "$pid" 2>/dev/null
}

node_paused() { # state T (stopped) in /proc/<pid>/stat
  local pid
  pid=$(node_pid "$1") || return 1
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == T ]]
}

write_config() {
  local n=$1 dir voters='' m share=''
  dir=$(node_dir "$n")
  for m in "${NODES[@]}"; do voters+="$m@127.0.0.1:$(controller_port "$m"),"; done
  if compgen -G "$KAFKA_LIB/kafka-share-coordinator-*.jar" >/dev/null; then
    share="share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2"
  fi
  mkdir -p "$dir/data"
  cat >"$dir/server.properties.tmp" <<EOF
# Written by deploy/cluster.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=${voters%,}
listeners=CLIENT://127.0.0.1:$(client_port "$n"),MTLS://127.0.0.1:$(mtls_port "$n"),INTERNAL://127.0.0.1:$(internal_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=CLIENT://127.0.0.1:$(client_port "$n"),MTLS://127.0.0.1:$(mtls_port "$n"),INTERNAL://127.0.0.1:$(internal_port "$n")
listener.security.protocol.map=CLIENT:SASL_SSL,MTLS:SSL,INTERNAL:SSL,CONTROLLER:SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
# TLS everywhere. Clients verify the brokers (CA, host name); brokers verify each other and
# the MTLS clients. A certificate's CN is its principal (User:broker is a super user).
ssl.keystore.type=PKCS12
ssl.keystore.location=$CERTS/broker-$n.p12
ssl.keystore.password=$(<"$STOREPASS_FILE")
ssl.key.password=$(<"$STOREPASS_FILE")
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.crt
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+)$/\$1/,DEFAULT
listener.name.mtls.ssl.client.auth=required
listener.name.internal.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:broker
allow.everyone.if.no.acl.found=false
log.dirs=$dir/data
# Three replicas of everything, two of them in sync for a write to count (with acks=all).
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
$share
unclean.leader.election.enable=false
# A dead broker is fenced (and its partitions get new leaders) after 6 s without a heartbeat.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=4
message.max.bytes=4194304
replica.fetch.max.bytes=4194304
EOF
  chmod 600 "$dir/server.properties.tmp"
  mv "$dir/server.properties.tmp" "$dir/server.properties"
}

kafka_java() {
  "$(java_bin)" -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Djava.awt.headless=true \
    -cp "$KAFKA_LIB/*" "$@"
}

format_node() {
  local n=$1 dir
  dir=$(node_dir "$n")
  [[ -f $dir/data/meta.properties ]] && return 0
  if [[ ! -s $CLUSTER_ID_FILE ]]; then
    kafka_java kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  # The admin's SCRAM-SHA-512 credential is part of the bootstrap metadata.
  kafka_java kafka.tools.StorageTool format -t "$(<"$CLUSTER_ID_FILE")" -c "$dir/server.properties" \
    --ignore-formatted --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]" \
    >>"$LOG_DIR/cluster-format.log" 2>&1 || die "formatting node $n failed, see $LOG_DIR/cluster-format.log"
}

spawn_node() {
  local n=$1 dir log p
  dir=$(node_dir "$n")
  log=$(node_log "$n")
  for p in "$(client_port "$n")" "$(mtls_port "$n")" "$(internal_port "$n")" "$(controller_port "$n")"; do
    port_open "$p" && die "port $p (node $n) is taken by another process (set GRASSROOTS_CLUSTER_PORT_BASE)"
  done
  write_config "$n"
  format_node "$n"
  if [[ -f $log ]]; then mv -f "$log" "$log.1"; fi
  rm -f "$dir/kafka.pid"
  # As deploy/infra.sh: own session, pid file names the JVM, no inherited lock.
  # shellcheck disable=SC2016 # $$/$1/$@ belong to the inner shell
  setsid nohup bash -c 'echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1"; shift; exec "$@"' _ "$dir/kafka.pid" \
    "$(java_bin)" -Xms128m -Xmx384m -XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -Dkafka.logs.dir="$LOG_DIR" -cp "$KAFKA_LIB/*" kafka.Kafka "$dir/server.properties" \
    >>"$log" 2>&1 </dev/null 9>&- &
}

wait_started() { # <node>...
  local n deadline pending
  deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    pending=()
    for n in "$@"; do
      if grep -qF "$STARTED_MARK" "$(node_log "$n")" 2>/dev/null && port_open "$(client_port "$n")"; then
        continue
      fi
      if node_exited "$n"; then
        tail -n 20 "$(node_log "$n")" >&2 || true
        die "node $n exited during startup, see $(node_log "$n")"
      fi
      pending+=("$n")
    done
    ((${#pending[@]} == 0)) && return 0
    sleep 0.3
  done
  die "node(s) ${pending[*]} not started after ${START_TIMEOUT}s, see $LOG_DIR/cluster-node-*.log"
}

start_nodes() { # <node>...: those not running are started, paused ones resumed
  local n started=()
  for n in "$@"; do
    if node_pid "$n" >/dev/null; then
      node_paused "$n" && kill -CONT "$(node_pid "$n")" && say "cluster: node $n resumed"
      continue
    fi
    spawn_node "$n"
    started+=("$n")
  done
  ((${#started[@]} == 0)) && return 0
  say "cluster: starting node(s) ${started[*]} ($KAFKA_VERSION)"
  wait_started "${started[@]}"
  say "cluster: node(s) ${started[*]} up"
}

stop_node() { # <node> [seconds before SIGKILL]
  local n=$1 wait=${2:-60} pid i
  pid=$(node_pid "$n") || {
    rm -f "$(node_dir "$n")/kafka.pid"
    return 0
  }
  kill -CONT "$pid" 2>/dev/null || true # a paused JVM cannot shut down
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "cluster: node $n still alive after ${wait}s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(node_dir "$n")/kafka.pid"
  say "cluster: node $n stopped"
}

# ---------------------------------------------------------------- users, ACLs, topics, database

admin_client_properties() {
  cat >"$ADMIN_PROPS" <<EOF
# How deploy/kafka/Acls.java reaches the cluster (the admin password comes from the environment).
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.crt
EOF
}

apply_acls() {
  admin_client_properties
  "$(java_bin)" -cp "$KAFKA_LIB/*" "$DEPLOY/kafka/Acls.java" "$GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS" \
    "$DEPLOY/kafka/acls.txt" "$ADMIN_PROPS" 2>>"$LOG_DIR/cluster-acls.log" |
    sed 's/^kafka:/cluster:/' || die "users/ACLs failed, see $LOG_DIR/cluster-acls.log"
}

create_topics() {
  [[ -x $PYTHON ]] || die "$PYTHON missing: run make deps"
  # The registry's topics, with GRASSROOTS_KAFKA_REPLICATION_FACTOR=3 / MIN_INSYNC_REPLICAS=2.
  (cd "$REPO" && "$PYTHON" -m grassroots.cli topics create) | sed 's/^/cluster: /' ||
    die "creating the topics failed"
}

psql_bin() {
  local p
  p=$(command -v psql || true)
  [[ -n $p ]] || p=$(compgen -G '/usr/lib/postgresql/*/bin/psql' | sort -V | tail -n1 || true)
  [[ -n $p ]] || die "psql not found: run deploy/infra.sh up first"
  echo "$p"
}

# A database of its own, so services on the cluster never share an outbox (or an inbox) with
# services on the single broker: the same roles, their schemas created as deploy/infra.sh does.
provision_database() {
  local db=$GRASSROOTS_PG_DATABASE svc roles=()
  for svc in grading rectification notification reporting intake; do
    if PGDATABASE=postgres "$(psql_bin)" -X -tA -v ON_ERROR_STOP=1 \
      -c "SELECT 1 FROM pg_roles WHERE rolname = '$svc'" 2>/dev/null | grep -q 1; then
      roles+=("$svc")
    fi
  done
  ((${#roles[@]} > 0)) || die "no service roles in PostgreSQL: run deploy/infra.sh up first"
  {
    cat <<EOF
SELECT 'CREATE DATABASE $db ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec
\\connect $db
REVOKE ALL ON DATABASE $db FROM PUBLIC;
GRANT CONNECT ON DATABASE $db TO $(IFS=,; echo "${roles[*]}");
REVOKE ALL ON SCHEMA public FROM PUBLIC;
EOF
    for svc in "${roles[@]}"; do
      printf 'CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s;\n' "$svc" "$svc"
      printf 'REVOKE ALL ON SCHEMA %s FROM PUBLIC;\n' "$svc"
    done
  } | PGOPTIONS='-c client_min_messages=warning' PGDATABASE=postgres "$(psql_bin)" -X -q \
    -v ON_ERROR_STOP=1 -f - >/dev/null || die "provisioning database $db failed"
  say "cluster: database $db with schemas ${roles[*]}"
}

# ---------------------------------------------------------------- commands

lock() {
  mkdir -p "$DIR" "$LOG_DIR"
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another deploy/cluster.sh holds $DIR/.lock"
}

cmd_up() {
  lock
  check_secrets
  kafka_fetch
  make_certs
  start_nodes "${NODES[@]}"
  apply_acls
  create_topics
  provision_database
  say "cluster: up. Use it with:  . deploy/cluster-env.sh"
}

cmd_down() {
  local n
  [[ -d $DIR ]] || {
    say "cluster: nothing to stop"
    return 0
  }
  lock
  # In parallel. The last node standing may wait for a quorum that left: after 15 s it is
  # killed (what it wrote is in the OS's page cache; the next start recovers its log).
  for n in "${NODES[@]}"; do stop_node "$n" 15 & done
  wait
}

cmd_status() {
  local n pid rc=0 state
  for n in "${NODES[@]}"; do
    if pid=$(node_pid "$n"); then
      state=up
      node_paused "$n" && state=paused
      port_open "$(client_port "$n")" || state=starting
      say "node $n: $state  127.0.0.1:$(client_port "$n") (mTLS $(mtls_port "$n")) pid=$pid"
      [[ $state == up ]] || rc=1
    else
      say "node $n: down"
      rc=1
    fi
  done
  return "$rc"
}

cmd_reset() {
  cmd_down
  say "cluster: deleting $DIR (data, certificates)"
  rm -rf -- "$DIR"
  rm -f "$LOG_DIR"/cluster-*.log "$LOG_DIR"/cluster-*.log.1
}

# One node, for fault injection.
cmd_node() {
  local action=$1 n=${2:-} pid
  check_node "$n"
  case $action in
    start)
      lock
      check_secrets
      start_nodes "$n"
      ;;
    stop)
      lock
      stop_node "$n"
      ;;
    kill | crash)
      if pid=$(node_pid "$n"); then
        kill -KILL "$pid"
        rm -f "$(node_dir "$n")/kafka.pid"
        say "cluster: node $n killed (pid $pid)"
      fi
      ;;
    pause)
      pid=$(node_pid "$n") || die "node $n is not running"
      kill -STOP "$pid"
      say "cluster: node $n paused (pid $pid)"
      ;;
    resume)
      pid=$(node_pid "$n") || die "node $n is not running"
      kill -CONT "$pid"
      say "cluster: node $n resumed (pid $pid)"
      ;;
  esac
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  start | stop | kill | crash | pause | resume) cmd_node "$1" "${2:-}" ;;
  *)
    echo "usage: $0 up|down|status|reset | start|stop|kill|crash|pause|resume <1|2|3>" >&2
    exit 2
    ;;
esac
