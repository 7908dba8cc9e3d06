// JS class SgaEncoder and encoderCheckpointConfig(): the stage-2 encoder (native/encoder.h)
// behind the JS boundary.
#include "binding.h"
#include "encoder.h"
#include "encoder_train.h"

namespace mist {

namespace {

// inputSize as [frames, height, width]. Only what protects the arithmetic: every size in
// [1, 4096], so shape and MAC counts cannot overflow.
Triple ReadSize(const Napi::Value& v) {
  Check(v.IsArray() && v.As<Napi::Array>().Length() == 3, code::kArg, "inputSize must be [frames, height, width]");
  auto a = v.As<Napi::Array>();
  Triple t{};
  for (uint32_t i = 0; i < 3; ++i) {
    t[i] = ToInt(a.Get(i), "inputSize");
    Check(t[i] >= 1 && t[i] <= 4096, code::kShape, "inputSize values must be in [1, 4096] (larger ones overflow)");
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

// The architecture fields that describe() and encoderCheckpointConfig() both report.
Napi::Object Architecture(Napi::Env env, const EncoderConfig& c) {
  auto o = Napi::Object::New(env);
  o.Set("backbone", BackboneName(c.backbone));
  o.Set("width", c.width);
  o.Set("expandK", static_cast<double>(c.expandK));
  o.Set("dropout", c.dropout);
  return o;
}

Napi::Object NamedTensors(Napi::Env env, const std::vector<std::pair<std::string, torch::Tensor>>& v) {
  auto o = Napi::Object::New(env);
  for (auto& p : v) o.Set(p.first, ToFloat32Array(env, p.second));
  return o;
}

// The clips argument pair of forward() and taps(), read on the JS thread.
struct Clips {
  torch::Tensor x;  // a copy of the array, taken on the JS thread
  bool train;
};

class SgaEncoder : public ModelBinding<SgaEncoder, SgaEncoderModel> {
 public:
  static constexpr const char* kName = "SgaEncoder";

  // Sync: {backbone, width, expandK, dropout, inputSize, device, seed, init, fold, onednn} -> config.
  // Throws ERR_MIST_ARG for a missing field, ERR_MIST_DEVICE, ERR_MIST_SHAPE.
  static EncoderConfig ReadOptions(const Napi::Object& o) {
    EncoderConfig c;
    const std::string bb = GetString(o, "backbone");
    Check(bb == "i3d" || bb == "c3d", code::kArg, "backbone must be 'i3d' or 'c3d'");
    c.backbone = bb == "i3d" ? BackboneKind::kI3d : BackboneKind::kC3d;
    c.width = GetNumber(o, "width");
    c.expandK = GetInt(o, "expandK");
    c.dropout = GetNumber(o, "dropout");
    c.inputSize = ReadSize(o.Get("inputSize"));
    c.device = ParseDevice(GetString(o, "device"));
    c.seed = static_cast<uint64_t>(GetInt(o, "seed"));
    const std::string init = GetString(o, "init");
    Check(init == "pytorch" || init == "kaiming", code::kArg, "init must be 'pytorch' or 'kaiming'");
    c.kaimingInit = init == "kaiming";
    c.fold = GetBool(o, "fold");
    c.onednn = GetBool(o, "onednn");
    return c;
  }
  static std::vector<char> Serialise(SgaEncoderModel& m) { return SaveCheckpoint(m.net); }

  static void Init(Napi::Env env, Napi::Object exports) {
    Define(
        env, exports,
        {Bind<&SgaEncoder::Forward>("forward"), Bind<&SgaEncoder::Taps>("taps"), Bind<&SgaEncoder::Profile>("profile"),
         Bind<&SgaEncoder::LoadStateDictJs>("loadStateDict"), Bind<&SgaEncoder::SetTraining>("setTraining"),
         Bind<&SgaEncoder::Freeze>("freeze"), Bind<&SgaEncoder::ParameterGroups>("parameterGroups"),
         Bind<&SgaEncoder::ParameterCount>("parameterCount"), Bind<&SgaEncoder::MacsPerClip>("macsPerClip"),
         Bind<&SgaEncoder::Describe>("describe"), Bind<&SgaEncoder::StateDict>("stateDict"),
         Bind<&SgaEncoder::ConfigureTraining>("configureTraining"), Bind<&SgaEncoder::TrainStep>("trainStep"),
         Bind<&SgaEncoder::SaveTraining>("saveTraining"), Bind<&SgaEncoder::RestoreTraining>("restoreTraining")});
  }

  explicit SgaEncoder(const Napi::CallbackInfo& info) : ModelBinding(info) {}

 private:
  // (clips: Float32Array [n, 3, T, H, W], n, inputSize) on the JS thread; checks shapes against
  // the network (read-only structure) and copies the array (the caller may overwrite, transfer
  // or detach it as soon as the call returns).
  static Clips ReadClips(const Napi::CallbackInfo& info, SgaEncoderModel& m, bool heads) {
    Check(info.Length() == 3, code::kArg, "(clips: Float32Array, n: number, inputSize)");
    const int64_t n = ToInt(info[1], "n");
    Check(n >= 1, code::kShape, "n must be a positive integer");
    const Triple size = ReadSize(info[2]);
    auto shapes = ShapesAt(m.net, size);
    Check(!heads || shapes.headsFit, code::kShape,
          "at input " + c10::str(c10::IntArrayRef(size.data(), 3)) +
              " the attention map does not fit the main feature map (16 frames are expected)");
    return {CopyFiniteFloat32(info[0], {n, 3, size[0], size[1], size[2]}, "clips", "clip"), m.training.load()};
  }

  // Async: forward(clips [n, 3, T, H, W], n, inputSize) -> {score [n], guided [n, 2] (softmax:
  // normal, anomalous), attention [n, T', H', W'] with attentionShape, feature [n, D],
  // featureDim}, in the mode set by setTraining. Throws ERR_MIST_DTYPE / ERR_MIST_SHAPE, and
  // ERR_MIST_ARG naming the clip for a NaN or an infinity in the clips.
  Napi::Value Forward(const Napi::CallbackInfo& info, const Shared& s) {
    auto in = ReadClips(info, s->model, true);
    auto out = std::make_shared<SgaOutput>();
    return Run(
        info.Env(), s,
        [x = in.x, train = in.train, out](SgaEncoderModel& m) {
          auto r = m.Forward(x, train);
          out->scoreLogits = torch::softmax(r.scoreLogits, -1).select(1, 1).to(torch::kCPU);
          out->guidedLogits = torch::softmax(r.guidedLogits, -1).to(torch::kCPU);
          out->attention = r.attention.squeeze(1).to(torch::kCPU);
          out->feature = r.feature.to(torch::kCPU);
        },
        [out](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("score", ToFloat32Array(env, out->scoreLogits));
          o.Set("guided", ToFloat32Array(env, out->guidedLogits));
          o.Set("attention", ToFloat32Array(env, out->attention));
          o.Set("attentionShape", SizeArray(env, out->attention.sizes()));
          o.Set("feature", ToFloat32Array(env, out->feature));
          o.Set("featureDim", static_cast<double>(out->feature.size(1)));
          return o;
        });
  }

  // Async: taps(clips, n, inputSize) -> {sga, sgaShape, main, mainShape}: the two backbone
  // feature maps (Mixed_4f / Mixed_5c, conv4b / conv5b), at any input size the backbone takes.
  Napi::Value Taps(const Napi::CallbackInfo& info, const Shared& s) {
    auto in = ReadClips(info, s->model, false);
    auto out = std::make_shared<std::array<torch::Tensor, 2>>();
    return Run(
        info.Env(), s,
        [x = in.x, train = in.train, out](SgaEncoderModel& m) {
          auto t = m.Taps(x, train);
          *out = {t[0].to(torch::kCPU), t[1].to(torch::kCPU)};
        },
        [out](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("sga", ToFloat32Array(env, (*out)[0]));
          o.Set("sgaShape", SizeArray(env, (*out)[0].sizes()));
          o.Set("main", ToFloat32Array(env, (*out)[1]));
          o.Set("mainShape", SizeArray(env, (*out)[1].sizes()));
          return o;
        });
  }

  // Async: loadStateDict(path) -> {missing, unexpected, ignored, loaded, layout}. Loads by name
  // (see LoadStateDict); ERR_MIST_IO when unreadable, ERR_MIST_WEIGHTS when it is not a state
  // dict or a shape does not fit (then nothing is loaded).
  Napi::Value LoadStateDictJs(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "loadStateDict(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto r = std::make_shared<LoadReport>();
    return Run(
        info.Env(), s, [path, r](SgaEncoderModel& m) { *r = m.Load(path); },
        [r](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("missing", Strings(env, r->missing));
          o.Set("unexpected", Strings(env, r->unexpected));
          o.Set("ignored", Strings(env, r->ignored));
          o.Set("loaded", static_cast<double>(r->loaded));
          o.Set("layout", r->layout);
          return o;
        });
  }

  // Sync, lock-free (an atomic): setTraining(on): later calls run in train mode (BatchNorm
  // batch statistics, dropout); a computation in flight keeps the mode it started with.
  Napi::Value SetTraining(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsBoolean(), code::kArg, "setTraining(on: boolean)");
    s->model.training = info[0].As<Napi::Boolean>().Value();
    return info.Env().Undefined();
  }

  // Async (it changes what a computation reads): freeze({blocks, batchNormAffine,
  // batchNormStats}) -> frozen parameter count. blocks: backbone block names whose parameters
  // stop requiring grad (the others require it again; TypeScript checked the names).
  Napi::Value Freeze(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsObject(), code::kArg, "freeze({blocks, batchNormAffine, batchNormStats})");
    auto o = info[0].As<Napi::Object>();
    auto names = GetStrings(o, "blocks");
    const std::set<std::string> blocks(names.begin(), names.end());
    const bool affine = GetBool(o, "batchNormAffine"), stats = GetBool(o, "batchNormStats");
    auto frozen = std::make_shared<int64_t>(0);
    return Run(
        info.Env(), s,
        [blocks, affine, stats, frozen](SgaEncoderModel& m) { *frozen = m.Freeze(blocks, affine, stats); },
        [frozen](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*frozen)); });
  }

