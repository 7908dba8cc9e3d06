#include "generator.h"

#include <ATen/CPUGeneratorImpl.h>


#include "mil_loss.h"
#include "tensor_io.h"
#include "torch_pickle.h"

namespace mist {

GeneratorNetImpl::GeneratorNetImpl(int64_t dim, int64_t hidden1, int64_t hidden2, double p)
    : fc1(register_module("fc1", torch::nn::Linear(dim, hidden1))),
      fc2(register_module("fc2", torch::nn::Linear(hidden1, hidden2))),
      fc3(register_module("fc3", torch::nn::Linear(hidden2, 1))),
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

static void MakeOptimizer(GeneratorState& s) {
  s.optimizer = std::make_unique<torch::optim::Adagrad>(
      s.net->parameters(), torch::optim::AdagradOptions(s.config.lr).weight_decay(s.config.weightDecay));
}

static std::string ConfigJson(const GeneratorConfig& c, int64_t steps) {
  return "{\"kind\":\"mist-generator\",\"version\":1,\"dim\":" + std::to_string(c.dim) +
         ",\"hidden1\":" + std::to_string(c.hidden1) + ",\"hidden2\":" + std::to_string(c.hidden2) +
         ",\"dropout\":" + std::to_string(c.dropout) + ",\"steps\":" + std::to_string(steps) + "}";
}


void Generator::Init(Napi::Env env, Napi::Object exports) {
  auto cls = DefineClass(env, "Generator",
                         {InstanceMethod<&Generator::Forward>("forward"),
                          InstanceMethod<&Generator::TrainStep>("trainStep"),
                          InstanceMethod<&Generator::Save>("save"),
                          InstanceMethod<&Generator::Describe>("describe"),
                          InstanceMethod<&Generator::Parameters>("parameters"),
                          InstanceMethod<&Generator::Dispose>("dispose")});
  exports.Set("Generator", cls);
}

Generator::Generator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Generator>(info) {
  Napi::Env env = info.Env();
  Guard(env, [&]() {
    Check(info.Length() == 1 && info[0].IsObject(), code::kArg, "new Generator(options)");
    auto o = info[0].As<Napi::Object>();
    auto s = std::make_shared<GeneratorState>();
    auto& c = s->config;
    c.seed = static_cast<uint64_t>(GetInt(o, "seed", 0, (int64_t(1) << 53), 0));
    c.lr = GetNumber(o, "lr", 0.01);
    c.weightDecay = GetNumber(o, "weightDecay", 0.001);
    c.clip = GetNumber(o, "clip", 10.0);
    s->device = ParseDevice(GetString(o, "device", torch::cuda::is_available() ? "cuda" : "cpu"));
    s->rng = at::detail::createCPUGenerator(c.seed);
    s->drop.key = SplitMix64(c.seed ^ 0x6D697374ull);
    // A dict of tensors by name: ours, or a PyTorch state_dict() (an OrderedDict, possibly
    // under "model" / "state_dict", possibly with DataParallel's "module." prefix).
    PyValue file;
    const PyValue* sd = nullptr;
    auto tensorAt = [&](const std::string& key) -> const at::Tensor* {
      const PyValue* p = sd->find(key);
      if (!p) p = sd->find("module." + key);
      return p && p->kind == PyValue::Kind::kTensor ? &p->tensor : nullptr;
    };
    const std::string checkpoint = GetString(o, "checkpoint", "");
    if (!checkpoint.empty()) {
      file = LoadTorchFile(checkpoint);
      Check(file.isDict(), code::kWeights, checkpoint + " does not hold a state dict");
      sd = &file;
      for (const char* inner : {"model", "state_dict"}) {
        if (const PyValue* m = file.find(inner); m && m->isDict()) sd = m;
      }
      const at::Tensor* w1 = tensorAt("fc1.weight");
      const at::Tensor* w2 = tensorAt("fc2.weight");
      Check(w1 && w2 && w1->dim() == 2 && w2->dim() == 2, code::kWeights,
            checkpoint + " is not a mist-vad generator checkpoint (no fc1.weight / fc2.weight)");
      c.dim = w1->size(1);
      c.hidden1 = w1->size(0);
      c.hidden2 = w2->size(0);
    } else {
      c.dim = GetInt(o, "dim", 1, 1 << 20);
      c.hidden1 = GetInt(o, "hidden1", 1, 1 << 16, 512);
      c.hidden2 = GetInt(o, "hidden2", 1, 1 << 16, 32);
    }
    c.dropout = GetNumber(o, "dropout", 0.6);
    Check(c.dropout >= 0 && c.dropout < 1, code::kArg, "dropout must be in [0, 1)");
    s->net = GeneratorNet(c.dim, c.hidden1, c.hidden2, c.dropout);
    InitWeights(s->net, s->rng);
    if (!checkpoint.empty()) {
      torch::NoGradGuard no_grad;
      for (auto& p : s->net->named_parameters()) {
        const at::Tensor* t = tensorAt(p.key());
        Check(t != nullptr, code::kWeights, checkpoint + " lacks " + p.key());
        Check(t->sizes() == p.value().sizes(), code::kWeights, "shape mismatch for " + p.key() + " in " + checkpoint);
        p.value().copy_(t->to(torch::kFloat32));
      }
      if (const PyValue* steps = file.find("steps"); steps && steps->kind == PyValue::Kind::kInt) s->steps = steps->i;
    }
    s->net->to(s->device);
    MakeOptimizer(*s);
    state_ = s;
  });
}

std::shared_ptr<GeneratorState> Generator::Get() const {
  Check(state_ != nullptr, code::kDisposed, "this Generator was disposed");
  return state_;
}

Napi::Value Generator::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Check(info.Length() >= 2 && info[1].IsNumber(), code::kArg, "forward(x: Float32Array, rows: number)");
    const int64_t rows = info[1].As<Napi::Number>().Int64Value();
    Check(rows >= 0, code::kShape, "rows must be >= 0");
    bool train = false;
    if (info.Length() >= 3 && info[2].IsObject()) train = GetString(info[2].As<Napi::Object>(), "mode", "eval") == "train";
    // The input is pinned (a reference held until the promise settles), not copied.
    auto x = ViewFloat32(info[0], {rows, s->config.dim}, "x");
    auto keep = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(info[0]));
    auto out = std::make_shared<torch::Tensor>();
    return PromiseWorker::Start(
        env,
        [s, x, train, out]() {
          std::lock_guard<std::mutex> lock(s->mutex);
          c10::InferenceMode guard;
          s->net->train(train);
          *out = s->net->forward(x.to(s->device), train ? &s->drop : nullptr).to(torch::kCPU);
        },
        [out, keep](Napi::Env env) -> Napi::Value { return ToFloat32Array(env, *out); });
  });
}

