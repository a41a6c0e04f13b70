#!/usr/bin/env bash
# System packages the playground's browser test needs: Debian's Chromium at /usr/bin/chromium
# (driven by playwright-core; no `npx playwright install`). Idempotent and quiet: does nothing when
# Chromium is already installed. Needs root (CI runs as root) or passwordless sudo.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  SUDO=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
  echo "ci-deps (playground): installing chromium failed:" >&2
  tail -n 30 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "ci-deps (playground): installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
