#!/usr/bin/env bash
# The torture run: N swaps (default 200) of one service under load, each
# with a fault drawn from a table by SEED (default: a random one, printed),
# recovered as a user would and checked against Docker and Traefik's API.
# A violation stops the run, names the seed and swap and writes an evidence
# file; `scripts/torture.sh N SEED -from I` replays from swap I. Further
# arguments go to dswap-torture (-faults, -md, -clients, -keep-going,
# -fake-violation).
#
#   scripts/torture.sh            200 swaps, random seed
#   scripts/torture.sh 20 1       the short CI run
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh --env)"
swaps=${1:-200}
seed=${2:-0}
shift $(( $# < 2 ? $# : 2 ))
exec go run ./cmd/dswap-torture -swaps "$swaps" -seed "$seed" "$@"
