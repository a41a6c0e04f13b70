#!/bin/sh
# System packages for @joule/tensor-blas's tests on Debian: OpenBLAS (the addon opens
# libopenblas.so.0 at run time) and a C toolchain with make and python3 for node-gyp. Idempotent:
# installs only what is missing; quiet unless something fails, and then it fails loudly.
set -eu

PACKAGES="libopenblas0-pthread python3 make gcc g++"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

log=$(mktemp)
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ci-deps.sh: failed to install:$missing" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "ci-deps.sh: installed$missing"
