// Stage-2 training of the SGA encoder (docs/MIST.md, Stage 2, Loss and Training): the
// class-weighted BCE of both heads, backward, gradient accumulation, gradient-norm clipping and
// Adam with weight decay on weights only. The model alone: its JS methods are in
// encoder_binding.cc.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "encoder.h"
#include "torch_pickle.h"

namespace mist {

// mean(-w1 y log(p + 1e-8) - w0 (1 - y) log(1 - p + 1e-8)) with p = softmax(logits)[:, 1], the
// loss of each head against the soft targets y [n].
torch::Tensor ClassWeightedBce(const torch::Tensor& logits, const torch::Tensor& target, double w1, double w0);

// EncoderTrainOptions of lib/models/encoder.ts after zod, by the same names.
struct EncoderTrainConfig {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weightDecay = 0;
  double gradClip = 0;  // 0: no clipping
  double w1 = 1, w0 = 1, guidedWeight = 1;
  int64_t accumulate = 1;
};

struct EncoderStepResult {
  double loss = 0, mainLoss = 0, guidedLoss = 0;
  double gradNorm = -1;          // before clipping, on steps that updated the weights; -1 otherwise
  double lr = 0;                 // the learning rate of this update (after the warm-up factor)
  bool stepped = false;          // this call completed an accumulation and updated the weights
  int64_t micro = 0, steps = 0;  // calls and weight updates so far (they run across epochs)
};

// The optimiser and the accumulation counter of one encoder. Adam is written out here rather
// than taken from torch::optim::Adam: LibTorch keys that optimiser's state by tensor address
// (not by name, and differently across releases), so it could not be saved in a checkpoint
// that names what it holds. The update is torch.optim.Adam's (amsgrad off, L2 weight decay
// added to the gradient), checked against it by test/encoder-train-step.test.ts.
class EncoderTrainer {
 public:
  EncoderTrainer(SgaNet& net, const EncoderTrainConfig& config);
  const EncoderTrainConfig config;

  // Backward of the loss of `out` against targets [n] (scaled by 1/accumulate so that an
  // accumulated update averages); every accumulate-th call clips the gradient norm, takes one
  // Adam step at lr * lrFactor and drops the gradients. Parameters that do not require grad
  // (frozen) get no gradient and no update. The loss is checked before backward and the norm of
  // the accumulated gradient after it: when either is not finite it throws ERR_MIST_TORCH naming
  // the call and the update, with the gradients put back as they were and no update taken.
  EncoderStepResult Step(const SgaOutput& out, const torch::Tensor& targets, double lrFactor);
  // The optimiser state, counters and pending (accumulated) gradients by parameter name.
  c10::IValue State() const;
  // What State() wrote; throws ERR_MIST_WEIGHTS when it does not fit this model. With apply
  // false it only checks (so a caller can check everything before changing anything).
  void Restore(const PyValue& state, const std::string& path, bool apply);
  int64_t micro() const { return micro_; }
  int64_t steps() const { return steps_; }

 private:
  void Update(double lr);
  struct Slot {
    std::string name;
    torch::Tensor param;
    bool decay = false;
    torch::Tensor expAvg, expAvgSq;  // undefined until the first update of this parameter
    int64_t step = 0;
  };
  std::vector<Slot> slots_;
  int64_t micro_ = 0, steps_ = 0;
};

}  // namespace mist
