// JS class SgaEncoder: the stage-2 encoder (native/encoder.h) behind the JS boundary.
#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>

#include "encoder.h"
#include "errors.h"
#include "tensor_io.h"

namespace mist {

namespace {

struct EncoderState {
  std::mutex mutex;  // one computation at a time per model; calls from JS may overlap
  EncoderConfig config;
  torch::Device device{torch::kCPU};
  SgaNet net{nullptr};
  at::Generator rng;
  std::atomic<bool> training{false};
  bool fold = true;
  bool onednn = true;  // the folded copy runs in oneDNN's blocked layout (CPU)
  bool batchNormStatsFrozen = false;
  // The folded evaluation copy, built on first use; dropped whenever weights or BatchNorm
  // statistics change (load, a train-mode forward).
  std::unique_ptr<InferencePlan> plan;
};

// PyTorch's default initialisation (kaiming_uniform with a = sqrt(5): U(+-1/sqrt(fan_in)) for
// weights and biases), drawn from the model's own generator so that a seed fixes it.
void InitWeights(SgaNet& net, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  for (auto& m : net->modules(/*include_self=*/false)) {
    torch::Tensor w, b;
    if (auto* c = m->as<torch::nn::Conv3d>()) {
      w = c->weight;
      b = c->bias;
    } else if (auto* l = m->as<torch::nn::Linear>()) {
      w = l->weight;
      b = l->bias;
    } else {
      continue;
    }
    const double bound = 1.0 / std::sqrt(static_cast<double>(w[0].numel()));
    w.copy_(torch::empty(w.sizes(), torch::kFloat32).uniform_(-bound, bound, gen));
    if (b.defined()) b.copy_(torch::empty(b.sizes(), torch::kFloat32).uniform_(-bound, bound, gen));
  }
}

void ApplyMode(EncoderState& s, bool training) { SetTrainMode(s.net, training, s.batchNormStatsFrozen); }

Triple ReadSize(const Napi::Value& v, const Triple& fallback) {
  if (v.IsUndefined() || v.IsNull()) return fallback;
  Check(v.IsArray() && v.As<Napi::Array>().Length() == 3, code::kArg, "inputSize must be [frames, height, width]");
  auto a = v.As<Napi::Array>();
  Triple t{};
  for (uint32_t i = 0; i < 3; ++i) {
    auto e = a.Get(i);
    Check(e.IsNumber(), code::kArg, "inputSize must hold integers");
    const double d = e.As<Napi::Number>().DoubleValue();
    Check(d >= 1 && d <= 4096 && d == std::floor(d), code::kArg, "inputSize values must be integers in [1, 4096]");
    t[i] = static_cast<int64_t>(d);
  }
  return t;
}

Napi::Array SizeArray(Napi::Env env, torch::IntArrayRef s) {
  auto a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(s[i]));
  return a;
}

Napi::Array Strings(Napi::Env env, const std::vector<std::string>& v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

int64_t Numel(const std::vector<torch::Tensor>& v) {
  int64_t n = 0;
  for (const auto& t : v) n += t.numel();
  return n;
}


class SgaEncoder : public Napi::ObjectWrap<SgaEncoder> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit SgaEncoder(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<EncoderState> Get() const;
  // Reads the clips argument pair and the optional size; checks shapes against the network.
  torch::Tensor Input(const Napi::CallbackInfo& info, EncoderState& s, bool heads, Triple* size);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Taps(const Napi::CallbackInfo& info);
  Napi::Value LoadStateDictJs(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value SetTraining(const Napi::CallbackInfo& info);
  Napi::Value Freeze(const Napi::CallbackInfo& info);
  Napi::Value ParameterGroupsJs(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);
  Napi::Value MacsPerClip(const Napi::CallbackInfo& info);
  Napi::Value Describe(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<EncoderState> state_;
};

void SgaEncoder::Init(Napi::Env env, Napi::Object exports) {
  auto cls = DefineClass(env, "SgaEncoder",
                         {InstanceMethod<&SgaEncoder::Forward>("forward"),
                          InstanceMethod<&SgaEncoder::Taps>("taps"),
                          InstanceMethod<&SgaEncoder::LoadStateDictJs>("loadStateDict"),
                          InstanceMethod<&SgaEncoder::Save>("save"),
                          InstanceMethod<&SgaEncoder::SetTraining>("setTraining"),
                          InstanceMethod<&SgaEncoder::Freeze>("freeze"),
                          InstanceMethod<&SgaEncoder::ParameterGroupsJs>("parameterGroups"),
                          InstanceMethod<&SgaEncoder::ParameterCount>("parameterCount"),
                          InstanceMethod<&SgaEncoder::MacsPerClip>("macsPerClip"),
                          InstanceMethod<&SgaEncoder::Describe>("describe"),
                          InstanceMethod<&SgaEncoder::StateDict>("stateDict"),
                          InstanceMethod<&SgaEncoder::Dispose>("dispose")});
  exports.Set("SgaEncoder", cls);
}

// new SgaEncoder({backbone, width, expandK, dropout, inputSize, device, seed, fold, onednn})
// (sync):
// a freshly initialised model. Throws ERR_MIST_ARG / ERR_MIST_DEVICE / ERR_MIST_SHAPE.
SgaEncoder::SgaEncoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SgaEncoder>(info) {
  Napi::Env env = info.Env();
  Guard(env, [&]() {
    Check(info.Length() == 1 && info[0].IsObject(), code::kArg, "new SgaEncoder(options)");
    auto o = info[0].As<Napi::Object>();
    auto s = std::make_shared<EncoderState>();
    auto& c = s->config;
    const std::string bb = GetString(o, "backbone", "i3d");
    Check(bb == "i3d" || bb == "c3d", code::kArg, "backbone must be 'i3d' or 'c3d'");
    c.backbone = bb == "i3d" ? BackboneKind::kI3d : BackboneKind::kC3d;
    c.width = GetNumber(o, "width", 1.0);
    Check(c.width > 0 && c.width <= 16, code::kArg, "width must be in (0, 16]");
    c.expandK = GetInt(o, "expandK", 1, 1024, 8);
    c.dropout = GetNumber(o, "dropout", 0.8);
    Check(c.dropout >= 0 && c.dropout < 1, code::kArg, "dropout must be in [0, 1)");
    c.inputSize = ReadSize(o.Get("inputSize"), c.backbone == BackboneKind::kI3d ? Triple{16, 224, 224} : Triple{16, 112, 112});
    auto fold = o.Get("fold");
    s->fold = fold.IsUndefined() ? true : fold.ToBoolean().Value();
    auto onednn = o.Get("onednn");
    s->onednn = onednn.IsUndefined() ? true : onednn.ToBoolean().Value();
    s->device = ParseDevice(GetString(o, "device", "cpu"));
    s->rng = at::detail::createCPUGenerator(static_cast<uint64_t>(GetInt(o, "seed", 0, (int64_t(1) << 53), 0)));
    s->net = SgaNet(c);
    InitWeights(s->net, s->rng);
    s->net->to(s->device);
    s->net->eval();
    // ERR_MIST_SHAPE for an input too small for the backbone; whether the heads fit is
    // checked by forward() (taps() takes any size the backbone takes).
    ShapesAt(s->net, c.inputSize);
    state_ = s;
  });
}

std::shared_ptr<EncoderState> SgaEncoder::Get() const {
  Check(state_ != nullptr, code::kDisposed, "this SgaEncoder was disposed");
  return state_;
}

torch::Tensor SgaEncoder::Input(const Napi::CallbackInfo& info, EncoderState& s, bool heads, Triple* size) {
  Check(info.Length() >= 2 && info[1].IsNumber(), code::kArg, "(clips: Float32Array, n: number, inputSize?)");
  const double nd = info[1].As<Napi::Number>().DoubleValue();
  Check(nd >= 1 && nd == std::floor(nd), code::kShape, "n must be a positive integer");
  *size = ReadSize(info.Length() >= 3 ? info[2] : info.Env().Undefined(), s.config.inputSize);
  auto shapes = ShapesAt(s.net, *size);
  Check(!heads || shapes.headsFit, code::kShape,
        "at input " + c10::str(c10::IntArrayRef(size->data(), 3)) +
            " the attention map does not fit the main feature map (16 frames are expected)");
  return ViewFloat32(info[0], {static_cast<int64_t>(nd), 3, (*size)[0], (*size)[1], (*size)[2]}, "clips");
}

// Async: forward(clips [n, 3, T, H, W], n, inputSize?) -> {score [n], guided [n, 2] (softmax:
// normal, anomalous), attention [n, T', H', W'] with attentionShape, feature [n, D]}. Eval
// mode runs the folded copy in inference mode; train mode runs the modules (BatchNorm batch
// statistics, dropout) without autograd. The clips array is pinned, not copied.
Napi::Value SgaEncoder::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Triple size;
    auto x = Input(info, *s, true, &size);
    auto keep = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(info[0]));
    const bool training = s->training.load();
    auto out = std::make_shared<SgaOutput>();
    return PromiseWorker::Start(
        env,
        [s, x, training, out]() {
          std::lock_guard<std::mutex> lock(s->mutex);
          SgaOutput r;
          if (!training) {
            c10::InferenceMode guard;
            if (s->fold) {
              if (!s->plan) s->plan = std::make_unique<InferencePlan>(s->net, s->onednn);
              r = s->plan->forward(x.to(s->device));
            } else {
              ApplyMode(*s, false);
              r = s->net->forward(x.to(s->device), nullptr);
            }
          } else {
            torch::NoGradGuard no_grad;
            ApplyMode(*s, true);
            s->plan.reset();  // running statistics move
            r = s->net->forward(x.to(s->device), &s->rng);
          }
          out->scoreLogits = torch::softmax(r.scoreLogits, -1).select(1, 1).to(torch::kCPU);
          out->guidedLogits = torch::softmax(r.guidedLogits, -1).to(torch::kCPU);
          out->attention = r.attention.squeeze(1).to(torch::kCPU);
          out->feature = r.feature.to(torch::kCPU);
        },
        [out, keep](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("score", ToFloat32Array(env, out->scoreLogits));
          o.Set("guided", ToFloat32Array(env, out->guidedLogits));
          o.Set("attention", ToFloat32Array(env, out->attention));
          o.Set("attentionShape", SizeArray(env, out->attention.sizes()));
          o.Set("feature", ToFloat32Array(env, out->feature));
          o.Set("featureDim", static_cast<double>(out->feature.size(1)));
          return o;
        });
  });
}

