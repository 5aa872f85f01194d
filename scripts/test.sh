#!/usr/bin/env bash
# Runs every test: formatting and vet, unit tests, short fuzz runs, and the
# end-to-end tests against the local Docker Engine and Traefik built from
# its Go module (v3, and v2.11 where the suite has it), then the Swarm
# end-to-end tests on Swarms of Engines of their own.
# Under CI=true the end-to-end tests fail (never skip) when Docker or Traefik
# is missing.
#
# Each phase prints its duration when it ends, and a summary of all phases
# closes the run, so a slow phase shows in CI's output.
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
phase() { # name command...
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  local took=$((SECONDS - start))
  echo "== $name: ${took}s"
  timings+=("$(printf '%-44s %5ss' "$name" "$took")")
}
# failed_digest holds, for a go test run that failed, its failed tests and
# what their assertions said, printed again after the timings: a long
# run's output is read from its end, where the cleanup logs of a failed
# test would otherwise bury its assertion.
failed_digest=$(mktemp)
summary() {
  echo "== phase timings"
  local t
  for t in "${timings[@]}"; do echo "   $t"; done
  if [ -s "$failed_digest" ]; then
    echo "== failed tests and their assertions"
    cat "$failed_digest"
  fi
  rm -f "$failed_digest"
}
trap summary EXIT

check_format() {
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go'))
  if [ -n "$unformatted" ]; then
    echo "gofmt would change: $unformatted" >&2
    return 1
  fi
  go vet ./...
}

tools() {
  # The exports must reach this shell, so the output is evaluated here.
  local env
  env=$(scripts/tools.sh --env)
  eval "$env"
}

unit() {
  go test -count=1 $(go list ./... | grep -v /e2e)
}

# fuzz runs each fuzz target briefly; the corpus under testdata/fuzz runs
# as ordinary test cases in the unit phase too.
fuzz() {
  local fuzztime=${DSWAP_FUZZTIME:-10s} pkg target
  while read -r pkg target; do
    [ -n "$pkg" ] || continue
    echo "-- $pkg $target ($fuzztime)"
    fuzz_one "$pkg" "$target" "$fuzztime" || fuzz_one "$pkg" "$target" "$fuzztime" retry
  done < <(fuzz_targets)
}

# fuzz_one runs one fuzz target. A finding writes a failing input under the
# package's testdata/fuzz and fails the run. Go's fuzzing engine also fails
# with a bare "context deadline exceeded", and no input, when a starved
# worker does not answer before -fuzztime ends (seen on a loaded 2-core
# machine): that, and only that, is retried once, saying so.
fuzz_one() { # pkg target fuzztime [retry]
  local pkg=$1 target=$2 fuzztime=$3 out status=0
  out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1) || status=$?
  echo "$out"
  [ "$status" -ne 0 ] || return 0
  if [ -z "${4:-}" ] && grep -q 'context deadline exceeded' <<<"$out" \
    && [ -z "$(git status --porcelain -- "$pkg/testdata/fuzz/$target")" ]; then
    echo "-- $target: the fuzzing engine timed out without a failing input (a starved worker); running it once more"
    return 1
  fi
  [ -z "${4:-}" ] || return "$status"
  exit "$status"
}

# fuzz_targets lists "package target" for every Fuzz function in the tree.
fuzz_targets() {
  git ls-files '*_test.go' | xargs grep -l '^func Fuzz' 2>/dev/null | while read -r file; do
    grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
      echo "./$(dirname "$file") $target"
    done
  done
}

# go_test_v runs go test -v with the arguments, its output going through as
# it comes, and on a failure adds the failed tests, their assertions'
# errors and messages and any panic or timeout to failed_digest.
go_test_v() {
  local log status=0
  log=$(mktemp)
  go test -v "$@" 2>&1 | tee "$log" || status=$?
  if [ "$status" -ne 0 ]; then
    grep -E -- '^\s*--- FAIL|^\s+Error Trace:|^\s+Error:|^\s+Messages:|^panic:|^FAIL|test timed out' "$log" | cut -c1-800 | head -80 >> "$failed_digest" || true
  fi
  rm -f "$log"
  return "$status"
}

e2e() {
  go_test_v -count=1 -timeout 60m ./e2e/
}

# swarm_e2e runs the Swarm tests, each on Swarms of Docker Engines of its
# own in network namespaces (internal/testenv/lab, swarm.go), never on the
# machine's Engine; they need root, like the standalone ones that restart
# an Engine of their own.
swarm_e2e() {
  go_test_v -count=1 -timeout 40m ./e2e/swarm/...
}

phase "gofmt, go vet" check_format
phase "tools (Traefik, registry, Compose v2)" tools
phase "unit tests" unit
phase "fuzz (short runs)" fuzz
phase "Debian packages for the e2e tests (Chromium, systemd, fuse-overlayfs)" scripts/packages.sh
phase "end-to-end tests (real Engine, real Traefik)" e2e
phase "swarm end-to-end tests (Swarms of own Engines)" swarm_e2e
