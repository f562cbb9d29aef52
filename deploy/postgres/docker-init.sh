#!/usr/bin/env bash
# PostgreSQL init script for docker-compose.yml, mounted as
# /docker-entrypoint-initdb.d/10-grassroots.sh in the postgres:15 image. The
# image runs it once, on the first start with an empty data volume, as the
# superuser over the local socket, before the server listens on TCP.
#
# It creates what deploy/infra.sh creates locally: database `grassroots`; for
# each service (grading, rectification, notification, reporting, intake) a LOGIN role
# of that name, password from <SERVICE>_DB_PASSWORD, owning a schema of the
# same name; PUBLIC stripped of its rights on the database and on schema public.
#
# Passwords must be URL-safe ([A-Za-z0-9._~-]): they are embedded unescaped in
# the services' GRASSROOTS_DATABASE_URL. They reach psql as variables on stdin
# and are quoted by psql (:'var'), never spliced into SQL text by the shell.
set -euo pipefail

services=(grading rectification notification reporting intake)
db=grassroots

for svc in "${services[@]}"; do
  var=${svc^^}_DB_PASSWORD
  pw=${!var:-}
  if [[ -z $pw ]]; then
    echo "docker-init: $var is not set; set it in .env (see .env.example)" >&2
    exit 1
  fi
  if [[ ! $pw =~ ^[A-Za-z0-9._~-]+$ ]]; then
    echo "docker-init: $var has characters outside [A-Za-z0-9._~-] (it goes into a URL)" >&2
    exit 1
  fi
done

psql_super() {
  psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --no-password "$@"
}

{
  for svc in "${services[@]}"; do
    var=${svc^^}_DB_PASSWORD
    printf "\\set pw_%s '%s'\n" "$svc" "${!var}"
  done
  cat <<SQL
SELECT 'CREATE DATABASE $db ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec
SQL
  for svc in "${services[@]}"; do
    cat <<SQL
SELECT 'CREATE ROLE $svc' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$svc') \\gexec
ALTER ROLE $svc WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'pw_$svc';
SQL
  done
  printf '\\connect %s\n' "$db"
  cat <<SQL
REVOKE ALL ON DATABASE $db FROM PUBLIC;
GRANT CONNECT ON DATABASE $db TO $(IFS=,; echo "${services[*]}");
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
  for svc in "${services[@]}"; do
    cat <<SQL
CREATE SCHEMA IF NOT EXISTS $svc AUTHORIZATION $svc;
ALTER SCHEMA $svc OWNER TO $svc;
REVOKE ALL ON SCHEMA $svc FROM PUBLIC;
SQL
  done
} | psql_super --dbname postgres -f -

echo "docker-init: database $db, roles and schemas ${services[*]} created"
