#!/usr/bin/env bash
# Installs Debian's Chromium for the status page's browser test
# (e2e/page_test.go drives it headless with chromedp). Idempotent: does
# nothing when a Chromium is already on PATH (or DSWAP_CHROMIUM names one).
# Prints how long the install took, on stderr.
#
#   scripts/chromium.sh     (as root, or with sudo available)
set -euo pipefail
for b in "${DSWAP_CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$b" ] && command -v "$b" >/dev/null 2>&1; then
    echo "chromium.sh: $(command -v "$b") is installed; nothing to do" >&2
    exit 0
  fi
done
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "chromium.sh: not root and no sudo: run as root: apt-get install -y chromium" >&2; exit 1; }
  sudo=sudo
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null || { echo "chromium.sh: apt-get installed chromium but no chromium is on PATH" >&2; exit 1; }
echo "chromium.sh: installed $(chromium --version 2>/dev/null || echo chromium) in $(( $(date +%s) - start )) s" >&2