  // Sync, lock-free (a copy of the summary freeze() publishes under its own small lock):
  // parameterGroups() -> {decay, noDecay, frozen: names; decayCount, noDecayCount,
  // frozenCount}. Weight decay applies to conv / linear weights only (spec).
  Napi::Value ParameterGroups(const Napi::CallbackInfo& info, const Shared& s) {
    Napi::Env env = info.Env();
    const auto g = s->model.Summary();
    auto o = Napi::Object::New(env);
    o.Set("decay", Strings(env, g.decay));
    o.Set("noDecay", Strings(env, g.noDecay));
    o.Set("frozen", Strings(env, g.frozen));
    o.Set("decayCount", static_cast<double>(g.decayCount));
    o.Set("noDecayCount", static_cast<double>(g.noDecayCount));
    o.Set("frozenCount", static_cast<double>(g.frozenCount));
    return o;
  }

  // Sync, lock-free (immutable counts; trainable from the summary): parameterCount() ->
  // {total, trainable, backbone, sgaBranch, head}.
  Napi::Value ParameterCount(const Napi::CallbackInfo& info, const Shared& s) {
    const auto& f = s->model.facts;
    auto o = Napi::Object::New(info.Env());
    o.Set("total", static_cast<double>(f.total));
    o.Set("trainable", static_cast<double>(f.total - s->model.Summary().frozenCount));
    o.Set("backbone", static_cast<double>(f.backbone));
    o.Set("sgaBranch", static_cast<double>(f.sgaBranch));
    o.Set("head", static_cast<double>(f.head));
    return o;
  }

