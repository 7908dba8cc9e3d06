// The MIL ranking loss of MIST stage 1 (spec: Stage 1, Loss), on scores [normal + anomalous, L*T].
#pragma once
#include <napi.h>
#include <torch/torch.h>

namespace mist {

struct MilLossOptions {
  int64_t normal = 0;
  int64_t anomalous = 0;
  int64_t clips = 0;      // L*T scores per row
  int64_t k = 1;          // top-k bag score (released code)
  int64_t subBags = 1;    // L, for the paper's bag score
  bool paper = false;     // bag score = max over sub-bags of the sub-bag mean (paper Eq. 1, 6)
  double lambdaSparsity = 0;
  double lambdaSmoothness = 0;
};

struct MilLossTerms {
  torch::Tensor total, rank, sparsity, smoothness;
};

// Differentiable; scores' rows are the normal videos first, then the anomalous ones.
MilLossTerms MilRankingLoss(const torch::Tensor& scores, const MilLossOptions& o);

// Reads and checks the options object shared by milRankingLoss() and Generator.trainStep().
MilLossOptions ReadMilLossOptions(const Napi::Object& o);

// Async: milRankingLoss(scores: Float32Array, options) -> {loss, rank, sparsity, smoothness,
// grad: Float32Array (d loss / d scores)}. Throws ERR_MIST_SHAPE / ERR_MIST_ARG.
void InitMilLoss(Napi::Env env, Napi::Object exports);

}  // namespace mist
