#include "mil_loss.h"

#include "tensor_io.h"

namespace mist {

static torch::Tensor BagScores(const torch::Tensor& y, const MilLossOptions& o) {
  if (o.paper) return y.view({y.size(0), o.subBags, o.clips / o.subBags}).mean(2).amax(1);
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
  o.normal = GetInt(obj, "normal", 1, 1 << 20);
  o.anomalous = GetInt(obj, "anomalous", 1, 1 << 20);
  o.clips = GetInt(obj, "clips", 1, 1 << 24);
  const std::string variant = GetString(obj, "variant", "topk");
  Check(variant == "topk" || variant == "subbag", code::kArg, "variant must be 'topk' or 'subbag'");
  o.paper = variant == "subbag";
  o.k = GetInt(obj, "k", 1, o.clips, 1);
  o.subBags = GetInt(obj, "subBags", 1, o.clips, 1);
  Check(!o.paper || o.clips % o.subBags == 0, code::kArg,
        "clips (" + std::to_string(o.clips) + ") must be a multiple of subBags (" + std::to_string(o.subBags) + ")");
  o.lambdaSparsity = GetNumber(obj, "lambdaSparsity", 0.0);
  o.lambdaSmoothness = GetNumber(obj, "lambdaSmoothness", 0.0);
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
