#!/usr/bin/env bash
# Builds dswap's image from a static binary: no registry or base image needed.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-dswap:local}
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/dswap ./cmd/dswap
docker build -q -t "$tag" . >/dev/null
echo "$tag"
