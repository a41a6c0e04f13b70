#!/bin/sh
# Installs the Debian packages named after <who> that are not installed yet, for the packages' and
# examples' scripts/ci-deps.sh. Idempotent; quiet unless something fails, and then it fails loudly
# with the end of apt's output. Needs root (CI runs as root) or passwordless sudo.
# Usage: sh scripts/apt-install.sh <who> <package>...
set -eu

who=$1
shift
missing=""
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi

log=$(mktemp)
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "ci-deps ($who): failed to install:$missing" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "ci-deps ($who): installed$missing"
