#include "generator.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
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
  ResetOptimizer();
  drop_.key = SplitMix64(c.seed ^ 0x6D697374ull);
  for (auto& p : net_->parameters()) parameterCount_ += p.numel();
}

void GeneratorModel::ResetOptimizer() {
  adagrad_.clear();
  for (auto& p : net_->named_parameters()) {
    AdagradSlot s;
    s.name = p.key();
    s.param = p.value();
    s.sum = torch::zeros_like(p.value());  // initial_accumulator_value 0
    adagrad_.push_back(std::move(s));
  }
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

// torch.optim.Adagrad's update of every parameter with a gradient (lr_decay 0, so the step
// size is lr throughout), operation for operation as LibTorch's Adagrad::step runs it.
static void AdagradUpdate(std::vector<AdagradSlot>& slots, double lr, double weightDecay) {
  torch::NoGradGuard no_grad;
  constexpr double kEps = 1e-10;
  for (auto& s : slots) {
    auto& p = s.param;
    if (!p.grad().defined()) continue;
    auto grad = p.grad();
    ++s.step;
    if (weightDecay != 0) grad = grad.add(p, weightDecay);
    s.sum.addcmul_(grad, grad, 1.0);
    const auto denom = s.sum.sqrt().add_(kEps);
    p.addcdiv_(grad, denom, -lr);
  }
}

static std::string NumberWord(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return c10::str(v);
}

TrainStepResult GeneratorModel::TrainStep(const torch::Tensor& x, const MilLossOptions& o) {
  torch::AutoGradMode enable(true);
  net_->train(true);
  auto params = net_->parameters();
  auto dropGradients = [&params]() {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
  };
  // Everything up to the update may fail; the model is then as it was before the call.
  const DropoutStream before = drop_;
  TrainStepResult r;
  try {
    dropGradients();
    auto scores = net_->forward(x.to(config_.device), &drop_).view({o.normal + o.anomalous, o.clips});
    auto t = MilRankingLoss(scores, o);
    r.loss = t.total.item<double>();
    Check(std::isfinite(r.loss), code::kTorch,
          "the loss is not finite (" + NumberWord(r.loss) +
              "): the step was not applied, the weights and the optimiser state are unchanged");
    t.total.backward();
    r.gradNorm = torch::nn::utils::clip_grad_norm_(params, config_.gradClip);
    Check(std::isfinite(r.gradNorm), code::kTorch,
          "the gradient is not finite (norm " + NumberWord(r.gradNorm) + ", loss " + NumberWord(r.loss) +
              "): the step was not applied, the weights and the optimiser state are unchanged");
    r.rank = t.rank.item<double>();
    r.sparsity = t.sparsity.item<double>();
    r.smoothness = t.smoothness.item<double>();
  } catch (...) {
    drop_ = before;
    dropGradients();
    throw;
  }
  AdagradUpdate(adagrad_, config_.lr, config_.weightDecay);
  dropGradients();
  FlushDenormals(*net_);
  r.step = ++steps_;
  return r;
}

// {fc1.weight, ..., steps, mist: JSON}: what save() writes, for these weights and step count.
static c10::impl::GenericDict CheckpointDict(const GeneratorConfig& c,
                                             const std::vector<std::pair<std::string, torch::Tensor>>& weights,
                                             int64_t steps) {
  const std::string json = "{\"kind\":\"mist-generator\",\"version\":1,\"featureDim\":" + std::to_string(c.featureDim) +
                           ",\"hidden\":[" + std::to_string(c.hidden[0]) + "," + std::to_string(c.hidden[1]) +
                           "],\"dropout\":" + std::to_string(c.dropout) + ",\"steps\":" + std::to_string(steps) + "}";
  // A plain dict of tensors in PyTorch's zip format: torch.load() reads it.
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  for (auto& p : weights) dict.insert(c10::IValue(p.first), p.second);
  dict.insert(c10::IValue("steps"), c10::IValue(steps));
  dict.insert(c10::IValue("mist"), c10::IValue(json));
  return dict;
}

std::vector<char> GeneratorModel::Checkpoint() {
  return torch::pickle_save(c10::IValue(CheckpointDict(config_, Parameters(), steps())));
}

void GeneratorModel::KeepBest() {
  best_ = Parameters();
  bestSteps_ = steps();
}

std::vector<char> GeneratorModel::BestCheckpoint() {
  Check(hasBest(), code::kArg, "no best weights were kept (keepBest() first)");
  return torch::pickle_save(c10::IValue(CheckpointDict(config_, best_, bestSteps_)));
}

void GeneratorModel::UseBest() {
  Check(hasBest(), code::kArg, "no best weights were kept (keepBest() first)");
  torch::NoGradGuard no_grad;
  for (auto& s : adagrad_) {
    for (const auto& p : best_) {
      if (p.first == s.name) s.param.copy_(p.second);
    }
    s.param.mutable_grad() = torch::Tensor();
  }
  steps_ = bestSteps_;
  ResetOptimizer();
  drop_.counter = 0;
}

std::vector<char> GeneratorModel::TrainingCheckpoint(const std::string& meta) {
  auto root = CheckpointDict(config_, Parameters(), steps());
  c10::impl::GenericDict sum(c10::StringType::get(), c10::TensorType::get());
  c10::impl::GenericDict step(c10::StringType::get(), c10::IntType::get());
  for (const auto& s : adagrad_) {
    sum.insert(s.name, s.sum.detach().to(torch::kCPU));
    step.insert(s.name, s.step);
  }
  c10::impl::GenericDict best(c10::StringType::get(), c10::TensorType::get());
  for (const auto& p : best_) best.insert(p.first, p.second);
  c10::impl::GenericDict st(c10::StringType::get(), c10::AnyType::get());
  st.insert(std::string("optimizer"), std::string("adagrad"));
  st.insert(std::string("sum"), sum);
  st.insert(std::string("step"), step);
  // The dropout stream: its key (fixed by the seed, kept as a check) and the draws so far.
  st.insert(std::string("dropout_key"), static_cast<int64_t>(drop_.key));
  st.insert(std::string("dropout_counter"), static_cast<int64_t>(drop_.counter));
  st.insert(std::string("best"), best);  // empty when none was kept
  st.insert(std::string("best_steps"), bestSteps_);
  st.insert(std::string("meta"), meta);
  root.insert(std::string("trainer"), st);
  return torch::pickle_save(c10::IValue(root));
}

std::string GeneratorModel::TrainingMeta(const std::string& path) {
  const PyValue file = LoadTorchFile(path);
  const PyValue* st = file.isDict() ? file.find("trainer") : nullptr;
  Check(st && st->isDict(), code::kWeights, path + " holds no training state (it is not a training checkpoint)");
  const PyValue* meta = st->find("meta");
  Check(meta && meta->kind == PyValue::Kind::kString, code::kWeights, path + ": the training state lacks 'meta'");
  return meta->s;
}

std::string GeneratorModel::RestoreTraining(const std::string& path) {
  const PyValue file = LoadTorchFile(path);
  Check(file.isDict(), code::kWeights, path + " does not hold a state dict");
  const PyValue* st = file.find("trainer");
  Check(st && st->isDict(), code::kWeights, path + " holds no training state (it is not a training checkpoint)");
  auto field = [&](const PyValue& d, const std::string& key, PyValue::Kind kind) -> const PyValue& {
    const PyValue* v = d.find(key);
    Check(v && v->kind == kind, code::kWeights, path + ": the training state lacks '" + key + "'");
    return *v;
  };
  Check(field(*st, "optimizer", PyValue::Kind::kString).s == "adagrad", code::kWeights,
        path + ": the training state is not Adagrad's");
  const std::string meta = field(*st, "meta", PyValue::Kind::kString).s;
  const PyValue& sums = field(*st, "sum", PyValue::Kind::kDict);
  const PyValue& counts = field(*st, "step", PyValue::Kind::kDict);
  const PyValue& best = field(*st, "best", PyValue::Kind::kDict);
  const int64_t steps = field(file, "steps", PyValue::Kind::kInt).i;
  const int64_t bestSteps = field(*st, "best_steps", PyValue::Kind::kInt).i;
  const auto key = static_cast<uint64_t>(field(*st, "dropout_key", PyValue::Kind::kInt).i);
  const auto counter = static_cast<uint64_t>(field(*st, "dropout_counter", PyValue::Kind::kInt).i);
  Check(key == drop_.key, code::kWeights, path + " is the training checkpoint of a generator of another seed");
  Check(steps >= 0 && bestSteps >= 0 && bestSteps <= steps, code::kWeights, path + ": impossible step counts");
  auto tensor = [&](const PyValue& d, const AdagradSlot& s, const char* what) -> const at::Tensor& {
    const PyValue* v = d.find(s.name);
    Check(v && v->kind == PyValue::Kind::kTensor, code::kWeights, path + " lacks the " + what + " of " + s.name);
    Check(v->tensor.sizes() == s.param.sizes(), code::kWeights,
          path + ": the " + what + " of " + s.name + " does not fit this generator");
    return v->tensor;
  };
  // Everything is read and checked before anything changes.
  const bool hasBest = best.entries && !best.entries->empty();
  struct Read {
    at::Tensor weight, sum, best;
    int64_t step = 0;
  };
  std::vector<Read> read;
  for (const auto& s : adagrad_) {
    Read r;
    r.weight = tensor(file, s, "weights");
    r.sum = tensor(sums, s, "optimiser state");
    r.step = field(counts, s.name, PyValue::Kind::kInt).i;
    Check(r.step >= 0 && r.step <= steps, code::kWeights, path + ": impossible optimiser step count of " + s.name);
    if (hasBest) r.best = tensor(best, s, "best weights");
    read.push_back(std::move(r));
  }
  torch::NoGradGuard no_grad;
  best_.clear();
  for (size_t i = 0; i < adagrad_.size(); ++i) {
    auto& s = adagrad_[i];
    s.param.copy_(read[i].weight);
    s.param.mutable_grad() = torch::Tensor();
    s.sum.copy_(read[i].sum);
    s.step = read[i].step;
    if (hasBest) best_.emplace_back(s.name, read[i].best.to(torch::kCPU, torch::kFloat32).clone());
  }
  steps_ = steps;
  bestSteps_ = hasBest ? bestSteps : 0;
  drop_.counter = counter;
  return meta;
}

std::vector<std::pair<std::string, torch::Tensor>> GeneratorModel::Parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : net_->named_parameters()) out.emplace_back(p.key(), p.value().detach().to(torch::kCPU).clone());
  return out;
}

}  // namespace mist
