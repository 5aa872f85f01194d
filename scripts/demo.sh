#!/usr/bin/env bash
# The main job on a fresh machine with Docker: builds Traefik from its Go
# module (cached after the first run), then runs a live `dswap up` under load
# against Traefik and a sample service on the local Engine, and prints the
# request counts.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh --env)"
exec go run ./cmd/dswap-demo "$@"
