#pragma once
#include <napi.h>

namespace mist {
// Sync: info() -> { torchVersion, cudaAvailable, threads, threadsObserved, blas, ... };
// setNumThreads(n) sets LibTorch's intra-op threads for every later call.
void InitInfo(Napi::Env env, Napi::Object exports);
}  // namespace mist
