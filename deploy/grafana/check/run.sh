#!/usr/bin/env bash
# Build the dashboard checker if needed, then run it from the repository root.
#
#   deploy/grafana/check/run.sh deploy/grafana/dashboards/*.json
#
# The binary lives outside the repository, in
# ${GRASSROOTS_CACHE:-$HOME/.cache/grassroots}/bin/dashboard-check, and is rebuilt
# only when main.go, go.mod or go.sum change (their hash is kept next to it).
# Modules come from go.sum exactly (-mod=readonly): the same ones everywhere.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
cache=${GRASSROOTS_CACHE:-${HOME:+$HOME/.cache/grassroots}}
cache=${cache:-$repo/.local/cache}
bin=$cache/bin/dashboard-check
stamp=$bin.sha256

die() {
  printf 'dashboard-check: %s\n' "$*" >&2
  exit 127
}

want=$(cd "$here" && cat main.go go.mod go.sum | sha256sum | cut -d' ' -f1)

built() { [[ -x $bin && -f $stamp && $(<"$stamp") == "$want" ]]; }

if ! built; then
  command -v go >/dev/null ||
    die "Go is not installed; it is needed to build deploy/grafana/check (install Go >= 1.24)"
  mkdir -p "$cache/bin"
  # Several clones or test runs may share the cache: one build at a time.
  exec 9>"$bin.lock"
  flock 9
  if ! built; then
    tmp=$bin.tmp.$$
    started=$SECONDS
    if ! (cd "$here" && go build -mod=readonly -trimpath -buildvcs=false -o "$tmp" .); then
      rm -f "$tmp"
      die "go build failed in deploy/grafana/check"
    fi
    mv -f "$tmp" "$bin"
    printf '%s\n' "$want" >"$stamp"
    printf 'dashboard-check: built %s in %ss\n' "$bin" "$((SECONDS - started))" >&2
  fi
  exec 9>&-
fi

cd "$repo"
exec "$bin" "$@"
