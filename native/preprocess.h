// Clip pre-processing: uint8 frames to each backbone's input (resize, crop, flip, grayscale,
// normalisation), natively and off the JS thread.
#pragma once
#include <napi.h>

namespace mist {

void InitPreprocess(Napi::Env env, Napi::Object exports);

}  // namespace mist