  // Async: profile(clips, n, inputSize) -> [{layer, op, ms, macs}]: one eval-mode forward
  // through the folded copy, every op timed in order (the whole batch at once).
  Napi::Value Profile(const Napi::CallbackInfo& info, const Shared& s) {
    auto in = ReadClips(info, s->model, true);
    auto out = std::make_shared<std::vector<OpTime>>();
    return Run(
        info.Env(), s, [x = in.x, out](SgaEncoderModel& m) { *out = m.Profile(x); },
        [out](Napi::Env env) -> Napi::Value {
          auto a = Napi::Array::New(env, out->size());
          for (size_t i = 0; i < out->size(); ++i) {
            const auto& t = (*out)[i];
            auto o = Napi::Object::New(env);
            o.Set("layer", t.layer);
            o.Set("op", t.op);
            o.Set("ms", t.ms);
            o.Set("macs", static_cast<double>(t.macs));
            a.Set(static_cast<uint32_t>(i), o);
          }
          return a;
        });
  }

  // Sync, lock-free (layer shapes only): macsPerClip(inputSize) -> {total, backbone, sgaBranch,
  // head, inputSize}: multiply-accumulates of every convolution and Linear for one clip.
  // Throws ERR_MIST_SHAPE for an input too small for the backbone.
  Napi::Value MacsPerClip(const Napi::CallbackInfo& info, const Shared& s) {
    Napi::Env env = info.Env();
    Check(info.Length() == 1, code::kArg, "macsPerClip(inputSize)");
    const Triple size = ReadSize(info[0]);
    ShapesAt(s->model.net, size);
    auto m = CountMacs(s->model.net, size);
    auto o = Napi::Object::New(env);
    o.Set("total", static_cast<double>(m.total()));
    o.Set("backbone", static_cast<double>(m.backbone));
    o.Set("sgaBranch", static_cast<double>(m.sga));
    o.Set("head", static_cast<double>(m.head));
    o.Set("inputSize", SizeArray(env, c10::IntArrayRef(size.data(), 3)));
    return o;
  }

