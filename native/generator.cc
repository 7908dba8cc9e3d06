#include "generator.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "errors.h"
#include "mil_loss.h"
#include "torch_pickle.h"

namespace mist {

GeneratorNetImpl::GeneratorNetImpl(int64_t featureDim, const std::array<int64_t, 2>& hidden, double p)
    : fc1(register_module("fc1", torch::nn::Linear(featureDim, hidden[0]))),
      fc2(register_module("fc2", torch::nn::Linear(hidden[0], hidden[1]))),
      fc3(register_module("fc3", torch::nn::Linear(hidden[1], 1))),
      dropout(p) {}

// Counter-based dropout masks: element i of a call draws splitmix64(key + counter + i), so a
// mask depends only on the seed and how many values were drawn before it, never on the thread
// count, and filling it is parallel. (LibTorch's bernoulli_ with a private generator is
// serial and was most of a training step's time.)
static inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static torch::Tensor Dropout(const torch::Tensor& x, double p, DropoutStream* stream) {
  if (!stream || p <= 0) return x;
  auto mask = torch::empty(x.sizes(), torch::kFloat32);
  float* m = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  const uint64_t base = stream->key + stream->counter;
  stream->counter += static_cast<uint64_t>(n);
  const double keep = 1.0 - p;
  const float scale = static_cast<float>(1.0 / keep);
  at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double u = static_cast<double>(SplitMix64(base + static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;
      m[i] = u < keep ? scale : 0.0f;
    }
  });
  return x * mask.to(x.device(), /*non_blocking=*/true);
}

torch::Tensor GeneratorNetImpl::forward(const torch::Tensor& x, DropoutStream* drop) {
  auto h = Dropout(torch::relu(fc1(x)), dropout, drop);
  h = Dropout(fc2(h), dropout, drop);  // no ReLU after the 32-unit layer (released code)
  return torch::sigmoid(fc3(h)).squeeze(-1);
}

static void InitWeights(GeneratorNet& net, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  for (auto* lin : {&net->fc1, &net->fc2, &net->fc3}) {
    auto& w = (*lin)->weight;
    // Kaiming-normal, fan_in, gain sqrt(2) (PyTorch's kaiming_normal_ defaults).
    const double std = std::sqrt(2.0 / static_cast<double>(w.size(1)));
    auto cpu = torch::empty(w.sizes(), torch::kFloat32).normal_(0.0, std, gen);
    w.copy_(cpu);
    (*lin)->bias.zero_();
  }
}

// Weights, Adagrad state and gradients of 2^30 parameters are 12 GiB: beyond that a request is
// a mistake, refused before allocating.
constexpr int64_t kMaxParameters = int64_t{1} << 30;

// The dict of tensors by name in a checkpoint: ours, or a PyTorch state_dict() (an
// OrderedDict, possibly under "model" / "state_dict").
static const PyValue& StateDictOf(const PyValue& file, const std::string& path) {
  Check(file.isDict(), code::kWeights, path + " does not hold a state dict");
  const PyValue* sd = &file;
  for (const char* inner : {"model", "state_dict"}) {
    if (const PyValue* m = file.find(inner); m && m->isDict()) sd = m;
  }
  return *sd;
}

// A tensor by name, also under DataParallel's "module." prefix; null when absent.
static const at::Tensor* TensorAt(const PyValue& sd, const std::string& key) {
  const PyValue* p = sd.find(key);
  if (!p) p = sd.find("module." + key);
  return p && p->kind == PyValue::Kind::kTensor ? &p->tensor : nullptr;
}

