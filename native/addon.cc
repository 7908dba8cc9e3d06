// Registry only: wires each native family's exports.
#include <napi.h>

#include "allocator.h"
#include "binding.h"
#include "info.h"
#include "mil_loss.h"
#include "preprocess.h"

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  mist::InitAllocator(env, exports);
  mist::InitInfo(env, exports);
  mist::InitMilLoss(env, exports);
  mist::InitGenerator(env, exports);
  mist::InitSgaEncoder(env, exports);
  mist::InitPreprocess(env, exports);
  return exports;
}

NODE_API_MODULE(mist_vad, InitAll)