// Async: taps(clips, n, inputSize?) -> {sga, sgaShape, main, mainShape}: the two backbone
// feature maps (Mixed_4f / Mixed_5c, conv4b / conv5b), at any input size the backbone takes.
Napi::Value SgaEncoder::Taps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Triple size;
    auto x = Input(info, *s, false, &size);
    auto keep = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(info[0]));
    const bool training = s->training.load();
    auto out = std::make_shared<std::array<torch::Tensor, 2>>();
    return PromiseWorker::Start(
        env,
        [s, x, training, out]() {
          std::lock_guard<std::mutex> lock(s->mutex);
          std::array<torch::Tensor, 2> t;
          if (!training) {
            c10::InferenceMode guard;
            if (s->fold) {
              if (!s->plan) s->plan = std::make_unique<InferencePlan>(s->net, s->onednn);
              t = s->plan->taps(x.to(s->device));
            } else {
              ApplyMode(*s, false);
              t = s->net->taps(x.to(s->device));
            }
          } else {
            torch::NoGradGuard no_grad;
            ApplyMode(*s, true);
            s->plan.reset();
            t = s->net->taps(x.to(s->device));
          }
          *out = {t[0].to(torch::kCPU), t[1].to(torch::kCPU)};
        },
        [out, keep](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("sga", ToFloat32Array(env, (*out)[0]));
          o.Set("sgaShape", SizeArray(env, (*out)[0].sizes()));
          o.Set("main", ToFloat32Array(env, (*out)[1]));
          o.Set("mainShape", SizeArray(env, (*out)[1].sizes()));
          return o;
        });
  });
}

