#include "mil_loss.h"

#include "tensor_io.h"

namespace mist {

static torch::Tensor BagScores(const torch::Tensor& y, const MilLossOptions& o) {
  if (o.lossVariant == LossVariant::kSubBag) return y.view({y.size(0), o.L, o.clips / o.L}).mean(2).amax(1);
  return std::get<0>(y.topk(o.k, 1)).mean(1);
}

MilLossTerms MilRankingLoss(const torch::Tensor& scores, const MilLossOptions& o) {
  Check(scores.dim() == 2 && scores.size(0) == o.normal + o.anomalous && scores.size(1) == o.clips, code::kShape,
        "scores must be [normal + anomalous, clips]");
  auto yn = scores.narrow(0, 0, o.normal);
  auto ya = scores.narrow(0, o.normal, o.anomalous);
  auto sn = BagScores(yn, o);
  auto sa = BagScores(ya, o);
  // Every normal/anomalous pair, margin 1: mean over B_n x B_a pairs (= 1/B^2 sum).
  auto rank = torch::clamp_min(1.0 - sa.view({1, -1}) + sn.view({-1, 1}), 0.0).mean();
  auto sparsity = ya.mean();
  auto smoothness = o.clips > 1 ? (ya.narrow(1, 1, o.clips - 1) - ya.narrow(1, 0, o.clips - 1)).pow(2).mean()
                                : torch::zeros({}, scores.options());
  auto total = rank + o.lambdaSparsity * sparsity + o.lambdaSmoothness * smoothness;
  return {total, rank, sparsity, smoothness};
}

MilLossOptions ReadMilLossOptions(const Napi::Object& obj) {
  MilLossOptions o;
  o.normal = GetInt(obj, "normal");
  o.anomalous = GetInt(obj, "anomalous");
  o.clips = GetInt(obj, "clips");
  // Row counts and the row length size the score tensor: they must be positive.
  Check(o.normal > 0 && o.anomalous > 0 && o.clips > 0, code::kShape, "normal, anomalous and clips must be positive");
  const std::string variant = GetString(obj, "lossVariant");
  Check(variant == "topk" || variant == "subbag", code::kArg, "lossVariant must be 'topk' or 'subbag'");
  o.lossVariant = variant == "subbag" ? LossVariant::kSubBag : LossVariant::kTopK;
  o.k = GetInt(obj, "k");
  o.L = GetInt(obj, "L");
  // k and L size tensors too (and L divides: 0 would crash the process, not raise).
  Check(o.k > 0 && o.L > 0, code::kShape, "k and L must be positive");
  o.lambdaSparsity = GetNumber(obj, "lambdaSparsity");
  o.lambdaSmoothness = GetNumber(obj, "lambdaSmoothness");
  return o;
}

static Napi::Value MilRankingLossJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 2 && info[1].IsObject(), code::kArg, "milRankingLoss(scores, options)");
    auto o = ReadMilLossOptions(info[1].As<Napi::Object>());
    auto scores = CopyFloat32(info[0], {o.normal + o.anomalous, o.clips}, "scores");
    struct Result {
      double loss, rank, sparsity, smoothness;
      torch::Tensor grad;
    };
    auto r = std::make_shared<Result>();
    return PromiseWorker::Start(
        env,
        [scores, o, r]() mutable {
          torch::AutoGradMode enable(true);
          scores.requires_grad_(true);
          auto t = MilRankingLoss(scores, o);
          t.total.backward();
          r->loss = t.total.item<double>();
          r->rank = t.rank.item<double>();
          r->sparsity = t.sparsity.item<double>();
          r->smoothness = t.smoothness.item<double>();
          r->grad = scores.grad();
        },
        [r](Napi::Env env) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("loss", r->loss);
          out.Set("rank", r->rank);
          out.Set("sparsity", r->sparsity);
          out.Set("smoothness", r->smoothness);
          out.Set("grad", ToFloat32Array(env, r->grad));
          return out;
        });
  });
}

void InitMilLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("milRankingLoss", Napi::Function::New(env, MilRankingLossJs, "milRankingLoss"));
}

}  // namespace mist
