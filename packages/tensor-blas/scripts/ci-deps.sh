#!/bin/sh
# System packages for @joule/tensor-blas's tests on Debian: OpenBLAS (the addon opens
# libopenblas.so.0 at run time) and a C toolchain with make and python3 for node-gyp.
set -eu
sh "$(dirname "$0")/../../../scripts/apt-install.sh" tensor-blas libopenblas0-pthread python3 make gcc g++
