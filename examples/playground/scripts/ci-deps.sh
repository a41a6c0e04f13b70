#!/bin/sh
# System packages the playground's browser test needs: Debian's Chromium at /usr/bin/chromium
# (driven by playwright-core; no `npx playwright install`).
set -eu
sh "$(dirname "$0")/../../../scripts/apt-install.sh" playground chromium