  // Sync, lock-free (immutable configuration and facts, the atomic mode): describe() ->
  // configuration, shapes at the configured input size, size in bytes.
  Napi::Value Describe(const Napi::CallbackInfo& info, const Shared& s) {
    Napi::Env env = info.Env();
    const auto& m = s->model;
    const auto& c = m.config;
    const auto& shapes = m.facts.shapes;
    auto o = Architecture(env, c);
    o.Set("inputSize", SizeArray(env, c10::IntArrayRef(c.inputSize.data(), 3)));
    o.Set("device", DeviceName(c.device));
    o.Set("training", m.training.load());
    o.Set("fold", c.fold);
    o.Set("onednn", c.onednn && at::hasMKLDNN() && c.device.is_cpu());
    o.Set("blocks", Strings(env, m.net->backbone->blocks));
    o.Set("sgaShape", SizeArray(env, c10::IntArrayRef(shapes.sga.data(), 4)));
    o.Set("mainShape", SizeArray(env, c10::IntArrayRef(shapes.main.data(), 4)));
    o.Set("attentionShape", SizeArray(env, c10::IntArrayRef(shapes.attention.data(), 4)));
    o.Set("featureDim", static_cast<double>(m.net->backbone->out_channels));
    o.Set("sizeBytes", static_cast<double>(m.facts.sizeBytes));
    return o;
  }

