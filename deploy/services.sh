#!/usr/bin/env bash
# The five services as local processes (no Docker), on the infrastructure of deploy/infra.sh.
#
#   deploy/services.sh up|down|status
#
# Logs: $GRASSROOTS_STATE_DIR/logs/<service>.log; pids: $GRASSROOTS_STATE_DIR/run/<service>.pid.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=env.sh
. "$REPO/deploy/env.sh"
RUN_DIR=$GRASSROOTS_STATE_DIR/run
LOG_DIR=$GRASSROOTS_STATE_DIR/logs
PYTHON=$REPO/.venv/bin/python
declare -A PORTS=([reporting]=8080 [grading]=8081 [rectification]=8082 [notification]=8083 [intake]=8084
  [notification-deliver]=8085)
# notification-deliver: the notification service's delivery worker in a process of its own
# (`--role deliver`); `notification` then only consumes and plans (`--role consume`).
SERVICES=(grading rectification notification notification-deliver reporting intake)
declare -A ROLES=([notification]="--role consume" [notification-deliver]="--role deliver")

running() { [[ -f $RUN_DIR/$1.pid ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

smtp_sink_up() {
  # The demo's emails go to a local sink (aiosmtpd, printing what it receives) instead of
  # failing against a mail server that is not there.
  if running smtp-sink; then return 0; fi
  setsid "$PYTHON" -m aiosmtpd -n -l 127.0.0.1:8025 >>"$LOG_DIR/smtp-sink.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/smtp-sink.pid"
  echo "smtp-sink: up on 127.0.0.1:8025"
}

up() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  smtp_sink_up
  local service base url_var role
  for service in "${SERVICES[@]}"; do
    if running "$service"; then echo "$service: already running"; continue; fi
    base=${service%-deliver}  # the service a role belongs to: its schema, users and settings
    url_var=${base^^}_DATABASE_URL
    kafka_var=KAFKA_${base^^}_PASSWORD
    read -ra role <<<"${ROLES[$service]:-}"
    GRASSROOTS_DATABASE_URL=${!url_var:?run deploy/infra.sh up first} \
      GRASSROOTS_NOTIFICATION_SMTP_HOST=127.0.0.1 GRASSROOTS_NOTIFICATION_SMTP_PORT=8025 \
      GRASSROOTS_KAFKA_USERNAME=$base GRASSROOTS_KAFKA_PASSWORD=${!kafka_var:?} \
      GRASSROOTS_HTTP_PORT=${PORTS[$service]} GRASSROOTS_CONSUMER_INSTANCE_ID=$service-0 \
      GRASSROOTS_INTAKE_URL=http://127.0.0.1:${PORTS[intake]} \
      GRASSROOTS_INTAKE_CREDENTIAL=${INTAKE_DASHBOARD_CREDENTIAL:?} \
      setsid "$PYTHON" -m "$base" "${role[@]}" >>"$LOG_DIR/$service.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$service.pid"
  done
  for service in "${SERVICES[@]}"; do
    local deadline=$((SECONDS + 60))
    until curl -fsS "http://127.0.0.1:${PORTS[$service]}/healthz" >/dev/null 2>&1; do
      if ! running "$service" || ((SECONDS > deadline)); then
        echo "$service: did not become healthy; last log lines:" >&2
        tail -n 20 "$LOG_DIR/$service.log" >&2
        exit 1
      fi
      sleep 0.3
    done
    echo "$service: up on http://127.0.0.1:${PORTS[$service]}"
  done
}

down() {
  local service pid
  for service in "${SERVICES[@]}" smtp-sink; do
    running "$service" || { rm -f "$RUN_DIR/$service.pid"; continue; }
    pid=$(cat "$RUN_DIR/$service.pid")
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$RUN_DIR/$service.pid"
    echo "$service: stopped"
  done
}

status() {
  local service ok=0
  for service in "${SERVICES[@]}"; do
    if running "$service"; then echo "$service: up (pid $(cat "$RUN_DIR/$service.pid"), port ${PORTS[$service]})"
    else echo "$service: down"; ok=1; fi
  done
  return $ok
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