// Async: loadStateDict(path) -> {missing, unexpected, ignored, loaded, layout}. Loads by name
// (see LoadStateDict); ERR_MIST_IO when unreadable, ERR_MIST_WEIGHTS when it is not a state
// dict, is in the legacy format, or a shape does not fit (then nothing is loaded).
Napi::Value SgaEncoder::LoadStateDictJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "loadStateDict(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto r = std::make_shared<LoadReport>();
    return PromiseWorker::Start(
        env,
        [s, path, r]() {
          std::lock_guard<std::mutex> lock(s->mutex);
          *r = LoadStateDict(s->net, path);
          s->plan.reset();
        },
        [r](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("missing", Strings(env, r->missing));
          o.Set("unexpected", Strings(env, r->unexpected));
          o.Set("ignored", Strings(env, r->ignored));
          o.Set("loaded", static_cast<double>(r->loaded));
          o.Set("layout", r->layout);
          return o;
        });
  });
}

// Async: save(path): {model: state dict, mist: config} in PyTorch's zip format, atomically.
Napi::Value SgaEncoder::Save(const Napi::CallbackInfo& info) {
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
            bytes = SaveCheckpoint(s->net);
          }
          WriteAtomically(path, bytes);
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  });
}

// Sync: setTraining(on): later calls run in train mode (BatchNorm batch statistics, dropout).
Napi::Value SgaEncoder::SetTraining(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Check(info.Length() == 1 && info[0].IsBoolean(), code::kArg, "setTraining(on: boolean)");
    s->training = info[0].As<Napi::Boolean>().Value();
    return env.Undefined();
  });
}

