// Precompiled once for every native file (CMake target_precompile_headers): LibTorch's
// headers cost about 30 s per translation unit otherwise.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
