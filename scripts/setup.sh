#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for mist-vad: system packages (LibTorch, OpenBLAS, FFmpeg,
# a compiler, CMake), npm dependencies, the native addon and the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s libtorch-dev libopenblas0-pthread libblas3 ffmpeg cmake g++ clang-format >/dev/null 2>&1; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends libtorch-dev libopenblas0-pthread ffmpeg cmake g++ make python3 clang-format
  # The reference BLAS too: a test checks that mist-vad notices when it is the one loaded.
  $SUDO apt-get install -y --no-install-recommends libblas3
fi
npm ci --no-audit --no-fund   # its install hook builds the addon (or loads a prebuilt one)
npm run build:ts
