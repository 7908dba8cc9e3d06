// The stage-1 pseudo-label generator: Linear(D,512) -> ReLU -> Dropout -> Linear(512,32) ->
// Dropout -> Linear(32,1) -> Sigmoid, trained with the MIL ranking loss and Adagrad.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <memory>
#include <mutex>

namespace mist {

// Where dropout masks come from: a key fixed by the seed and a running count of draws.
struct DropoutStream {
  uint64_t key = 0;
  uint64_t counter = 0;
};

struct GeneratorNetImpl : torch::nn::Module {
  GeneratorNetImpl(int64_t dim, int64_t hidden1, int64_t hidden2, double dropout);
  // `drop` draws the dropout masks (train mode only; null in eval) so a seed fixes a whole run.
  torch::Tensor forward(const torch::Tensor& x, DropoutStream* drop);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  double dropout;
};
TORCH_MODULE(GeneratorNet);

struct GeneratorConfig {
  int64_t dim = 0, hidden1 = 512, hidden2 = 32;
  double dropout = 0.6, lr = 0.01, weightDecay = 0.001, clip = 10.0;
  uint64_t seed = 0;
};

struct GeneratorState {
  std::mutex mutex;  // one computation at a time per model; calls from JS may overlap
  GeneratorConfig config;
  torch::Device device{torch::kCPU};
  GeneratorNet net{nullptr};
  std::unique_ptr<torch::optim::Adagrad> optimizer;
  at::Generator rng;  // weight initialisation
  DropoutStream drop;
  int64_t steps = 0;
};

// class Generator: new Generator(options) (sync; options.checkpoint loads a saved model);
// forward(x, rows) and trainStep(features, options) and save(path) are async; dispose().
class Generator : public Napi::ObjectWrap<Generator> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Generator(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<GeneratorState> Get() const;
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Describe(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<GeneratorState> state_;
};

}  // namespace mist
