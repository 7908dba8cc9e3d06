// The stage-1 pseudo-label generator: Linear(D,512) -> ReLU -> Dropout -> Linear(512,32) ->
// Dropout -> Linear(32,1) -> Sigmoid, trained with the MIL ranking loss and Adagrad. The model
// alone: no N-API here (its JS class is generator_binding.cc).
#pragma once
#include <torch/torch.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mist {

struct MilLossOptions;

// Where dropout masks come from: a key fixed by the seed and a running count of draws.
struct DropoutStream {
  uint64_t key = 0;
  uint64_t counter = 0;
};

struct GeneratorNetImpl : torch::nn::Module {
  GeneratorNetImpl(int64_t featureDim, const std::array<int64_t, 2>& hidden, double dropout);
  // `drop` draws the dropout masks (train mode only; null in eval) so a seed fixes a whole run.
  torch::Tensor forward(const torch::Tensor& x, DropoutStream* drop);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  double dropout;
};
TORCH_MODULE(GeneratorNet);

// GeneratorOptions of lib/models/generator.ts, by the same names; zod gave every value.
struct GeneratorConfig {
  int64_t featureDim = 0;
  std::array<int64_t, 2> hidden{};
  double dropout = 0, lr = 0, weightDecay = 0, gradClip = 0;
  uint64_t seed = 0;
  torch::Device device{torch::kCPU};
  std::string checkpoint;  // when set, featureDim and hidden are the file's
};

struct TrainStepResult {
  double loss = 0, rank = 0, sparsity = 0, smoothness = 0, gradNorm = 0;
  int64_t step = 0;
};

// Adagrad's state of one parameter, by its PyTorch name: the running sum of squared gradients
// and the number of updates it took.
struct AdagradSlot {
  std::string name;
  torch::Tensor param, sum;
  int64_t step = 0;
};

// One generator. config(), parameterCount() and steps() may be read on any thread at any time
// (immutable after construction, or atomic); every other member is a computation the caller
// serialises (the binding's model lock).
class GeneratorModel {
 public:
  // Sync, any thread: Kaiming-normal weights from the seed, or config.checkpoint's weights (ours
  // or a PyTorch state_dict(), possibly under "model" / "state_dict", possibly "module."-prefixed).
  // Throws ERR_MIST_IO / ERR_MIST_WEIGHTS (checkpoint), ERR_MIST_SHAPE / ERR_MIST_MEMORY (sizes),
  // ERR_MIST_DEVICE.
  explicit GeneratorModel(const GeneratorConfig& config);

  const GeneratorConfig& config() const { return config_; }
  int64_t parameterCount() const { return parameterCount_; }
  int64_t steps() const { return steps_.load(); }

  // Sync, model lock held: CPU scores [rows] of x [rows, featureDim], in inference mode;
  // dropout drawn from the seed's stream in train mode.
  torch::Tensor Forward(const torch::Tensor& x, bool train);
  // Sync, model lock held: one Adagrad step on the MIL ranking loss of x [(normal + anomalous)
  // * clips, featureDim], gradient norm clipped to gradClip. The loss and the gradient norm are
  // checked before anything changes: when either is not finite it throws ERR_MIST_TORCH and
  // the weights, the optimiser state, the step count and the dropout stream are those from
  // before the call. Throws ERR_MIST_SHAPE.
  TrainStepResult TrainStep(const torch::Tensor& x, const MilLossOptions& o);
  // Sync, model lock held: {fc1.weight, ..., steps, mist: config JSON} in PyTorch's zip format
  // (torch.load() reads it).
  std::vector<char> Checkpoint();
  // Sync, model lock held: CPU copies of the weights by PyTorch name.
  std::vector<std::pair<std::string, torch::Tensor>> Parameters();

  // Sync, model lock held: keeps a copy of the weights and the step count (the best so far).
  void KeepBest();
  bool hasBest() const { return !best_.empty(); }
  // Sync, model lock held: the kept weights as Checkpoint() writes them. Throws ERR_MIST_ARG
  // when none were kept.
  std::vector<char> BestCheckpoint();
  // Sync, model lock held: the kept weights and step count become the model's, with a fresh
  // optimiser and dropout stream (as a model loaded from BestCheckpoint() has). ERR_MIST_ARG
  // when none were kept.
  void UseBest();
  // Sync, model lock held: Checkpoint()'s dict plus "trainer": the Adagrad state by parameter
  // name, the dropout stream, the kept best weights and `meta` (the caller's string).
  std::vector<char> TrainingCheckpoint(const std::string& meta);
  // Sync, model lock held: the weights, optimiser state, counters and kept best weights of a
  // TrainingCheckpoint() file; returns its meta. Everything is read and checked before anything
  // changes. Throws ERR_MIST_IO, ERR_MIST_WEIGHTS (not a training checkpoint of a generator of
  // these sizes and this seed).
  std::string RestoreTraining(const std::string& path);
  // Sync, any thread (it reads the file only): the meta of a TrainingCheckpoint() file, so that
  // a caller can check it before restoring. Throws ERR_MIST_IO, ERR_MIST_WEIGHTS.
  static std::string TrainingMeta(const std::string& path);

 private:
  void ResetOptimizer();
  GeneratorConfig config_;
  int64_t parameterCount_ = 0;
  std::atomic<int64_t> steps_{0};
  GeneratorNet net_{nullptr};
  // Adagrad written out (torch.optim.Adagrad's update, lr_decay 0, initial accumulator 0,
  // eps 1e-10): LibTorch keys its own optimiser's state by tensor address, differently across
  // releases, so that state could not be saved by name.
  std::vector<AdagradSlot> adagrad_;
  DropoutStream drop_;
  std::vector<std::pair<std::string, torch::Tensor>> best_;
  int64_t bestSteps_ = 0;
};

}  // namespace mist
