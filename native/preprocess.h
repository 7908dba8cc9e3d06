// Clip pre-processing: uint8 frames to each backbone's input (resize, crop, flip, grayscale,
// normalisation), natively and off the JS thread. A pure function of the frames and one
// explicit spec per clip: the random choices (crop box, flip, grayscale) are drawn in
// TypeScript (lib/models/preprocess.ts), so a seed reproduces a clip whatever the threads.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

namespace mist {

// One clip's transform, in the order it is applied (spec: Stage 2, Pre-processing):
// bilinear resize of the whole frame to resize, crop [cropY, cropY + cropH) x [cropX, cropX +
// cropW), bilinear resize of the crop to out (skipped when the crop already has that size),
// horizontal flip, channel order (input RGB), grayscale, then (x - mean[c]) / scale.
struct ClipSpec {
  int64_t resizeH = 0, resizeW = 0;
  int64_t cropY = 0, cropX = 0, cropH = 0, cropW = 0;
  int64_t outH = 0, outW = 0;
  bool flip = false;
  bool grayscale = false;       // ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B on all three channels
  bool bgr = false;             // output channel order B, G, R (C3D)
  bool quantize = false;        // round each resized image and the luma to integers in [0, 255]
  std::array<float, 3> mean{};  // per output channel, in the output order
  float scale = 1;
};

// Sync, any thread (no N-API): frames uint8 [T, H, W, 3] (RGB) -> float32 [3, T, outH, outW].
// Resizes are torch's bilinear interpolation, align_corners false, no antialias. With quantize,
// each resized image and the luma are rounded half to even and clamped to [0, 255], as a uint8
// pipeline stores them (torchvision's resize of a uint8 tensor). Throws ERR_MIST_SHAPE when
// frames is not [T, H, W, 3] uint8 or the crop leaves the resized frame.
torch::Tensor PreprocessClip(const torch::Tensor& frames, const ClipSpec& s);

// Sync, any thread: frames uint8 [N, T, H, W, 3] -> float32 [N, 3, T, outH, outW], clip i by
// specs[i] (every spec has the same out size), clips in parallel over LibTorch's threads.
// Throws what PreprocessClip throws, ERR_MIST_SHAPE for a spec count other than N.
torch::Tensor PreprocessClips(const torch::Tensor& frames, const std::vector<ClipSpec>& specs);

// Async: preprocessClips(frames: Uint8Array, shape: [N, T, H, W, 3], specs: spec[N]) ->
// Float32Array [N, 3, T, outH, outW]; a spec is {resize: [h, w], crop: {y, x, h, w}, outSize:
// [h, w], flip, grayscale, order: 'rgb' | 'bgr', mean: [3], scale, quantize}. The frames are
// read in place (pinned) until the promise settles. Throws ERR_MIST_DTYPE (not a Uint8Array),
// ERR_MIST_SHAPE (length, shape, crop bounds, sizes), ERR_MIST_ARG (a missing field).
void InitPreprocess(Napi::Env env, Napi::Object exports);

}  // namespace mist
