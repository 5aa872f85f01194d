#!/usr/bin/env bash
# Runs every test: formatting and vet, unit tests, and the end-to-end tests
# against the local Docker Engine and a Traefik built from its Go module.
# Under CI=true the end-to-end tests fail (never skip) when Docker or Traefik
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...

echo "== tools"
eval "$(scripts/tools.sh --env)"

echo "== unit tests"
go test -count=1 $(go list ./... | grep -v /e2e)

echo "== end-to-end tests (real Docker Engine, real Traefik)"
go test -count=1 -timeout 60m -v ./e2e/
