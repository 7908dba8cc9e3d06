// The MIL ranking loss of MIST stage 1 (spec: Stage 1, Loss), on scores [normal + anomalous, L*T].
#pragma once
#include <napi.h>
#include <torch/torch.h>

namespace mist {

// Bag score of a row: 'topk' the mean of its k largest scores (released code), 'subbag' the
// max over its L sub-bags of the sub-bag mean (paper Eq. 1, 6).
enum class LossVariant { kTopK, kSubBag };

// The names of trainGenerator()'s options (lib/stage1/presets.ts), validated there by zod.
struct MilLossOptions {
  int64_t normal = 0;
  int64_t anomalous = 0;
  int64_t clips = 0;  // L*T scores per row
  LossVariant lossVariant = LossVariant::kTopK;
  int64_t k = 0;
  int64_t L = 0;
  double lambdaSparsity = 0;
  double lambdaSmoothness = 0;
};

struct MilLossTerms {
  torch::Tensor total, rank, sparsity, smoothness;
};

// Sync, differentiable: the loss terms of scores [normal + anomalous, clips], normal rows first.
// Throws ERR_MIST_SHAPE when scores do not have that shape; LibTorch's own checks (k > clips,
// clips not a multiple of L) surface as ERR_MIST_TORCH.
MilLossTerms MilRankingLoss(const torch::Tensor& scores, const MilLossOptions& o);

// Sync: reads the options object shared by milRankingLoss() and Generator.trainStep(); every
// field is required (zod applied the defaults). Throws ERR_MIST_ARG for a missing field,
// ERR_MIST_SHAPE for a size that is not positive.
MilLossOptions ReadMilLossOptions(const Napi::Object& o);

// Async: milRankingLoss(scores: Float32Array, options) -> {loss, rank, sparsity, smoothness,
// grad: Float32Array (d loss / d scores)}. Throws ERR_MIST_SHAPE / ERR_MIST_ARG.
void InitMilLoss(Napi::Env env, Napi::Object exports);

}  // namespace mist
