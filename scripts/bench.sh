#!/usr/bin/env bash
# Measures swaps on this machine: dswap and the label-based baseline, under
# load, against Traefik (built from its Go module, cached after the first
# run) and a sample service on the local Engine. Prints the tables and
# writes SVG timelines to ./bench-out (see -out, -md, -swaps, -scenario,
# -strategy).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh --env)"
exec go run ./cmd/dswap-bench "$@"
