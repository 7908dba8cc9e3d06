// Registry only: wires each native family's exports.
#include <napi.h>

#include "generator.h"
#include "info.h"
#include "mil_loss.h"

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  mist::InitInfo(env, exports);
  mist::InitMilLoss(env, exports);
  mist::Generator::Init(env, exports);
  return exports;
}

NODE_API_MODULE(mist_vad, InitAll)
