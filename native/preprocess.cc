#include "preprocess.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "tensor_io.h"

namespace mist {

namespace F = torch::nn::functional;

// Larger sides than this are no video frame; the bound keeps every size product far from
// overflow (16384^2 * 3 * frames fits int64 for any frame count a Uint8Array can hold).
constexpr int64_t kMaxSide = 16384;

static void CheckCrop(const ClipSpec& s) {
  Check(s.cropY >= 0 && s.cropX >= 0 && s.cropH > 0 && s.cropW > 0 && s.cropY + s.cropH <= s.resizeH &&
            s.cropX + s.cropW <= s.resizeW,
        code::kShape,
        "crop {y: " + std::to_string(s.cropY) + ", x: " + std::to_string(s.cropX) + ", h: " + std::to_string(s.cropH) +
            ", w: " + std::to_string(s.cropW) + "} must lie inside the resized frame [" + std::to_string(s.resizeH) +
            ", " + std::to_string(s.resizeW) + "]");
}

static torch::Tensor Resize(const torch::Tensor& x, int64_t h, int64_t w) {
  // Same size: bilinear with align_corners false samples every pixel at its centre (identity).
  if (x.size(2) == h && x.size(3) == w) return x;
  return F::interpolate(
      x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false));
}

// What a uint8 pipeline stores: nearest integer, ties to even (torch.round), in [0, 255].
static inline float Quantize(float v) { return std::min(255.0f, std::max(0.0f, std::nearbyint(v))); }

// The last steps in one pass (quantize, flip, channel order, luma, normalisation and the
// [T, 3] -> [3, T] transpose), from z [T, 3, h, w] (unit stride along w) into out [3, T, h, w]
// contiguous. Each value is computed as the step-by-step torch ops do, in float, same order.
static void Finish(const torch::Tensor& z, const ClipSpec& s, bool quantize, torch::Tensor& out) {
  const int64_t T = z.size(0), H = z.size(2), W = z.size(3);
  const int64_t st = z.stride(0), sc = z.stride(1), sh = z.stride(2);
  const float* zp = z.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // Output channel k reads input channel src[k] (the frames are RGB).
  const int src[3] = {s.bgr ? 2 : 0, 1, s.bgr ? 0 : 2};
  at::parallel_for(0, T * H, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t t = r / H, i = r % H;
      const float* in[3];
      float* dst[3];
      for (int c = 0; c < 3; ++c) {
        in[c] = zp + t * st + c * sc + i * sh;
        dst[c] = op + ((c * T + t) * H + i) * W;
      }
      for (int64_t j = 0; j < W; ++j) {
        const int64_t jj = s.flip ? W - 1 - j : j;
        float v[3];
        for (int c = 0; c < 3; ++c) v[c] = quantize ? Quantize(in[c][jj]) : in[c][jj];
        if (s.grayscale) {
          float g = v[0] * 0.299f + v[1] * 0.587f + v[2] * 0.114f;
          if (s.quantize) g = Quantize(g);
          for (int k = 0; k < 3; ++k) dst[k][j] = (g - s.mean[k]) / s.scale;
        } else {
          for (int k = 0; k < 3; ++k) dst[k][j] = (v[src[k]] - s.mean[k]) / s.scale;
        }
      }
    }
  });
}

