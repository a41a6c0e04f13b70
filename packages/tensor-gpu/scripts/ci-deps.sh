#!/bin/sh
# System packages for @joule/tensor-gpu's headlessgl tests on Debian: the build dependencies of the
# `gl` package (python3, a C++ toolchain, GL/GLU/GLEW/Xi headers, pkg-config) and an X server with
# Mesa's software rasterizer to run it (xvfb-run, llvmpipe).
set -eu
sh "$(dirname "$0")/../../../scripts/apt-install.sh" tensor-gpu \
  xvfb xauth libgl1-mesa-dri libglx-mesa0 libxi-dev libglu1-mesa-dev libglew-dev pkg-config python3 make g++
