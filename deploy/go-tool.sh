#!/usr/bin/env bash
# Build one of the project's small Go programs if needed, then run it from the repository root.
#
#   deploy/go-tool.sh <name> <folder of its main.go, go.mod, go.sum> [its arguments]...
#
# The binary lives outside the repository, in
# ${GRASSROOTS_CACHE:-$HOME/.cache/grassroots}/bin/<name>, and is rebuilt only when main.go,
# go.mod or go.sum change (their hash is kept next to it). Modules come from go.sum exactly
# (-mod=readonly): the same ones everywhere. Used by deploy/compose-check/run.sh and
# deploy/grafana/check/run.sh.
set -euo pipefail

name=$1
source_dir=$(cd "$2" && pwd -P)
shift 2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cache=${GRASSROOTS_CACHE:-${HOME:+$HOME/.cache/grassroots}}
cache=${cache:-$repo/.local/cache}
bin=$cache/bin/$name
stamp=$bin.sha256
where=${source_dir#"$repo"/}

die() {
  printf '%s: %s\n' "$name" "$*" >&2
  exit 127
}

want=$(cd "$source_dir" && cat main.go go.mod go.sum | sha256sum | cut -d' ' -f1)

built() { [[ -x $bin && -f $stamp && $(<"$stamp") == "$want" ]]; }

if ! built; then
  command -v go >/dev/null ||
    die "Go is not installed; it is needed to build $where (install Go >= 1.24)"
  mkdir -p "$cache/bin"
  # Several clones or test runs may share the cache: one build at a time.
  exec 9>"$bin.lock"
  flock 9
  if ! built; then
    tmp=$bin.tmp.$$
    started=$SECONDS
    if ! (cd "$source_dir" && go build -mod=readonly -trimpath -buildvcs=false -o "$tmp" .); then
      rm -f "$tmp"
      die "go build failed in $where"
    fi
    mv -f "$tmp" "$bin"
    printf '%s\n' "$want" >"$stamp"
    printf '%s: built %s in %ss\n' "$name" "$bin" "$((SECONDS - started))" >&2
  fi
  exec 9>&-
fi

cd "$repo"
exec "$bin" "$@"
