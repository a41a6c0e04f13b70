#!/bin/sh
# Runs a command with an X display for gpu.js's headlessgl mode: under `xvfb-run -a` when no
# display is set and xvfb-run exists, as is otherwise (the headlessgl tests then fail loudly).
# One llvmpipe rasterizer thread: the kernels are small and extra threads only contend for cores.
export LP_NUM_THREADS="${LP_NUM_THREADS:-1}"
if [ -z "$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a "$@"
fi
exec "$@"