// Sync: freeze({blocks, batchNormAffine, batchNormStats}) -> frozen parameter count. blocks:
// backbone block names whose parameters stop requiring grad (the others require it again);
// batchNormAffine: every backbone BatchNorm weight and bias frozen too; batchNormStats: the
// running statistics frozen as well (BatchNorm in eval mode while training). Waits for a
// computation in flight. ERR_MIST_ARG for an unknown block.
Napi::Value SgaEncoder::Freeze(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    Check(info.Length() == 1 && info[0].IsObject(), code::kArg, "freeze({blocks, batchNormAffine, batchNormStats})");
    auto o = info[0].As<Napi::Object>();
    std::set<std::string> blocks;
    const auto& known = s->net->backbone->blocks;
    auto b = o.Get("blocks");
    if (!b.IsUndefined()) {
      Check(b.IsArray(), code::kArg, "blocks must be an array of block names");
      auto a = b.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Check(a.Get(i).IsString(), code::kArg, "blocks must be an array of block names");
        const std::string name = a.Get(i).As<Napi::String>().Utf8Value();
        Check(std::find(known.begin(), known.end(), name) != known.end(), code::kArg,
              "unknown " + BackboneName(s->config.backbone) + " block '" + name + "'");
        blocks.insert(name);
      }
    }
    const bool bnAffine = o.Get("batchNormAffine").ToBoolean().Value();
    const bool bnStats = o.Get("batchNormStats").ToBoolean().Value();
    std::lock_guard<std::mutex> lock(s->mutex);
    s->batchNormStatsFrozen = bnStats;
    int64_t frozen = 0;
    for (auto& p : s->net->named_parameters()) {
      const std::string& k = p.key();
      bool freeze = false;
      if (k.rfind("backbone.", 0) == 0) {
        const std::string block = k.substr(9, k.find('.', 9) - 9);
        freeze = blocks.count(block) > 0 || (bnAffine && k.find(".batch3d.") != std::string::npos);
      }
      p.value().set_requires_grad(!freeze);
      if (freeze) frozen += p.value().numel();
    }
    return Napi::Number::New(env, static_cast<double>(frozen));
  });
}

// Sync: parameterGroups() -> {decay, noDecay, frozen: names; decayCount, noDecayCount,
// frozenCount: parameters}. Weight decay applies to conv / linear weights only (spec).
Napi::Value SgaEncoder::ParameterGroupsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    std::lock_guard<std::mutex> lock(s->mutex);
    auto g = GroupParameters(s->net);
    int64_t frozen = 0;
    for (auto& p : s->net->parameters()) frozen += p.requires_grad() ? 0 : p.numel();
    auto o = Napi::Object::New(env);
    o.Set("decay", Strings(env, g.decayNames));
    o.Set("noDecay", Strings(env, g.noDecayNames));
    o.Set("frozen", Strings(env, g.frozenNames));
    o.Set("decayCount", static_cast<double>(Numel(g.decay)));
    o.Set("noDecayCount", static_cast<double>(Numel(g.noDecay)));
    o.Set("frozenCount", static_cast<double>(frozen));
    return o;
  });
}

// Sync: parameterCount() -> {total, trainable, backbone, sgaBranch, head}.
Napi::Value SgaEncoder::ParameterCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    int64_t total = 0, trainable = 0;
    for (auto& p : s->net->parameters()) {
      total += p.numel();
      trainable += p.requires_grad() ? p.numel() : 0;
    }
    auto count = [](torch::nn::Module& m) {
      int64_t n = 0;
      for (auto& p : m.parameters()) n += p.numel();
      return n;
    };
    auto o = Napi::Object::New(env);
    o.Set("total", static_cast<double>(total));
    o.Set("trainable", static_cast<double>(trainable));
    o.Set("backbone", static_cast<double>(count(*s->net->backbone)));
    o.Set("sgaBranch", static_cast<double>(count(*s->net->Conv_Atten)));
    o.Set("head", static_cast<double>(count(*s->net->Regressor)));
    return o;
  });
}

