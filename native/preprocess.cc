#include "preprocess.h"

namespace mist {

void InitPreprocess(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mist
