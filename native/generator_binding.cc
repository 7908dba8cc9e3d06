// JS class Generator: the stage-1 generator (native/generator.h) behind the JS boundary.
#include "binding.h"
#include "generator.h"
#include "mil_loss.h"

namespace mist {

namespace {

class Generator : public ModelBinding<Generator, GeneratorModel> {
 public:
  static constexpr const char* kName = "Generator";

  // Sync: {featureDim, hidden: [h1, h2], dropout, seed, lr, weightDecay, gradClip, device,
  // checkpoint?} -> config; with a checkpoint, featureDim and hidden are not read (the file's
  // win). Throws ERR_MIST_ARG for a missing field, ERR_MIST_DEVICE.
  static GeneratorConfig ReadOptions(const Napi::Object& o) {
    GeneratorConfig c;
    auto checkpoint = o.Get("checkpoint");
    if (!checkpoint.IsUndefined()) {
      c.checkpoint = GetString(o, "checkpoint");
    } else {
      c.featureDim = GetInt(o, "featureDim");
      auto hidden = GetInts(o, "hidden", 2);
      c.hidden = {hidden[0], hidden[1]};
    }
    c.dropout = GetNumber(o, "dropout");
    c.seed = static_cast<uint64_t>(GetInt(o, "seed"));
    c.lr = GetNumber(o, "lr");
    c.weightDecay = GetNumber(o, "weightDecay");
    c.gradClip = GetNumber(o, "gradClip");
    c.device = ParseDevice(GetString(o, "device"));
    return c;
  }
  static std::vector<char> Serialise(GeneratorModel& m) { return m.Checkpoint(); }

  static void Init(Napi::Env env, Napi::Object exports) {
    Define(env, exports,
           {Bind<&Generator::Forward>("forward"), Bind<&Generator::TrainStep>("trainStep"),
            Bind<&Generator::Describe>("describe"), Bind<&Generator::Parameters>("parameters"),
            Bind<&Generator::KeepBest>("keepBest"), Bind<&Generator::UseBest>("useBest"),
            Bind<&Generator::SaveBest>("saveBest"), Bind<&Generator::SaveTraining>("saveTraining"),
            Bind<&Generator::RestoreTraining>("restoreTraining"), Bind<&Generator::TrainingMeta>("trainingMeta")});
  }

  explicit Generator(const Napi::CallbackInfo& info) : ModelBinding(info) {}

 private:
  // Async: forward(x: Float32Array [rows, featureDim], rows, {mode: 'train' | 'eval'}) ->
  // Float32Array [rows] of scores in (0, 1). x is copied here, on the JS thread: the caller may
  // overwrite, transfer or detach it as soon as the call returns.
  // Throws ERR_MIST_DTYPE / ERR_MIST_SHAPE, and ERR_MIST_ARG naming the row for a NaN or an
  // infinity in x.
  Napi::Value Forward(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 3 && info[2].IsObject(), code::kArg, "forward(x: Float32Array, rows: number, {mode})");
    const int64_t rows = ToInt(info[1], "rows");
    const bool train = GetString(info[2].As<Napi::Object>(), "mode") == "train";
    auto x = CopyFiniteFloat32(info[0], {rows, s->model.config().featureDim}, "x", "row");
    auto out = std::make_shared<torch::Tensor>();
    return Run(
        info.Env(), s, [x, train, out](GeneratorModel& m) { *out = m.Forward(x, train); },
        [out](Napi::Env env) -> Napi::Value { return ToFloat32Array(env, *out); });
  }