// Sync: macsPerClip(inputSize?) -> {total, backbone, sgaBranch, head, inputSize}: the
// multiply-accumulates of every convolution and Linear for one clip, from the layer shapes.
Napi::Value SgaEncoder::MacsPerClip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    const Triple size = ReadSize(info.Length() >= 1 ? info[0] : env.Undefined(), s->config.inputSize);
    ShapesAt(s->net, size);  // ERR_MIST_SHAPE for an input too small
    auto m = CountMacs(s->net, size);
    auto o = Napi::Object::New(env);
    o.Set("total", static_cast<double>(m.total()));
    o.Set("backbone", static_cast<double>(m.backbone));
    o.Set("sgaBranch", static_cast<double>(m.sga));
    o.Set("head", static_cast<double>(m.head));
    o.Set("inputSize", SizeArray(env, c10::IntArrayRef(size.data(), 3)));
    return o;
  });
}

// Sync: describe() -> configuration, shapes at the configured input size, size in bytes.
Napi::Value SgaEncoder::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    const auto& c = s->config;
    auto shapes = ShapesAt(s->net, c.inputSize);
    int64_t bytes = 0;
    for (auto& p : s->net->parameters()) bytes += p.numel() * 4;
    for (auto& b : s->net->buffers()) bytes += b.numel() * b.element_size();
    auto o = Napi::Object::New(env);
    o.Set("backbone", BackboneName(c.backbone));
    o.Set("width", c.width);
    o.Set("expandK", static_cast<double>(c.expandK));
    o.Set("dropout", c.dropout);
    o.Set("inputSize", SizeArray(env, c10::IntArrayRef(c.inputSize.data(), 3)));
    o.Set("device", DeviceName(s->device));
    o.Set("training", s->training.load());
    o.Set("fold", s->fold);
    o.Set("onednn", s->onednn && at::hasMKLDNN() && s->device.is_cpu());
    o.Set("blocks", Strings(env, s->net->backbone->blocks));
    o.Set("sgaShape", SizeArray(env, c10::IntArrayRef(shapes.sga.data(), 4)));
    o.Set("mainShape", SizeArray(env, c10::IntArrayRef(shapes.main.data(), 4)));
    o.Set("attentionShape", SizeArray(env, c10::IntArrayRef(shapes.attention.data(), 4)));
    o.Set("featureDim", static_cast<double>(s->net->backbone->out_channels));
    o.Set("sizeBytes", static_cast<double>(bytes));
    return o;
  });
}

// Sync: stateDict() -> {name: Float32Array} copies of every parameter and buffer.
Napi::Value SgaEncoder::StateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto s = Get();
    std::lock_guard<std::mutex> lock(s->mutex);
    auto o = Napi::Object::New(env);
    for (auto& p : s->net->named_parameters()) o.Set(p.key(), ToFloat32Array(env, p.value().detach().clone()));
    for (auto& b : s->net->named_buffers()) o.Set(b.key(), ToFloat32Array(env, b.value().detach().to(torch::kFloat32).clone()));
    return o;
  });
}

Napi::Value SgaEncoder::Dispose(const Napi::CallbackInfo& info) {
  // In-flight work holds its own reference to the state, so it finishes safely.
  state_.reset();
  return info.Env().Undefined();
}

// Async: encoderCheckpointConfig(path) -> {backbone, width, expandK, dropout} of a checkpoint
// written by SgaEncoder.save, or null for any other state dict. ERR_MIST_IO / ERR_MIST_WEIGHTS.
Napi::Value CheckpointConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "encoderCheckpointConfig(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto c = std::make_shared<EncoderConfig>();
    auto found = std::make_shared<bool>(false);
    return PromiseWorker::Start(
        env, [path, c, found]() { *found = ReadCheckpointConfig(path, c.get()); },
        [c, found](Napi::Env env) -> Napi::Value {
          if (!*found) return env.Null();
          auto o = Napi::Object::New(env);
          o.Set("backbone", BackboneName(c->backbone));
          o.Set("width", c->width);
          o.Set("expandK", static_cast<double>(c->expandK));
          o.Set("dropout", c->dropout);
          return o;
        });
  });
}

}  // namespace

void InitSgaEncoder(Napi::Env env, Napi::Object exports) {
  SgaEncoder::Init(env, exports);
  exports.Set("encoderCheckpointConfig", Napi::Function::New(env, CheckpointConfig, "encoderCheckpointConfig"));
}

}  // namespace mist
