#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests use beyond Docker and
# Go, when a command is missing: systemd-analyze (the keeper's unit file is
# verified), fuse-overlayfs, nsenter and ip (an Engine of the test's own in
# a network namespace, for the daemon restart test) and Chromium (the status
# page's browser test). Idempotent: does nothing when all are present.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A want=([systemd-analyze]=systemd [fuse-overlayfs]=fuse-overlayfs [nsenter]=util-linux [ip]=iproute2)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "packages.sh: installed ${missing[*]} in $(( $(date +%s) - start )) s" >&2
else
  echo "packages.sh: systemd-analyze, fuse-overlayfs, nsenter and ip are installed" >&2
fi
exec scripts/chromium.sh
