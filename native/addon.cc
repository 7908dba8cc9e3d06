// Registry only: wires each native family's exports.
#include <napi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "allocator.h"
#include "binding.h"
#include "info.h"
#include "mil_loss.h"
#include "preprocess.h"

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // Every call copies its inputs (a clip batch: often 0.5 to 1 MiB, below the caching
  // allocator's 1 MiB). glibc raises its mmap threshold after the first such block is freed,
  // and from then on serves them from the heap, which it does not give back: RSS grew by one
  // input per forward. A fixed threshold keeps them mmapped, returned to the kernel on free.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  mist::InitAllocator(env, exports);
  mist::InitInfo(env, exports);
  mist::InitMilLoss(env, exports);
  mist::InitGenerator(env, exports);
  mist::InitSgaEncoder(env, exports);
  mist::InitPreprocess(env, exports);
  return exports;
}

NODE_API_MODULE(mist_vad, InitAll)
