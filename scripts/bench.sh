#!/usr/bin/env bash
# Measures swaps on this machine: dswap and the label-based baseline, under
# load, against Traefik (built from its Go module, cached after the first
# run) and a sample service on the local Engine. Prints the tables and
# writes SVG timelines to ./bench-out (see -out, -md, -swaps, -scenario,
# -strategy).
#
#   scripts/bench.sh swarm [-swaps N] [-strategy service-update,dswap]
#     measures a 3-replica Swarm service on 3 Engines of the benchmark's own
#     (network namespaces; needs root): Swarm's rolling update behind
#     Traefik's swarm provider against dswap up.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh --env)"
if [ "${1:-}" = swarm ]; then
  shift
  set -- -swarm "$@"
fi
exec go run ./cmd/dswap-bench "$@"
