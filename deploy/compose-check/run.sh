#!/usr/bin/env bash
# Build the compose checker if needed (deploy/go-tool.sh), then run it from the repository root.
#
#   deploy/compose-check/run.sh [-file docker-compose.yml] [-env-file .env.example]
#                               [-empty-env] [-unset NAME]...
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
exec "$here/../go-tool.sh" compose-check "$here" "$@"
