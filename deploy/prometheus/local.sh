#!/usr/bin/env bash
# Prometheus on this machine, scraping the services `make up` started (127.0.0.1:8080-8083)
# with the alert rules of rules.yml: `make monitor`. Runs in the foreground; Ctrl-C stops it.
#
#   [LISTEN=127.0.0.1:9090] deploy/prometheus/local.sh [more prometheus flags]
#
# Its configuration is prometheus.yml with each compose host name replaced by 127.0.0.1; its
# data is kept in .local/prometheus (gitignored). Needs `make prometheus` first.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
prometheus=$repo/.local/tools/prometheus/usr/bin/prometheus
[[ -x $prometheus ]] || { echo "local.sh: run \`make prometheus\` first" >&2; exit 127; }

dir=$repo/.local/prometheus
mkdir -p "$dir/data"
sed -E 's/"(reporting|grading|rectification|notification|intake):([0-9]+)"/"127.0.0.1:\2"/' \
  "$here/prometheus.yml" >"$dir/prometheus.yml"
cp "$here/rules.yml" "$dir/rules.yml"
listen=${LISTEN:-127.0.0.1:9090}
echo "Prometheus on http://$listen (firing alerts: curl -s http://$listen/api/v1/alerts), scraping make up's services"
exec "$prometheus" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="$listen" "$@"
