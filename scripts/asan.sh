#!/usr/bin/env bash
# The addon under AddressSanitizer and UndefinedBehaviorSanitizer, in its own folder
# (build-asan/), never in place of build/Release. Usage:
#   scripts/asan.sh            build build-asan/Release/mist_vad.node, then run the native tests on it
#   scripts/asan.sh build      build only
#   scripts/asan.sh run [f..]  run only (test files as scripts/run-tests.mjs filters)
# The run loads the sanitized binary through MIST_ADDON_PATH (lib/native.ts) and preloads
# libasan (Node itself is not sanitized, so the runtime must come first). ASAN_OPTIONS sets
# detect_leaks=0: Node and LibTorch keep allocations alive until exit by design (V8 isolates,
# static registries), and LeakSanitizer would report those, not leaks of the addon.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/build-asan"
SAN="-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer"
DEFAULT_TESTS=(native.test.ts native-errors.test.ts native-ownership.test.ts encoder-shapes.test.ts
  encoder-weights.test.ts encoder-train-step.test.ts stage1-native-loss.test.ts
  stage1-step-reference.test.ts preprocess.test.ts readback.test.ts stage1-resume.test.ts
  reliability-nan.test.ts encoder-train-nonfinite.test.ts)

build() {
  node node_modules/cmake-js/bin/cmake-js compile --out "$OUT" \
    --CDCMAKE_CXX_FLAGS_RELEASE="-O1 -g $SAN" \
    --CDCMAKE_SHARED_LINKER_FLAGS="$SAN"
  echo "asan: built $OUT/Release/mist_vad.node"
}

run() {
  local tests=("$@")
  [ ${#tests[@]} -gt 0 ] || tests=("${DEFAULT_TESTS[@]}")
  local status=0
  for t in "${tests[@]}"; do
    echo "asan: test/$t"
    LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
      ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1" \
      UBSAN_OPTIONS="print_stacktrace=1" \
      MIST_ADDON_PATH="$OUT/Release/mist_vad.node" \
      node --import tsx "test/$t" || status=1
  done
  return $status
}

case "${1:-all}" in
  build) build ;;
  run) shift; run "$@" ;;
  all) build; run ;;
  *) echo "usage: scripts/asan.sh [build | run [test files]]" >&2; exit 2 ;;
esac
