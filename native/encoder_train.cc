#include "encoder_train.h"

#include <cmath>

#include "errors.h"

namespace mist {

torch::Tensor ClassWeightedBce(const torch::Tensor& logits, const torch::Tensor& target, double w1, double w0) {
  Check(logits.dim() == 2 && logits.size(1) == 2 && target.dim() == 1 && target.size(0) == logits.size(0), code::kShape,
        "the loss takes logits [n, 2] and targets [n]");
  auto p = torch::softmax(logits, -1).select(1, 1);
  auto y = target.to(p.device(), p.scalar_type());
  return (-w1 * y * torch::log(p + 1e-8) - w0 * (1 - y) * torch::log(1 - p + 1e-8)).mean();
}

EncoderTrainer::EncoderTrainer(SgaNet& net, const EncoderTrainConfig& c) : config(c) {
  Check(c.accumulate >= 1, code::kArg, "accumulate must be at least 1");
  for (auto& p : net->named_parameters()) {
    Slot s;
    s.name = p.key();
    s.param = p.value();
    s.decay = p.value().dim() > 1;  // conv / linear weights; biases and BatchNorm take none
    slots_.push_back(std::move(s));
  }
}

static std::string NumberWord(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return c10::str(v);
}

EncoderStepResult EncoderTrainer::Step(const SgaOutput& out, const torch::Tensor& targets, double lrFactor) {
  auto y = targets.to(out.scoreLogits.device());
  auto main = ClassWeightedBce(out.scoreLogits, y, config.w1, config.w0);
  auto guided = ClassWeightedBce(out.guidedLogits, y, config.w1, config.w0);
  auto loss = main + config.guidedWeight * guided;
  EncoderStepResult r;
  r.loss = loss.item<double>();
  r.mainLoss = main.item<double>();
  r.guidedLoss = guided.item<double>();
  r.lr = config.lr * lrFactor;
  const int64_t call = micro_ + 1;
  const bool stepping = call % config.accumulate == 0;
  const std::string where = "trainStep call " + std::to_string(call) + " (update " + std::to_string(steps_ + 1) + ")";
  const std::string unchanged =
      ": the step was not applied; the weights, the optimiser state and the accumulated gradients are unchanged";
  Check(std::isfinite(r.loss), code::kTorch,
        where + ": the loss is not finite (" + NumberWord(r.loss) + ")" + unchanged);
  // Gradients accumulated by earlier calls, kept so that a non-finite backward can be undone.
  std::vector<torch::Tensor> before;
  before.reserve(slots_.size());
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    before.push_back(g.defined() ? g.detach().clone() : torch::Tensor());
  }
  auto undo = [&]() {
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].param.mutable_grad() = before[i];
  };
  try {
    (loss / static_cast<double>(config.accumulate)).backward();
    std::vector<torch::Tensor> withGrad;
    for (auto& s : slots_) {
      if (s.param.grad().defined()) withGrad.push_back(s.param);
    }
    double norm = 0;
    if (!withGrad.empty() && stepping) {
      // clip_grad_norm_ with an infinite bound measures the norm and scales by at most 1.
      const double bound = config.gradClip > 0 ? config.gradClip : std::numeric_limits<double>::infinity();
      norm = torch::nn::utils::clip_grad_norm_(withGrad, bound);
    } else if (!withGrad.empty()) {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> norms;
      for (auto& p : withGrad) norms.push_back(p.grad().norm());
      norm = torch::stack(norms).norm().item<double>();
    }
    Check(std::isfinite(norm), code::kTorch,
          where + ": the gradient is not finite (norm " + NumberWord(norm) + ", loss " + NumberWord(r.loss) + ")" +
              unchanged);
    if (stepping && !withGrad.empty()) r.gradNorm = norm;
  } catch (...) {
    undo();
    throw;
  }
  micro_ = call;
  if (stepping) {
    Update(r.lr);
    ++steps_;
    r.stepped = true;
  }
  r.micro = micro_;
  r.steps = steps_;
  return r;
}

