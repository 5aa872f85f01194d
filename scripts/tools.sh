#!/usr/bin/env bash
# Builds the programs the tests and the demo need that are not dswap itself,
# from their Go modules (pinned in tools/*/go.mod and go.sum), and prints
# nothing but progress on stderr. Binaries are cached by the hash of their
# module files, so a second run is instant; the Go build cache makes a
# rebuild after a version change cheaper.
#
#   scripts/tools.sh            build what is missing
#   eval "$(scripts/tools.sh --env)"   also export DSWAP_TRAEFIK_BIN, DSWAP_TRAEFIK2_BIN
#                                      (Traefik v2.11), DSWAP_REGISTRY_BIN and
#                                      DSWAP_COMPOSE_V2 (the docker compose plugin)
#
# Compose v2 is installed as the docker CLI plugin
# ~/.docker/cli-plugins/docker-compose (a symlink to the cached binary), so
# that `docker compose` runs the pinned version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${DSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dswap}
mkdir -p "$cache/bin"

build_tool() { # name package minutes-for-a-first-build [ldflags]
  local name=$1 pkg=$2 minutes=$3 ldflags=${4:-} dir="$root/tools/$1"
  local hash
  hash=$( (cat "$dir/go.mod" "$dir/go.sum"; [ -z "$ldflags" ] || echo "$ldflags") | sha256sum | cut -c1-16)
  local bin="$cache/bin/$name-$hash"
  if [ ! -x "$bin" ]; then
    echo "building $name from $pkg (first build takes about $minutes minutes on 2 cores; cached afterwards)" >&2
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$bin.tmp" "$pkg")
    mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

# Both Traefiks are stamped with their version so that /api/version answers
# a release (unstamped, Traefik says "dev") and dswap checks labels for it.
traefik_version=$(sed -n 's|^[[:space:]]*\(require \)\{0,1\}github.com/traefik/traefik/v3 \(v[^ ]*\).*$|\2|p' "$root/tools/traefik/go.mod" | head -1)
traefik=$(build_tool traefik github.com/traefik/traefik/v3/cmd/traefik 15 "-X github.com/traefik/traefik/v3/pkg/version.Version=$traefik_version")
# Traefik v2.11, for the end-to-end tests that prove dswap against the older
# major version.
traefik2_version=$(sed -n 's|^[[:space:]]*github.com/traefik/traefik/v2 \(v[^ ]*\).*$|\1|p' "$root/tools/traefik2/go.mod")
traefik2=$(build_tool traefik2 github.com/traefik/traefik/v2/cmd/traefik 5 "-X github.com/traefik/traefik/v2/pkg/version.Version=$traefik2_version")
registry=$(build_tool registry github.com/distribution/distribution/v3/cmd/registry 3)
# Compose stamps its version (from -X internal.Version) on every container
# it creates (com.docker.compose.version); unset, the label is empty.
compose_version=$(sed -n 's|^require github.com/docker/compose/v2 \(v[^ ]*\)$|\1|p' "$root/tools/compose/go.mod")
compose=$(build_tool compose github.com/docker/compose/v2/cmd 10 "-X github.com/docker/compose/v2/internal.Version=$compose_version")
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
mkdir -p "$plugins"
if [ "$(readlink "$plugins/docker-compose" 2>/dev/null)" != "$compose" ]; then
  ln -sfn "$compose" "$plugins/docker-compose"
  echo "installed $compose as $plugins/docker-compose" >&2
fi
if [ "${1:-}" = "--env" ]; then
  echo "export DSWAP_TRAEFIK_BIN=$traefik"
  echo "export DSWAP_TRAEFIK2_BIN=$traefik2"
  echo "export DSWAP_REGISTRY_BIN=$registry"
  echo "export DSWAP_COMPOSE_V2=$compose"
fi