GeneratorModel::GeneratorModel(const GeneratorConfig& config) : config_(config) {
  auto& c = config_;
  PyValue file;
  const PyValue* sd = nullptr;
  if (!c.checkpoint.empty()) {
    file = LoadTorchFile(c.checkpoint);
    sd = &StateDictOf(file, c.checkpoint);
    const at::Tensor* w1 = TensorAt(*sd, "fc1.weight");
    const at::Tensor* w2 = TensorAt(*sd, "fc2.weight");
    Check(w1 && w2 && w1->dim() == 2 && w2->dim() == 2, code::kWeights,
          c.checkpoint + " is not a mist-vad generator checkpoint (no fc1.weight / fc2.weight)");
    c.featureDim = w1->size(1);
    c.hidden = {w1->size(0), w2->size(0)};
  }
  Check(c.featureDim > 0 && c.hidden[0] > 0 && c.hidden[1] > 0, code::kShape, "featureDim and hidden must be positive");
  const double n = static_cast<double>(c.featureDim) * static_cast<double>(c.hidden[0]) +
                   static_cast<double>(c.hidden[0]) * static_cast<double>(c.hidden[1]);
  Check(n <= static_cast<double>(kMaxParameters), code::kMemory,
        "a generator of " + c10::str(n) + " weights is too large (at most 2^30)");
  net_ = GeneratorNet(c.featureDim, c.hidden, c.dropout);
  at::Generator rng = at::detail::createCPUGenerator(c.seed);
  InitWeights(net_, rng);
  if (sd) {
    torch::NoGradGuard no_grad;
    for (auto& p : net_->named_parameters()) {
      const at::Tensor* t = TensorAt(*sd, p.key());
      Check(t != nullptr, code::kWeights, c.checkpoint + " lacks " + p.key());
      Check(t->sizes() == p.value().sizes(), code::kWeights, "shape mismatch for " + p.key() + " in " + c.checkpoint);
      p.value().copy_(t->to(torch::kFloat32));
    }
    if (const PyValue* steps = file.find("steps"); steps && steps->kind == PyValue::Kind::kInt) steps_ = steps->i;
  }
  net_->to(c.device);
  optimizer_ = std::make_unique<torch::optim::Adagrad>(net_->parameters(),
                                                       torch::optim::AdagradOptions(c.lr).weight_decay(c.weightDecay));
  drop_.key = SplitMix64(c.seed ^ 0x6D697374ull);
  for (auto& p : net_->parameters()) parameterCount_ += p.numel();
}

torch::Tensor GeneratorModel::Forward(const torch::Tensor& x, bool train) {
  c10::InferenceMode guard;
  net_->train(train);
  return net_->forward(x.to(config_.device), train ? &drop_ : nullptr).to(torch::kCPU);
}

// Weight decay shrinks the weights of inputs that carry no signal geometrically towards zero;
// after some hundred steps they are denormal floats (measured: 6 % of fc1 after 100 steps of
// the demo), and a matrix product over denormals runs several times slower on CPUs that handle
// them in microcode (the demo's step went from 0.5 s to 1.9 s). Values below FLT_MIN change no
// result that a float32 can hold, so they become zero.
static void FlushDenormals(GeneratorNetImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.parameters()) p.masked_fill_(p.abs() < std::numeric_limits<float>::min(), 0.0);
}

TrainStepResult GeneratorModel::TrainStep(const torch::Tensor& x, const MilLossOptions& o) {
  torch::AutoGradMode enable(true);
  net_->train(true);
  auto scores = net_->forward(x.to(config_.device), &drop_).view({o.normal + o.anomalous, o.clips});
  auto t = MilRankingLoss(scores, o);
  optimizer_->zero_grad();
  t.total.backward();
  TrainStepResult r;
  r.gradNorm = torch::nn::utils::clip_grad_norm_(net_->parameters(), config_.gradClip);
  optimizer_->step();
  FlushDenormals(*net_);
  r.step = ++steps_;
  r.loss = t.total.item<double>();
  r.rank = t.rank.item<double>();
  r.sparsity = t.sparsity.item<double>();
  r.smoothness = t.smoothness.item<double>();
  return r;
}

std::vector<char> GeneratorModel::Checkpoint() {
  const auto& c = config_;
  const std::string json = "{\"kind\":\"mist-generator\",\"version\":1,\"featureDim\":" + std::to_string(c.featureDim) +
                           ",\"hidden\":[" + std::to_string(c.hidden[0]) + "," + std::to_string(c.hidden[1]) +
                           "],\"dropout\":" + std::to_string(c.dropout) + ",\"steps\":" + std::to_string(steps()) + "}";
  // A plain dict of tensors in PyTorch's zip format: torch.load() reads it.
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  for (auto& p : Parameters()) dict.insert(c10::IValue(p.first), p.second);
  dict.insert(c10::IValue("steps"), c10::IValue(steps()));
  dict.insert(c10::IValue("mist"), c10::IValue(json));
  return torch::pickle_save(c10::IValue(dict));
}

std::vector<std::pair<std::string, torch::Tensor>> GeneratorModel::Parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : net_->named_parameters()) out.emplace_back(p.key(), p.value().detach().to(torch::kCPU).clone());
  return out;
}

}  // namespace mist
