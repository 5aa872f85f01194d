#!/usr/bin/env bash
# Builds the programs the tests and the demo need that are not dswap itself,
# from their Go modules (pinned in tools/*/go.mod and go.sum), and prints
# nothing but progress on stderr. Binaries are cached by the hash of their
# module files, so a second run is instant; the Go build cache makes a
# rebuild after a version change cheaper.
#
#   scripts/tools.sh            build what is missing
#   eval "$(scripts/tools.sh --env)"   also export DSWAP_TRAEFIK_BIN and DSWAP_REGISTRY_BIN
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${DSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dswap}
mkdir -p "$cache/bin"

build_tool() { # name package minutes-for-a-first-build
  local name=$1 pkg=$2 minutes=$3 dir="$root/tools/$1"
  local hash
  hash=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
  local bin="$cache/bin/$name-$hash"
  if [ ! -x "$bin" ]; then
    echo "building $name from $pkg (first build takes about $minutes minutes on 2 cores; cached afterwards)" >&2
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" "$pkg")
    mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

traefik=$(build_tool traefik github.com/traefik/traefik/v3/cmd/traefik 15)
registry=$(build_tool registry github.com/distribution/distribution/v3/cmd/registry 3)
if [ "${1:-}" = "--env" ]; then
  echo "export DSWAP_TRAEFIK_BIN=$traefik"
  echo "export DSWAP_REGISTRY_BIN=$registry"
fi
