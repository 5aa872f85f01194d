#!/usr/bin/env bash
# Builds dswap's release binaries: static (CGO_ENABLED=0) for linux/amd64 and
# linux/arm64, stamped with the version and commit, and a SHA256SUMS file
# for them, into the directory given.
#
#   scripts/release.sh OUTDIR [VERSION]
#
# VERSION defaults to `git describe --tags --always --dirty`. Check a
# download with: sha256sum --check --ignore-missing SHA256SUMS
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [VERSION]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=${2:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
names=()
for arch in amd64 arm64; do
  name="dswap-linux-$arch"
  echo "building $name ($version, $commit)" >&2
  (cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X main.version=$version -X main.commit=$commit" -o "$out/$name" ./cmd/dswap)
  names+=("$name")
done
(cd "$out" && sha256sum "${names[@]}" > SHA256SUMS)
cat "$out/SHA256SUMS"