  // Async: trainStep(features [(normal + anomalous) * clips, featureDim], lossOptions) ->
  // {loss, rank, sparsity, smoothness, gradNorm, step}. Features are copied, as forward's.
  // Throws ERR_MIST_ARG / ERR_MIST_DTYPE / ERR_MIST_SHAPE, ERR_MIST_TORCH for a loss or gradient
  // that is not finite (nothing changed then).
  Napi::Value TrainStep(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 2 && info[1].IsObject(), code::kArg, "trainStep(features, options)");
    auto o = ReadMilLossOptions(info[1].As<Napi::Object>());
    auto x = CopyFloat32(info[0], {(o.normal + o.anomalous) * o.clips, s->model.config().featureDim}, "features");
    auto r = std::make_shared<TrainStepResult>();
    return Run(
        info.Env(), s, [x, o, r](GeneratorModel& m) { *r = m.TrainStep(x, o); },
        [r](Napi::Env env) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("loss", r->loss);
          out.Set("rank", r->rank);
          out.Set("sparsity", r->sparsity);
          out.Set("smoothness", r->smoothness);
          out.Set("gradNorm", r->gradNorm);
          out.Set("step", static_cast<double>(r->step));
          return out;
        });
  }

  // Sync, lock-free (immutable configuration, atomic step count): describe() -> {featureDim,
  // hidden, dropout, device, steps, parameterCount, sizeBytes}.
  Napi::Value Describe(const Napi::CallbackInfo& info, const Shared& s) {
    Napi::Env env = info.Env();
    const auto& m = s->model;
    const auto& c = m.config();
    auto hidden = Napi::Array::New(env, 2);
    hidden.Set(0u, static_cast<double>(c.hidden[0]));
    hidden.Set(1u, static_cast<double>(c.hidden[1]));
    auto o = Napi::Object::New(env);
    o.Set("featureDim", static_cast<double>(c.featureDim));
    o.Set("hidden", hidden);
    o.Set("dropout", c.dropout);
    o.Set("device", DeviceName(c.device));
    o.Set("steps", static_cast<double>(m.steps()));
    o.Set("parameterCount", static_cast<double>(m.parameterCount()));
    o.Set("sizeBytes", static_cast<double>(m.parameterCount() * 4 * 2));  // weights + Adagrad state
    return o;
  }

  // Async: keepBest() -> undefined: a copy of the weights and the step count (the best so far).
  Napi::Value KeepBest(const Napi::CallbackInfo& info, const Shared& s) {
    return Run(
        info.Env(), s, [](GeneratorModel& m) { m.KeepBest(); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }

  // Async: useBest() -> undefined: the kept weights become the model's (fresh optimiser state).
  // Throws ERR_MIST_ARG when none were kept.
  Napi::Value UseBest(const Napi::CallbackInfo& info, const Shared& s) {
    return Run(
        info.Env(), s, [](GeneratorModel& m) { m.UseBest(); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }

  // Async: saveBest(path) -> undefined: the kept weights as save() writes them, atomically.
  // Throws ERR_MIST_ARG when none were kept, ERR_MIST_IO.
  Napi::Value SaveBest(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "saveBest(path: string)");
    return WriteWith(info.Env(), s, info[0].As<Napi::String>().Utf8Value(),
                     [](GeneratorModel& m) { return m.BestCheckpoint(); });
  }

  // Async: saveTraining(path, meta) -> undefined: the training checkpoint (TrainingCheckpoint),
  // serialised under the model lock, written atomically outside it. Throws ERR_MIST_IO.
  Napi::Value SaveTraining(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 2 && info[0].IsString() && info[1].IsString(), code::kArg,
          "saveTraining(path: string, meta: string)");
    const std::string meta = info[1].As<Napi::String>().Utf8Value();
    return WriteWith(info.Env(), s, info[0].As<Napi::String>().Utf8Value(),
                     [meta](GeneratorModel& m) { return m.TrainingCheckpoint(meta); });
  }

  // Async: restoreTraining(path) -> meta (the string saveTraining stored). Throws ERR_MIST_IO,
  // ERR_MIST_WEIGHTS (nothing changed then).
  Napi::Value RestoreTraining(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "restoreTraining(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto meta = std::make_shared<std::string>();
    return Run(
        info.Env(), s, [path, meta](GeneratorModel& m) { *meta = m.RestoreTraining(path); },
        [meta](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *meta); });
  }

  // Async: trainingMeta(path) -> the meta string of a saveTraining() file, nothing restored.
  // Throws ERR_MIST_IO, ERR_MIST_WEIGHTS.
  Napi::Value TrainingMeta(const Napi::CallbackInfo& info, const Shared&) {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "trainingMeta(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto meta = std::make_shared<std::string>();
    return PromiseWorker::Start(
        info.Env(), [path, meta]() { *meta = GeneratorModel::TrainingMeta(path); },
        [meta](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *meta); });
  }

  // Bytes from `serialise(model)` under the model lock, written to `path` atomically outside it.
  template <typename Serialise>
  static Napi::Value WriteWith(Napi::Env env, const Shared& s, const std::string& path, Serialise serialise) {
    return PromiseWorker::Start(
        env,
        [s, path, serialise]() {
          std::vector<char> bytes;
          {
            std::lock_guard<std::mutex> lock(s->compute);
            bytes = serialise(s->model);
          }
          WriteAtomically(path, bytes);
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }

  // Async (the weights change under a training step): parameters() -> {name: Float32Array}
  // copies of the weights by PyTorch name (fc1.weight, ...).
  Napi::Value Parameters(const Napi::CallbackInfo& info, const Shared& s) {
    auto params = std::make_shared<std::vector<std::pair<std::string, torch::Tensor>>>();
    return Run(
        info.Env(), s, [params](GeneratorModel& m) { *params = m.Parameters(); },
        [params](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          for (auto& p : *params) o.Set(p.first, ToFloat32Array(env, p.second));
          return o;
        });
  }
};

}  // namespace

void InitGenerator(Napi::Env env, Napi::Object exports) { Generator::Init(env, exports); }

}  // namespace mist