void EncoderTrainer::Update(double lr) {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    auto& g0 = s.param.mutable_grad();
    if (!g0.defined()) continue;
    auto g = s.decay && config.weightDecay != 0 ? g0.add(s.param, config.weightDecay) : g0;
    if (!s.expAvg.defined()) {
      s.expAvg = torch::zeros_like(s.param);
      s.expAvgSq = torch::zeros_like(s.param);
    }
    ++s.step;
    s.expAvg.mul_(config.beta1).add_(g, 1 - config.beta1);
    s.expAvgSq.mul_(config.beta2).addcmul_(g, g, 1 - config.beta2);
    const double bc1 = 1 - std::pow(config.beta1, static_cast<double>(s.step));
    const double bc2 = 1 - std::pow(config.beta2, static_cast<double>(s.step));
    auto denom = (s.expAvgSq.sqrt() / std::sqrt(bc2)).add_(config.eps);
    s.param.addcdiv_(s.expAvg, denom, -lr / bc1);
    g0 = torch::Tensor();  // as zero_grad(set_to_none=True): the next backward starts afresh
  }
}

c10::IValue EncoderTrainer::State() const {
  c10::impl::GenericDict expAvg(c10::StringType::get(), c10::TensorType::get());
  c10::impl::GenericDict expAvgSq(c10::StringType::get(), c10::TensorType::get());
  c10::impl::GenericDict grads(c10::StringType::get(), c10::TensorType::get());
  c10::impl::GenericDict step(c10::StringType::get(), c10::IntType::get());
  for (const auto& s : slots_) {
    if (s.expAvg.defined()) {
      expAvg.insert(s.name, s.expAvg.detach().to(torch::kCPU).clone());
      expAvgSq.insert(s.name, s.expAvgSq.detach().to(torch::kCPU).clone());
      step.insert(s.name, s.step);
    }
    const auto& g = s.param.grad();
    if (g.defined()) grads.insert(s.name, g.detach().to(torch::kCPU).clone());
  }
  c10::impl::GenericDict st(c10::StringType::get(), c10::AnyType::get());
  st.insert(std::string("exp_avg"), expAvg);
  st.insert(std::string("exp_avg_sq"), expAvgSq);
  st.insert(std::string("step"), step);
  st.insert(std::string("grad"), grads);  // accumulated, not yet applied
  st.insert(std::string("micro"), micro_);
  st.insert(std::string("steps"), steps_);
  return st;
}

void EncoderTrainer::Restore(const PyValue& st, const std::string& path, bool apply) {
  auto dict = [&](const char* key) -> const PyValue& {
    const PyValue* v = st.find(key);
    Check(v && v->isDict(), code::kWeights, path + ": the training state lacks '" + key + "'");
    return *v;
  };
  auto count = [&](const char* key) {
    const PyValue* v = st.find(key);
    Check(v && v->kind == PyValue::Kind::kInt, code::kWeights, path + ": the training state lacks '" + key + "'");
    return v->i;
  };
  const PyValue &expAvg = dict("exp_avg"), &expAvgSq = dict("exp_avg_sq"), &step = dict("step"), &grads = dict("grad");
  auto tensor = [&](const PyValue& d, const Slot& s) -> torch::Tensor {
    const PyValue* v = d.find(s.name);
    if (!v) return {};
    Check(v->kind == PyValue::Kind::kTensor && v->tensor.sizes() == s.param.sizes(), code::kWeights,
          path + ": the training state of " + s.name + " does not fit this encoder");
    return v->tensor.to(s.param.device(), s.param.scalar_type());
  };
  // Everything is read and checked before anything changes.
  std::vector<std::array<torch::Tensor, 3>> read;
  std::vector<int64_t> steps;
  for (const auto& s : slots_) {
    read.push_back({tensor(expAvg, s), tensor(expAvgSq, s), tensor(grads, s)});
    const PyValue* n = step.find(s.name);
    Check(read.back()[0].defined() == (n != nullptr) && read.back()[0].defined() == read.back()[1].defined(),
          code::kWeights, path + ": the optimiser state of " + s.name + " is incomplete");
    steps.push_back(n ? n->i : 0);
  }
  const int64_t micro = count("micro"), updates = count("steps");
  Check(micro >= 0 && updates >= 0 && updates <= micro, code::kWeights, path + ": impossible training counters");
  if (!apply) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    s.expAvg = read[i][0];
    s.expAvgSq = read[i][1];
    s.step = steps[i];
    s.param.mutable_grad() = read[i][2];
  }
  micro_ = micro;
  steps_ = updates;
}

}  // namespace mist
