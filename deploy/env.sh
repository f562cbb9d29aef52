# shellcheck shell=bash
# Source me (do not execute):   . deploy/env.sh
#
# Exports the connection settings for the local PostgreSQL and Kafka started by
# deploy/infra.sh, plus the secrets from ${GRASSROOTS_STATE}/secrets.env.
# Safe to source from any directory, repeatedly, and under `set -euo pipefail`:
# it does not change shell options and leaves only exported variables behind.
# infra.sh sources it too, so paths and ports are defined in one place.
#
# Inputs (all optional): GRASSROOTS_STATE, GRASSROOTS_PG_PORT,
#   GRASSROOTS_KAFKA_PORT, GRASSROOTS_KAFKA_CONTROLLER_PORT.

_grassroots_env() {
  local repo state pg_root sock port kport cport secrets line key val
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
  state=${GRASSROOTS_STATE:-$repo/.local}
  # Absolute, so the values stay valid after a cd.
  case $state in /*) ;; *) state=$PWD/$state ;; esac

  # infra.sh may have put the PostgreSQL files outside the state folder (when
  # the postgres user cannot reach it, or the socket path would be too long)
  # and left a symlink; clients need the real, short socket path.
  pg_root=$state/pg
  if [[ -L $pg_root ]]; then
    pg_root=$(readlink -f -- "$pg_root")
  fi
  sock=$pg_root/run
  port=${GRASSROOTS_PG_PORT:-55432}
  kport=${GRASSROOTS_KAFKA_PORT:-9092}
  cport=${GRASSROOTS_KAFKA_CONTROLLER_PORT:-9093}

  # Output only: GRASSROOTS_STATE stays an input, so sourcing this file from
  # one clone never redirects another clone's infra.sh to this state folder.
  export GRASSROOTS_STATE_DIR=$state
  export GRASSROOTS_PG_ROOT=$pg_root
  export GRASSROOTS_PG_HOST=127.0.0.1
  export GRASSROOTS_PG_PORT=$port
  export GRASSROOTS_PG_DATABASE=grassroots
  export GRASSROOTS_PG_SOCKET_DIR=$sock
  export GRASSROOTS_KAFKA_PORT=$kport
  export GRASSROOTS_KAFKA_CONTROLLER_PORT=$cport
  export GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kport

  # libpq defaults: a bare `psql` is the superuser over the unix socket
  # (trust auth; the socket dir is only reachable by root and postgres).
  export PGHOST=$sock
  export PGPORT=$port
  export PGDATABASE=grassroots
  export PGUSER=postgres
  # Superuser DSN for test fixtures (create/drop scratch schemas, inspect).
  export GRASSROOTS_ADMIN_DSN="postgresql:///grassroots?host=$sock&port=$port&user=postgres"

  # Secrets: parsed as KEY=VALUE data, never executed.
  secrets=$state/secrets.env
  if [[ -f $secrets ]]; then
    if [[ ! -r $secrets ]]; then
      echo "deploy/env.sh: $secrets is not readable by $(id -un); secrets not loaded" >&2
      return 0
    fi
    while IFS= read -r line || [[ -n $line ]]; do
      [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
      key=${line%%=*}
      val=${line#*=}
      [[ $key =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
      export "$key=$val"
    done <"$secrets"
    # This shell talks to Kafka as the super user `admin` (operators, tests); each service
    # process gets its own user (deploy/services.sh, tests/harness.py).
    if [[ -n ${KAFKA_ADMIN_PASSWORD:-} ]]; then
      export GRASSROOTS_KAFKA_USERNAME=admin
      export GRASSROOTS_KAFKA_PASSWORD=$KAFKA_ADMIN_PASSWORD
    fi
    # Passwords are restricted to URL-safe characters by infra.sh, so no escaping.
    local svc upper pw pw_var
    for svc in grading rectification notification reporting intake; do
      upper=${svc^^}
      pw_var=${upper}_DB_PASSWORD
      pw=${!pw_var:-}
      [[ -n $pw ]] || continue
      export "${upper}_DATABASE_URL=postgresql://$svc:$pw@127.0.0.1:$port/grassroots"
    done
  fi
}
_grassroots_env
unset -f _grassroots_env
