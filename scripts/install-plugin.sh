#!/usr/bin/env bash
# Installs dswap as the docker CLI plugin docker-swap, so that
# `docker swap up myapp:v2` runs it: into $DOCKER_CONFIG/cli-plugins
# (~/.docker/cli-plugins when DOCKER_CONFIG is not set), where the docker CLI
# looks for a user's plugins.
#
#   scripts/install-plugin.sh                 build dswap from this checkout and install it
#   scripts/install-plugin.sh /path/to/dswap  install a dswap binary (e.g. from a release)
#
# The plugin is a copy, not a link: the docker CLI runs it under the name
# docker-swap, which is how dswap knows it runs as a plugin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$dir"
if [ $# -ge 1 ]; then
  src=$1
  [ -x "$src" ] || { echo "install-plugin: $src is not an executable dswap binary" >&2; exit 2; }
  install -m 0755 "$src" "$dir/docker-swap.tmp"
else
  command -v go >/dev/null || { echo "install-plugin: Go is needed to build dswap; or pass a dswap binary: $0 /path/to/dswap" >&2; exit 2; }
  rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo dev)
  commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$rev -X main.commit=$commit" -o "$dir/docker-swap.tmp" ./cmd/dswap)
fi
# Renamed into place, so a docker CLI listing plugins meanwhile never runs
# a half-written file.
mv "$dir/docker-swap.tmp" "$dir/docker-swap"
echo "installed $dir/docker-swap; try: docker swap version" >&2