  // Async (it replaces what a training step reads): configureTraining({lr, beta1, beta2, eps,
  // weightDecay, gradClip, w1, w0, guidedWeight, accumulate}): a fresh optimiser.
  Napi::Value ConfigureTraining(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsObject(), code::kArg, "configureTraining(options)");
    auto o = info[0].As<Napi::Object>();
    EncoderTrainConfig c;
    c.lr = GetNumber(o, "lr");
    c.beta1 = GetNumber(o, "beta1");
    c.beta2 = GetNumber(o, "beta2");
    c.eps = GetNumber(o, "eps");
    c.weightDecay = GetNumber(o, "weightDecay");
    c.gradClip = GetNumber(o, "gradClip");
    c.w1 = GetNumber(o, "w1");
    c.w0 = GetNumber(o, "w0");
    c.guidedWeight = GetNumber(o, "guidedWeight");
    c.accumulate = GetInt(o, "accumulate");
    Check(c.accumulate >= 1, code::kArg, "accumulate must be a positive integer");
    return Run(
        info.Env(), s, [c](SgaEncoderModel& m) { m.ConfigureTraining(c); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }

  // Async: trainStep(clips [n, 3, T, H, W], n, inputSize, targets [n], lrFactor) -> {loss,
  // mainLoss, guidedLoss, gradNorm, lr, stepped, micro, steps}: one train-mode forward with
  // autograd, backward, and an Adam update every `accumulate` calls. ERR_MIST_ARG naming the
  // clip for a NaN or an infinity in the clips; ERR_MIST_TORCH (nothing changed) for a loss or
  // gradient that is not finite.
  Napi::Value TrainStep(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 5, code::kArg, "trainStep(clips, n, inputSize, targets, lrFactor)");
    const int64_t n = ToInt(info[1], "n");
    Check(n >= 1, code::kShape, "n must be a positive integer");
    const Triple size = ReadSize(info[2]);
    Check(ShapesAt(s->model.net, size).headsFit, code::kShape,
          "at input " + c10::str(c10::IntArrayRef(size.data(), 3)) +
              " the attention map does not fit the main feature map (16 frames are expected)");
    // Copies: the caller may reuse both arrays as soon as the call returns.
    // A NaN would reach the BatchNorm statistics even where max-pooling hides it from the loss.
    auto x = CopyFiniteFloat32(info[0], {n, 3, size[0], size[1], size[2]}, "clips", "clip");
    auto y = CopyFloat32(info[3], {n}, "targets");
    Check(info[4].IsNumber(), code::kArg, "lrFactor must be a number");
    const double factor = info[4].As<Napi::Number>().DoubleValue();
    auto r = std::make_shared<EncoderStepResult>();
    return Run(
        info.Env(), s, [x, y, factor, r](SgaEncoderModel& m) { *r = m.TrainStep(x, y, factor); },
        [r](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("loss", r->loss);
          o.Set("mainLoss", r->mainLoss);
          o.Set("guidedLoss", r->guidedLoss);
          o.Set("gradNorm", r->gradNorm);
          o.Set("lr", r->lr);
          o.Set("stepped", r->stepped);
          o.Set("micro", static_cast<double>(r->micro));
          o.Set("steps", static_cast<double>(r->steps));
          return o;
        });
  }

  // Async: saveTraining(path, meta) -> undefined. The training checkpoint (TrainingCheckpoint),
  // serialised under the model lock, written atomically outside it. Throws ERR_MIST_IO.
  Napi::Value SaveTraining(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 2 && info[0].IsString() && info[1].IsString(), code::kArg,
          "saveTraining(path: string, meta: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value(), meta = info[1].As<Napi::String>().Utf8Value();
    return PromiseWorker::Start(
        info.Env(),
        [s, path, meta]() {
          std::vector<char> bytes;
          {
            std::lock_guard<std::mutex> lock(s->compute);
            bytes = s->model.TrainingCheckpoint(meta);
          }
          WriteAtomically(path, bytes);
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }

  // Async: restoreTraining(path) -> meta (the string saveTraining stored).
  Napi::Value RestoreTraining(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "restoreTraining(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto meta = std::make_shared<std::string>();
    return Run(
        info.Env(), s, [path, meta](SgaEncoderModel& m) { *meta = m.RestoreTraining(path); },
        [meta](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *meta); });
  }

  // Async (weights and statistics change under a computation): stateDict() -> {name:
  // Float32Array} copies of every parameter and buffer.
  Napi::Value StateDict(const Napi::CallbackInfo& info, const Shared& s) {
    auto sd = std::make_shared<std::vector<std::pair<std::string, torch::Tensor>>>();
    return Run(
        info.Env(), s, [sd](SgaEncoderModel& m) { *sd = m.StateDict(); },
        [sd](Napi::Env env) -> Napi::Value { return NamedTensors(env, *sd); });
  }
};

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
        [c, found](Napi::Env env) -> Napi::Value { return *found ? Napi::Value(Architecture(env, *c)) : env.Null(); });
  });
}