Napi::Value Generator::TrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Check(info.Length() == 2 && info[1].IsObject(), code::kArg, "trainStep(features, options)");
    auto o = ReadMilLossOptions(info[1].As<Napi::Object>());
    auto x = ViewFloat32(info[0], {(o.normal + o.anomalous) * o.clips, s->config.dim}, "features");
    auto keep = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(info[0]));
    struct Result {
      double loss, rank, sparsity, smoothness, gradNorm;
      int64_t step;
    };
    auto r = std::make_shared<Result>();
    return PromiseWorker::Start(
        env,
        [s, x, o, r]() {
          std::lock_guard<std::mutex> lock(s->mutex);
          torch::AutoGradMode enable(true);
          s->net->train(true);
          auto scores = s->net->forward(x.to(s->device), &s->drop).view({o.normal + o.anomalous, o.clips});
          auto t = MilRankingLoss(scores, o);
          s->optimizer->zero_grad();
          t.total.backward();
          r->gradNorm = torch::nn::utils::clip_grad_norm_(s->net->parameters(), s->config.clip);
          s->optimizer->step();
          r->step = ++s->steps;
          r->loss = t.total.item<double>();
          r->rank = t.rank.item<double>();
          r->sparsity = t.sparsity.item<double>();
          r->smoothness = t.smoothness.item<double>();
        },
        [r, keep](Napi::Env env) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("loss", r->loss);
          out.Set("rank", r->rank);
          out.Set("sparsity", r->sparsity);
          out.Set("smoothness", r->smoothness);
          out.Set("gradNorm", r->gradNorm);
          out.Set("step", static_cast<double>(r->step));
          return out;
        });
  });
}

Napi::Value Generator::Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "save(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    return PromiseWorker::Start(
        env,
        [s, path]() {
          std::vector<char> bytes;
          {
            std::lock_guard<std::mutex> lock(s->mutex);
            // A plain dict of tensors in PyTorch's zip format: torch.load() reads it.
            c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
            for (auto& p : s->net->named_parameters()) dict.insert(c10::IValue(p.key()), p.value().detach().to(torch::kCPU).clone());
            dict.insert(c10::IValue("steps"), c10::IValue(s->steps));
            dict.insert(c10::IValue("mist"), c10::IValue(ConfigJson(s->config, s->steps)));
            bytes = torch::pickle_save(c10::IValue(dict));
          }
          WriteAtomically(path, bytes);
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  });
}

Napi::Value Generator::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    auto o = Napi::Object::New(env);
    o.Set("dim", static_cast<double>(s->config.dim));
    o.Set("hidden1", static_cast<double>(s->config.hidden1));
    o.Set("hidden2", static_cast<double>(s->config.hidden2));
    o.Set("dropout", s->config.dropout);
    o.Set("device", DeviceName(s->device));
    o.Set("steps", static_cast<double>(s->steps));
    int64_t n = 0;
    for (auto& p : s->net->parameters()) n += p.numel();
    o.Set("parameterCount", static_cast<double>(n));
    o.Set("sizeBytes", static_cast<double>(n * 4 * 2));  // weights + Adagrad state
    return o;
  });
}

Napi::Value Generator::Parameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    std::lock_guard<std::mutex> lock(s->mutex);
    auto o = Napi::Object::New(env);
    for (auto& p : s->net->named_parameters()) o.Set(p.key(), ToFloat32Array(env, p.value().detach().clone()));
    return o;
  });
}

Napi::Value Generator::Dispose(const Napi::CallbackInfo& info) {
  // In-flight work holds its own reference to the state, so it finishes safely.
  state_.reset();
  return info.Env().Undefined();
}

}  // namespace mist