static void PreprocessInto(const torch::Tensor& frames, const ClipSpec& s, torch::Tensor& out) {
  Check(frames.dim() == 4 && frames.size(3) == 3 && frames.scalar_type() == torch::kUInt8, code::kShape,
        "frames must be uint8 [T, H, W, 3]");
  CheckCrop(s);
  Check(s.outH > 0 && s.outW > 0, code::kShape, "outSize must be positive");
  const int64_t T = frames.size(0);
  Check(out.dim() == 4 && out.size(0) == 3 && out.size(1) == T && out.size(2) == s.outH && out.size(3) == s.outW &&
            out.is_contiguous() && out.scalar_type() == torch::kFloat32,
        code::kShape, "out must be float32 [3, T, outH, outW], contiguous");
  // [T, 3, H, W] contiguous, converted and transposed in one copy: the layout of torch's
  // reference runs (a channels-last input takes another kernel, which can differ in the last bit).
  auto x = torch::empty({T, 3, frames.size(1), frames.size(2)}, torch::kFloat32);
  x.copy_(frames.permute({0, 3, 1, 2}));
  const bool first = frames.size(1) != s.resizeH || frames.size(2) != s.resizeW;
  x = Resize(x, s.resizeH, s.resizeW);
  auto crop = x.narrow(2, s.cropY, s.cropH).narrow(3, s.cropX, s.cropW);
  if (crop.size(2) == s.outH && crop.size(3) == s.outW) {
    Finish(crop, s, s.quantize && first, out);  // the crop is the output
    return;
  }
  // Only the crop feeds the second resize: quantize just that region, in place.
  if (s.quantize && first) crop.round_().clamp_(0, 255);
  Finish(Resize(crop, s.outH, s.outW).contiguous(), s, s.quantize, out);
}

torch::Tensor PreprocessClip(const torch::Tensor& frames, const ClipSpec& s) {
  Check(frames.dim() == 4, code::kShape, "frames must be uint8 [T, H, W, 3]");
  auto out = torch::empty({3, frames.size(0), s.outH, s.outW}, torch::kFloat32);
  PreprocessInto(frames, s, out);
  return out;
}

torch::Tensor PreprocessClips(const torch::Tensor& frames, const std::vector<ClipSpec>& specs) {
  Check(frames.dim() == 5 && frames.size(4) == 3, code::kShape, "frames must be [N, T, H, W, 3]");
  const int64_t n = frames.size(0), t = frames.size(1);
  Check(static_cast<int64_t>(specs.size()) == n, code::kShape,
        "one spec per clip: " + std::to_string(specs.size()) + " specs for " + std::to_string(n) + " clips");
  Check(n > 0, code::kShape, "no clips");
  for (const auto& s : specs) {
    Check(s.outH == specs[0].outH && s.outW == specs[0].outW, code::kShape, "every clip must have the same outSize");
  }
  auto out = torch::empty({n, 3, t, specs[0].outH, specs[0].outW}, torch::kFloat32);
  auto one = [&](int64_t i) {
    auto slot = out.select(0, i);
    PreprocessInto(frames.select(0, i), specs[i], slot);
  };
  if (n >= at::get_num_threads()) {
    // One clip per task; LibTorch runs the ops inside a parallel region on one thread each.
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      torch::NoGradGuard no_grad;  // grad mode is thread-local: set on each pool thread
      for (int64_t i = begin; i < end; ++i) one(i);
    });
  } else {
    // Fewer clips than threads: each clip's resizes use all of them instead.
    for (int64_t i = 0; i < n; ++i) one(i);
  }
  return out;
}

static int64_t Side(const char* key, int64_t v) {
  Check(v > 0 && v <= kMaxSide, code::kShape,
        std::string(key) + " sides must be in [1, " + std::to_string(kMaxSide) + "]");
  return v;
}

