// Why: on the virtual machines this runs on, a fresh 36 MB tensor costs ~85 ms of page faults
// (the multiply that fills it costs ~1 ms), and glibc returns every block above 32 MB to the
// kernel on free. A training or inference step allocates the same large sizes every time, so
// keeping freed large blocks (by exact size) and handing them back removes nearly all of that.
// Blocks are 2 MiB-aligned and marked for transparent huge pages, so even first use faults
// 512 times less. Small allocations go to LibTorch's own allocator untouched.
#include "allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "errors.h"

// Allocator::allocate lost its const in LibTorch 2.3.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define MIST_ALLOCATE_CONST
#else
#define MIST_ALLOCATE_CONST const
#endif

namespace mist {
namespace {

constexpr size_t kLarge = size_t(1) << 20;  // below 1 MiB: LibTorch's allocator
constexpr size_t kAlign = size_t(2) << 20;  // huge-page alignment

struct Block {
  void* ptr;
  size_t size;
};

class CachingAllocator final : public c10::Allocator {
 public:
  explicit CachingAllocator(c10::Allocator* base, size_t limit) : base_(base), limit_(limit) {}

  c10::DataPtr allocate(size_t n) MIST_ALLOCATE_CONST override {
    if (n < kLarge) return base_->allocate(n);
    const size_t size = (n + kAlign - 1) / kAlign * kAlign;
    Block* b = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        b = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        ++hits_;
      }
    }
    if (!b) {
      ++misses_;
      void* p = nullptr;
      if (posix_memalign(&p, kAlign, size) != 0 || !p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
      madvise(p, size, MADV_HUGEPAGE);
#endif
      b = new Block{p, size};
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_[b->ptr] = b;
    }
    // Context == data pointer: raw_allocate() (oneDNN's buffers) requires it.
    return {b->ptr, b->ptr, &CachingAllocator::Release, c10::Device(c10::DeviceType::CPU)};
  }

  // raw_allocate()/raw_deallocate() go through this; small blocks belong to the base allocator.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingAllocator::Release; }

  // LibTorch 2.3+ declares copy_data; older ones do not (then this is just a method).
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  static void Release(void* ptr) { instance()->Give(ptr); }

  void Give(void* ptr) {
    Block* b = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(ptr);
      if (it != live_.end()) {
        b = it->second;
        live_.erase(it);
      }
    }
    if (!b) {
      base_->raw_deallocate(ptr);  // a small block from raw_allocate()
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + b->size <= limit_) {
        free_[b->size].push_back(b);
        cached_ += b->size;
        return;
      }
    }
    std::free(b->ptr);
    delete b;
  }

  void ReleaseAll() {
    std::vector<Block*> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& kv : free_) all.insert(all.end(), kv.second.begin(), kv.second.end());
      free_.clear();
      cached_ = 0;
    }
    for (auto* b : all) {
      std::free(b->ptr);
      delete b;
    }
  }

  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }
  size_t limit() const { return limit_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  static CachingAllocator*& instance() {
    static CachingAllocator* a = nullptr;
    return a;
  }

 private:
  c10::Allocator* base_;
  size_t limit_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<Block*>> free_;
  mutable std::unordered_map<void*, Block*> live_;  // large blocks in use, by data pointer
  mutable size_t cached_ = 0;
  mutable std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace

void InstallCachingAllocator(size_t limitBytes) {
  if (limitBytes == 0 || CachingAllocator::instance()) return;
  // Never freed: tensors may outlive every JS object, up to process exit.
  auto* a = new CachingAllocator(c10::GetCPUAllocator(), limitBytes);
  CachingAllocator::instance() = a;
  c10::SetAllocator(c10::DeviceType::CPU, a, /*priority=*/1);
}

static Napi::Value CpuCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  auto* a = CachingAllocator::instance();
  o.Set("enabled", a != nullptr);
  o.Set("cachedBytes", a ? static_cast<double>(a->cached()) : 0.0);
  o.Set("limitBytes", a ? static_cast<double>(a->limit()) : 0.0);
  o.Set("hits", a ? static_cast<double>(a->hits()) : 0.0);
  o.Set("misses", a ? static_cast<double>(a->misses()) : 0.0);
  return o;
}

static Napi::Value ReleaseCpuCache(const Napi::CallbackInfo& info) {
  if (auto* a = CachingAllocator::instance()) a->ReleaseAll();
  return info.Env().Undefined();
}

// Sync: installCpuCache(limitBytes): installs the cache with that bound (0: LibTorch's own
// allocator stays). The first call wins; lib/native.ts makes it right after loading, with
// MIST_CPU_CACHE_MB read by lib/config.ts. Tensors allocated before keep their own deleter.
static Napi::Value InstallCpuCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 1 && info[0].IsNumber(), code::kArg, "installCpuCache(limitBytes: number)");
    const double bytes = info[0].As<Napi::Number>().DoubleValue();
    Check(bytes >= 0 && bytes <= 9.0e15, code::kArg, "installCpuCache: limitBytes must be in [0, 2^53)");
    InstallCachingAllocator(static_cast<size_t>(bytes));
    return env.Undefined();
  });
}

void InitAllocator(Napi::Env env, Napi::Object exports) {
  exports.Set("installCpuCache", Napi::Function::New(env, InstallCpuCache, "installCpuCache"));
  exports.Set("cpuCache", Napi::Function::New(env, CpuCache, "cpuCache"));
  exports.Set("releaseCpuCache", Napi::Function::New(env, ReleaseCpuCache, "releaseCpuCache"));
}

}  // namespace mist
