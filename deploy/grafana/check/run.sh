#!/usr/bin/env bash
# Build the dashboard checker if needed (deploy/go-tool.sh), then run it from the repository
# root.
#
#   deploy/grafana/check/run.sh deploy/grafana/dashboards/*.json
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
exec "$here/../../go-tool.sh" dashboard-check "$here" "$@"