static ClipSpec ReadClipSpec(const Napi::Value& v) {
  Check(v.IsObject(), code::kArg, "each spec must be an object");
  auto o = v.As<Napi::Object>();
  ClipSpec s;
  auto resize = GetInts(o, "resize", 2);
  s.resizeH = Side("resize", resize[0]);
  s.resizeW = Side("resize", resize[1]);
  auto out = GetInts(o, "outSize", 2);
  s.outH = Side("outSize", out[0]);
  s.outW = Side("outSize", out[1]);
  auto crop = o.Get("crop");
  Check(crop.IsObject(), code::kArg, "crop must be an object {y, x, h, w}");
  auto c = crop.As<Napi::Object>();
  s.cropY = GetInt(c, "y");
  s.cropX = GetInt(c, "x");
  s.cropH = GetInt(c, "h");
  s.cropW = GetInt(c, "w");
  CheckCrop(s);
  s.flip = GetBool(o, "flip");
  s.grayscale = GetBool(o, "grayscale");
  const std::string order = GetString(o, "order");
  Check(order == "rgb" || order == "bgr", code::kArg, "order must be 'rgb' or 'bgr'");
  s.bgr = order == "bgr";
  s.quantize = GetBool(o, "quantize");
  auto mean = o.Get("mean");
  Check(mean.IsArray() && mean.As<Napi::Array>().Length() == 3, code::kArg, "mean must hold 3 numbers");
  for (uint32_t i = 0; i < 3; ++i) {
    auto m = mean.As<Napi::Array>().Get(i);
    Check(m.IsNumber(), code::kArg, "mean must hold 3 numbers");
    s.mean[i] = static_cast<float>(m.As<Napi::Number>().DoubleValue());
  }
  s.scale = static_cast<float>(GetNumber(o, "scale"));
  return s;
}

static Napi::Value PreprocessClipsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 3 && info[1].IsArray() && info[2].IsArray(), code::kArg,
          "preprocessClips(frames, shape, specs)");
    const Napi::Value v = info[0];
    Check(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array, code::kDtype,
          "frames must be a Uint8Array");
    auto arr = v.As<Napi::Uint8Array>();
    auto shapeArr = info[1].As<Napi::Array>();
    Check(shapeArr.Length() == 5, code::kShape, "shape must be [N, T, H, W, 3]");
    std::vector<int64_t> shape(5);
    int64_t count = 1;
    for (uint32_t i = 0; i < 5; ++i) {
      shape[i] = ToInt(shapeArr.Get(i), "shape");
      Check(shape[i] > 0, code::kShape, "shape dimensions must be positive");
      Check(!__builtin_mul_overflow(count, shape[i], &count), code::kShape, "shape overflows");
    }
    Check(shape[4] == 3, code::kShape, "frames must have 3 channels (shape [N, T, H, W, 3])");
    Check(static_cast<int64_t>(arr.ElementLength()) == count, code::kShape,
          "frames has " + std::to_string(arr.ElementLength()) + " values; shape needs " + std::to_string(count));
    auto list = info[2].As<Napi::Array>();
    Check(static_cast<int64_t>(list.Length()) == shape[0], code::kShape,
          "one spec per clip: " + std::to_string(list.Length()) + " specs for " + std::to_string(shape[0]) + " clips");
    std::vector<ClipSpec> specs;
    specs.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length(); ++i) specs.push_back(ReadClipSpec(list.Get(i)));
    // The output and each clip's resized frames must be allocatable sizes (no int64 overflow).
    int64_t outCount = 0, frameCount = 0;
    for (const auto& s : specs) {
      Check(!__builtin_mul_overflow(shape[0] * 3 * shape[1], s.outH * s.outW, &outCount) &&
                !__builtin_mul_overflow(3 * shape[1], s.resizeH * s.resizeW, &frameCount),
            code::kShape, "output size overflows");
    }
    // A copy, taken on the JS thread: the caller may overwrite, transfer or detach the frames as
    // soon as the call returns.
    auto frames = torch::from_blob(arr.Data(), shape, torch::kUInt8).clone();
    auto result = std::make_shared<torch::Tensor>();
    return PromiseWorker::Start(
        env,
        [frames, specs, result]() {
          torch::NoGradGuard no_grad;
          *result = PreprocessClips(frames, specs);
        },
        [result](Napi::Env env) -> Napi::Value { return ToFloat32Array(env, *result); });
  });
}

void InitPreprocess(Napi::Env env, Napi::Object exports) {
  exports.Set("preprocessClips", Napi::Function::New(env, PreprocessClipsJs, "preprocessClips"));
}

}  // namespace mist
