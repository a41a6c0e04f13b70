#!/bin/sh
# System packages for @joule/tensor-gpu's headlessgl tests on Debian: the build dependencies of the
# `gl` package (python3, a C++ toolchain, GL/GLU/GLEW/Xi headers, pkg-config) and an X server with
# Mesa's software rasterizer to run it (xvfb-run, llvmpipe). Idempotent: installs only what is
# missing; quiet unless something fails, and then it fails loudly with apt's output.
set -eu

PACKAGES="xvfb xauth libgl1-mesa-dri libglx-mesa0 libxi-dev libglu1-mesa-dev libglew-dev pkg-config python3 make g++"

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
