// A caching CPU allocator for LibTorch's large tensors.
#pragma once
#include <napi.h>

#include <cstddef>

namespace mist {
// Installs the allocator (the first call wins). `limitBytes` bounds the memory kept for
// reuse; 0 leaves LibTorch's own allocator in place.
void InstallCachingAllocator(size_t limitBytes);
// Sync: installCpuCache(limitBytes); cpuCache() -> {enabled, cachedBytes, limitBytes, hits,
// misses}; releaseCpuCache() frees every cached block.
void InitAllocator(Napi::Env env, Napi::Object exports);
}  // namespace mist