// Sync (layer shapes only, nothing built): encoderFootprint({backbone, width, expandK},
// inputSize) -> {parameters, input, sum, saved, peak}: Footprint's float32 element counts, the
// last four per clip. ERR_MIST_SHAPE for an input too small for the backbone.
Napi::Value EncoderFootprintJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 2 && info[0].IsObject(), code::kArg,
          "encoderFootprint({backbone, width, expandK}, inputSize)");
    auto o = info[0].As<Napi::Object>();
    const std::string bb = GetString(o, "backbone");
    Check(bb == "i3d" || bb == "c3d", code::kArg, "backbone must be 'i3d' or 'c3d'");
    const double width = GetNumber(o, "width");
    Check(width > 0 && width <= 64, code::kArg, "width must be in (0, 64]");
    const int64_t expandK = GetInt(o, "expandK");
    Check(expandK >= 1 && expandK <= 4096, code::kArg, "expandK must be in [1, 4096]");
    const auto f =
        FootprintOf(bb == "i3d" ? BackboneKind::kI3d : BackboneKind::kC3d, width, expandK, ReadSize(info[1]));
    auto r = Napi::Object::New(env);
    r.Set("parameters", static_cast<double>(f.parameters));
    r.Set("input", static_cast<double>(f.input));
    r.Set("sum", static_cast<double>(f.sum));
    r.Set("saved", static_cast<double>(f.saved));
    r.Set("peak", static_cast<double>(f.peak));
    return r;
  });
}

// Sync (small): classWeightedBce(logits [n, 2], targets [n], n, w1, w0) -> {loss, grad [n, 2]}:
// the stage-2 loss of one head and its gradient with respect to the logits.
Napi::Value ClassWeightedBceJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 5, code::kArg, "classWeightedBce(logits, targets, n, w1, w0)");
    const int64_t n = ToInt(info[2], "n");
    Check(n >= 1, code::kShape, "n must be a positive integer");
    auto logits = CopyFloat32(info[0], {n, 2}, "logits").requires_grad_(true);
    auto y = CopyFloat32(info[1], {n}, "targets");
    Check(info[3].IsNumber() && info[4].IsNumber(), code::kArg, "w1 and w0 must be numbers");
    auto loss =
        ClassWeightedBce(logits, y, info[3].As<Napi::Number>().DoubleValue(), info[4].As<Napi::Number>().DoubleValue());
    loss.backward();
    auto o = Napi::Object::New(env);
    o.Set("loss", loss.item<double>());
    o.Set("grad", ToFloat32Array(env, logits.grad()));
    return o;
  });
}

}  // namespace

void InitSgaEncoder(Napi::Env env, Napi::Object exports) {
  SgaEncoder::Init(env, exports);
  exports.Set("encoderCheckpointConfig", Napi::Function::New(env, CheckpointConfig, "encoderCheckpointConfig"));
  exports.Set("encoderFootprint", Napi::Function::New(env, EncoderFootprintJs, "encoderFootprint"));
  exports.Set("classWeightedBce", Napi::Function::New(env, ClassWeightedBceJs, "classWeightedBce"));
}

}  // namespace mist
