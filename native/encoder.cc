#include "encoder.h"
#include "encoder_train.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "errors.h"
#include "torch_pickle.h"

namespace mist {

int64_t ScaledChannels(int64_t c, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(c) * width + 0.5)));
}

std::array<int64_t, 2> SamePad(int64_t k, int64_t s, int64_t n, bool temporal) {
  // TF "SAME" as the I3D port computes it: static along H and W; along T the total depends
  // on T mod stride (spec), so an odd clip length pads more.
  const int64_t total =
      (temporal && s > 1 && n % s != 0) ? std::max<int64_t>(k - n % s, 0) : std::max<int64_t>(k - s, 0);
  return {total / 2, total - total / 2};
}

using Pads = std::array<std::array<int64_t, 2>, 3>;

static Pads SamePads(const Triple& n, const Triple& k, const Triple& s) {
  return {SamePad(k[0], s[0], n[0], true), SamePad(k[1], s[1], n[1], false), SamePad(k[2], s[2], n[2], false)};
}

static Triple Spatial(const torch::Tensor& x) { return {x.size(2), x.size(3), x.size(4)}; }

// Convolution with per-side zero padding: the symmetric part goes into the convolution's own
// padding (no copy); only an asymmetric remainder is padded explicitly.
static torch::Tensor ConvPadded(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, const Triple& s,
                                const Pads& pads) {
  std::vector<int64_t> extra(6, 0);  // constant_pad_nd order: W before/after, H, T
  std::vector<int64_t> pad(3);
  bool any = false;
  for (int d = 0; d < 3; ++d) {
    pad[d] = std::min(pads[d][0], pads[d][1]);
    extra[2 * (2 - d)] = pads[d][0] - pad[d];
    extra[2 * (2 - d) + 1] = pads[d][1] - pad[d];
    any = any || extra[2 * (2 - d)] || extra[2 * (2 - d) + 1];
  }
  const auto in = any ? at::constant_pad_nd(x, extra, 0) : x;
  return at::conv3d(in, w, b, {s[0], s[1], s[2]}, pad);
}

// Output length of a ceil-mode max-pool, PyTorch's rule (a last window that would start in
// the right padding is dropped).
static int64_t CeilPoolOut(int64_t n, int64_t k, int64_t s, int64_t p) {
  if (n + 2 * p < k) return 0;  // no window fits
  int64_t o = (n + 2 * p - k + s - 1) / s + 1;
  if ((o - 1) * s >= n + p) --o;
  return o;
}

// "SAME" max-pool with zero padding and ceil mode, on the plain or the oneDNN layout. Every
// pool of I3D follows a ReLU, so its input is >= 0 and a zero pad equals no pad (or the -inf
// pad of the pool's own padding) whenever the windows agree: then the pad copy is skipped.
// Only the rare remaining case pads explicitly (through the plain layout: oneDNN's cannot be
// padded).
static torch::Tensor PoolSame(const torch::Tensor& x, const Triple& k, const Triple& s) {
  const Triple n = Spatial(x);
  const Pads pads = SamePads(n, k, s);
  bool symmetric = true, noneBefore = true, sameAsSym = true, sameAsNone = true;
  for (int d = 0; d < 3; ++d) {
    const int64_t want = CeilPoolOut(n[d] + pads[d][0] + pads[d][1], k[d], s[d], 0);
    symmetric = symmetric && pads[d][0] == pads[d][1] && 2 * pads[d][0] <= k[d];
    noneBefore = noneBefore && pads[d][0] == 0;
    sameAsSym = sameAsSym && CeilPoolOut(n[d], k[d], s[d], pads[d][0]) == want;
    sameAsNone = sameAsNone && CeilPoolOut(n[d], k[d], s[d], 0) == want;
  }
  const std::vector<int64_t> kk(k.begin(), k.end()), ss(s.begin(), s.end());
  if (symmetric && sameAsSym) return at::max_pool3d(x, kk, ss, {pads[0][0], pads[1][0], pads[2][0]}, 1, true);
  if (noneBefore && sameAsNone) return at::max_pool3d(x, kk, ss, 0, 1, true);
  std::vector<int64_t> extra{pads[2][0], pads[2][1], pads[1][0], pads[1][1], pads[0][0], pads[0][1]};
  if (!x.is_mkldnn()) return at::max_pool3d(at::constant_pad_nd(x, extra, 0), kk, ss, 0, 1, true);
  return at::max_pool3d(at::constant_pad_nd(x.to_dense(), extra, 0), kk, ss, 0, 1, true).to_mkldnn();
}

// ---- Modules -------------------------------------------------------------------------------

Unit3dImpl::Unit3dImpl(int64_t cin, int64_t cout, Triple k, Triple s) : k(k), s(s) {
  conv3d = register_module(
      "conv3d", torch::nn::Conv3d(
                    torch::nn::Conv3dOptions(cin, cout, {k[0], k[1], k[2]}).stride({s[0], s[1], s[2]}).bias(false)));
  batch3d = register_module("batch3d", torch::nn::BatchNorm3d(torch::nn::BatchNorm3dOptions(cout).eps(1e-3)));
}

torch::Tensor Unit3dImpl::forward(const torch::Tensor& x) {
  auto y = ConvPadded(x, conv3d->weight, {}, s, SamePads(Spatial(x), k, s));
  return torch::relu(batch3d->forward(y));
}

torch::Tensor TfMaxPoolImpl::forward(const torch::Tensor& x) { return PoolSame(x, k, s); }

MixedImpl::MixedImpl(int64_t cin, const std::array<int64_t, 6>& c) {
  const Triple one{1, 1, 1}, three{3, 3, 3};
  branch_0 = register_module("branch_0", Unit3d(cin, c[0], one, one));
  b1a = Unit3d(cin, c[1], one, one);
  b1b = Unit3d(c[1], c[2], three, one);
  b2a = Unit3d(cin, c[3], one, one);
  b2b = Unit3d(c[3], c[4], three, one);
  pool = TfMaxPool(three, one);
  b3 = Unit3d(cin, c[5], one, one);
  // Sequentials only to carry the names branch_1.0, branch_1.1, ..., branch_3.1.
  register_module("branch_1", torch::nn::Sequential(b1a, b1b));
  register_module("branch_2", torch::nn::Sequential(b2a, b2b));
  register_module("branch_3", torch::nn::Sequential(pool, b3));
  out_channels = c[0] + c[2] + c[4] + c[5];
}

torch::Tensor MixedImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch_0(x), b1b(b1a(x)), b2b(b2a(x)), b3(pool(x))}, 1);
}

const std::vector<LayerSpec>& BackboneLayers(BackboneKind kind) {
  using L = LayerSpec;
  static const std::vector<LayerSpec> i3d = {
      {"conv3d_1a_7x7", L::kUnit, {7, 7, 7}, {2, 2, 2}, 64, {}, true},
      {"maxPool3d_2a_3x3", L::kPool, {1, 3, 3}, {1, 2, 2}, 0, {}, true},
      {"conv3d_2b_1x1", L::kUnit, {1, 1, 1}, {1, 1, 1}, 64, {}, true},
      {"conv3d_2c_3x3", L::kUnit, {3, 3, 3}, {1, 1, 1}, 192, {}, true},
      {"maxPool3d_3a_3x3", L::kPool, {1, 3, 3}, {1, 2, 2}, 0, {}, true},
      {"mixed_3b", L::kMixed, {}, {}, 0, {64, 96, 128, 16, 32, 32}, true},
      {"mixed_3c", L::kMixed, {}, {}, 0, {128, 128, 192, 32, 96, 64}, true},
      {"maxPool3d_4a_3x3", L::kPool, {3, 3, 3}, {2, 2, 2}, 0, {}, true},
      {"mixed_4b", L::kMixed, {}, {}, 0, {192, 96, 208, 16, 48, 64}, true},
      {"mixed_4c", L::kMixed, {}, {}, 0, {160, 112, 224, 24, 64, 64}, true},
      {"mixed_4d", L::kMixed, {}, {}, 0, {128, 128, 256, 24, 64, 64}, true},
      {"mixed_4e", L::kMixed, {}, {}, 0, {112, 144, 288, 32, 64, 64}, true},
      {"mixed_4f", L::kMixed, {}, {}, 0, {256, 160, 320, 32, 128, 128}, true, true},
      {"maxPool3d_5a_2x2", L::kPool, {2, 2, 2}, {2, 2, 2}, 0, {}, true},
      {"mixed_5b", L::kMixed, {}, {}, 0, {256, 160, 320, 32, 128, 128}, true},
      {"mixed_5c", L::kMixed, {}, {}, 0, {384, 192, 384, 48, 128, 128}, true},
  };
  static const std::vector<LayerSpec> c3d = {
      {"conv1a", L::kConv, {3, 3, 3}, {1, 1, 1}, 64},
      {"pool1", L::kPool, {1, 2, 2}, {1, 2, 2}},
      {"conv2a", L::kConv, {3, 3, 3}, {1, 1, 1}, 128},
      {"pool2", L::kPool, {2, 2, 2}, {2, 2, 2}},
      {"conv3a", L::kConv, {3, 3, 3}, {1, 1, 1}, 256},
      {"conv3b", L::kConv, {3, 3, 3}, {1, 1, 1}, 256},
      {"pool3", L::kPool, {2, 2, 2}, {2, 2, 2}},
      {"conv4a", L::kConv, {3, 3, 3}, {1, 1, 1}, 512},
      {"conv4b", L::kConv, {3, 3, 3}, {1, 1, 1}, 512, {}, false, true},
      {"pool4", L::kPool, {2, 2, 2}, {2, 2, 2}},
      {"conv5a", L::kConv, {3, 3, 3}, {1, 1, 1}, 512},
      {"conv5b", L::kConv, {3, 3, 3}, {1, 1, 1}, 512},
  };
  return kind == BackboneKind::kI3d ? i3d : c3d;
}

std::string BackboneName(BackboneKind kind) { return kind == BackboneKind::kI3d ? "i3d" : "c3d"; }

static std::array<int64_t, 6> ScaledPlan(const std::array<int64_t, 6>& c, double width) {
  std::array<int64_t, 6> out{};
  for (int i = 0; i < 6; ++i) out[i] = ScaledChannels(c[i], width);
  return out;
}

BackboneImpl::BackboneImpl(BackboneKind kind, double width) : kind(kind) {
  int64_t cin = 3;
  for (const auto& l : BackboneLayers(kind)) {
    std::shared_ptr<torch::nn::Module> m;
    switch (l.kind) {
      case LayerSpec::kUnit: {
        const int64_t cout = ScaledChannels(l.cout, width);
        m = register_module(l.name, Unit3d(cin, cout, l.k, l.s));
        cin = cout;
        blocks.push_back(l.name);
        break;
      }
      case LayerSpec::kConv: {
        const int64_t cout = ScaledChannels(l.cout, width);
        m = register_module(l.name, torch::nn::Conv3d(torch::nn::Conv3dOptions(cin, cout, 3).padding(1)));
        cin = cout;
        blocks.push_back(l.name);
        break;
      }
      case LayerSpec::kMixed: {
        auto mixed = Mixed(cin, ScaledPlan(l.mixed, width));
        cin = mixed->out_channels;
        m = register_module(l.name, mixed);
        blocks.push_back(l.name);
        break;
      }
      case LayerSpec::kPool:
        if (l.same) m = register_module(l.name, TfMaxPool(l.k, l.s));
        break;
    }
    if (l.tap) sga_channels = cin;
    layers.push_back(m);
  }
  out_channels = cin;
}

std::array<torch::Tensor, 2> BackboneImpl::forward(torch::Tensor x) {
  const auto& spec = BackboneLayers(kind);
  torch::Tensor tap;
  for (size_t i = 0; i < spec.size(); ++i) {
    const auto& l = spec[i];
    switch (l.kind) {
      case LayerSpec::kUnit:
        x = std::dynamic_pointer_cast<Unit3dImpl>(layers[i])->forward(x);
        break;
      case LayerSpec::kMixed:
        x = std::dynamic_pointer_cast<MixedImpl>(layers[i])->forward(x);
        break;
      case LayerSpec::kConv:
        x = torch::relu(std::dynamic_pointer_cast<torch::nn::Conv3dImpl>(layers[i])->forward(x));
        break;
      case LayerSpec::kPool:
        x = l.same ? PoolSame(x, l.k, l.s) : at::max_pool3d(x, {l.k[0], l.k[1], l.k[2]}, {l.s[0], l.s[1], l.s[2]});
        break;
    }
    if (l.tap) tap = x;
  }
  return {tap, x};
}

SgaBranchImpl::SgaBranchImpl(int64_t c, int64_t k) : k(k) {
  conv = torch::nn::Conv3d(torch::nn::Conv3dOptions(c, c, 3).stride({1, 2, 2}).padding({0, 1, 1}));
  att1 = torch::nn::Conv3d(torch::nn::Conv3dOptions(c, 2 * k, 1));
  att2 = torch::nn::Conv3d(torch::nn::Conv3dOptions(2 * k, 2 * k, 1));
  att3 = torch::nn::Conv3d(torch::nn::Conv3dOptions(2 * k, 1, {2, 1, 1}));
  register_module("Conv_Atten", torch::nn::Sequential(conv, torch::nn::ReLU()));
  register_module("Att_1", torch::nn::Sequential(att1, torch::nn::ReLU()));
  register_module("Att_2", att2);
  register_module("Att_3", torch::nn::Sequential(att3, torch::nn::Sigmoid()));
}

SgaNetImpl::SgaNetImpl(const EncoderConfig& c) : config(c) {
  backbone = register_module("backbone", Backbone(c.backbone, c.width));
  Conv_Atten = register_module("Conv_Atten", SgaBranch(backbone->sga_channels, c.expandK));
  fc = torch::nn::Linear(backbone->out_channels, 2);
  Regressor = register_module("Regressor", torch::nn::Sequential(torch::nn::Dropout(c.dropout), fc));
}

HeadWeights ModuleHeadWeights(SgaNetImpl& net) {
  auto& b = *net.Conv_Atten;
  return {b.conv->weight, b.conv->bias,   b.att1->weight, b.att1->bias, b.att2->weight, b.att2->bias, b.att3->weight,
          b.att3->bias,   net.fc->weight, net.fc->bias,   b.k};
}

SgaOutput RunHeads(const HeadWeights& h, const torch::Tensor& f1, const torch::Tensor& mainTap, double dropout,
                   at::Generator* gen) {
  const int64_t n = f1.size(0);
  auto f2 = at::relu(at::conv3d(f1, h.att1W, h.att1B));
  // The guided head: GAP of the 2K detectors, seen as [normal K | anomalous K], mean over K.
  auto guided = at::conv3d(f2, h.att2W, h.att2B).mean({2, 3, 4}).view({n, 2, -1}).mean(-1);
  auto a = at::sigmoid(at::conv3d(f2, h.att3W, h.att3B));
  Check(
      (a.size(2) == 1 || a.size(2) == mainTap.size(2)) && a.size(3) == mainTap.size(3) && a.size(4) == mainTap.size(4),
      code::kShape, "the attention map does not fit the main feature map at this input size");
  auto feature = (mainTap + a * mainTap).mean({2, 3, 4});
  auto x = feature;
  if (gen && dropout > 0) {
    auto mask = torch::empty(x.sizes(), torch::kFloat32).bernoulli_(1.0 - dropout, *gen).div_(1.0 - dropout);
    x = x * mask.to(x.device(), /*non_blocking=*/true);
  }
  return {at::linear(x, h.fcW, h.fcB), guided, a, feature};
}

SgaOutput SgaNetImpl::forward(const torch::Tensor& x, at::Generator* gen) {
  auto t = backbone->forward(x);
  auto h = ModuleHeadWeights(*this);
  auto f1 = at::relu(at::conv3d(t[0], h.att0W, h.att0B, {1, 2, 2}, {0, 1, 1}));
  return RunHeads(h, f1, t[1], config.dropout, is_training() ? gen : nullptr);
}

// ---- Shapes and MACs -----------------------------------------------------------------------

static int64_t Vol(const Triple& t) { return t[0] * t[1] * t[2]; }

namespace {
// One pass over the layer table at an input size: output shapes, multiply-accumulates,
// parameter counts and the activation elements one clip makes (Footprint).
struct Walk {
  Triple n;
  int64_t c;
  int64_t macs = 0;
  int64_t params = 0;  // parameters and buffers (BatchNorm's running statistics), elements
  int64_t sum = 0;     // every op's output, elements
  int64_t saved = 0;   // what autograd keeps for backward, elements
  int64_t peak = 0;    // the most elements live around one layer
  std::string failed;
  int64_t Elements() const { return c * Vol(n); }
  // A convolution; `unit` adds I3D's BatchNorm and ReLU (conv, BN and ReLU outputs kept for
  // backward), else a bias and a ReLU when `relu`. `padCopy`: an asymmetric pad copies the input.
  void Conv(const std::string& name, int64_t cout, const Triple& k, const Triple& s, const Pads& p, bool unit = false,
            bool relu = true) {
    const int64_t in = Elements();
    bool padCopy = false;
    Triple padded{};
    Triple o{};
    for (int d = 0; d < 3; ++d) {
      padCopy = padCopy || p[d][0] != p[d][1];
      padded[d] = n[d] + p[d][0] + p[d][1];
      const int64_t span = padded[d] - k[d];
      o[d] = span < 0 ? 0 : span / s[d] + 1;
    }
    if (failed.empty() && (o[0] < 1 || o[1] < 1 || o[2] < 1)) failed = name;
    macs += cout * Vol(o) * c * Vol(k);
    params += cout * c * Vol(k) + (unit ? 4 * cout + 2 : cout);  // BatchNorm: 2 affine, 2 running, a step count (int64)
    const int64_t pad = padCopy ? c * Vol(padded) : 0;
    n = o;
    c = cout;
    const int64_t out = Elements();
    const int64_t outs = unit ? 3 : (relu ? 2 : 1);
    sum += pad + outs * out;
    saved += pad + outs * out;
    peak = std::max(peak, in + pad + 2 * out);
  }
  // A max-pool to `o`: its output and (for backward) its int64 indices, two floats each.
  void Pool(const Triple& o) {
    const int64_t in = Elements();
    n = o;
    sum += Elements();
    saved += 3 * Elements();
    peak = std::max(peak, in + Elements());
  }
};
}  // namespace

static Pads Sym(const Triple& p) { return {{{p[0], p[0]}, {p[1], p[1]}, {p[2], p[2]}}}; }

static MacCount WalkNet(BackboneKind kind, double width, int64_t expandK, Triple inputSize, TapShapes* shapes,
                        Footprint* footprint = nullptr) {
  Walk w{inputSize, 3};
  std::array<int64_t, 4> tap{};
  const Triple one{1, 1, 1}, three{3, 3, 3};
  for (const auto& l : BackboneLayers(kind)) {
    switch (l.kind) {
      case LayerSpec::kUnit:
        w.Conv(l.name, ScaledChannels(l.cout, width), l.k, l.s, SamePads(w.n, l.k, l.s), true);
        break;
      case LayerSpec::kConv:
        w.Conv(l.name, ScaledChannels(l.cout, width), l.k, l.s, Sym(one));
        break;
      case LayerSpec::kPool: {
        Triple o{};
        const Pads p = SamePads(w.n, l.k, l.s);
        for (int d = 0; d < 3; ++d) {
          o[d] = l.same ? CeilPoolOut(w.n[d] + p[d][0] + p[d][1], l.k[d], l.s[d], 0)
                        : (w.n[d] < l.k[d] ? 0 : (w.n[d] - l.k[d]) / l.s[d] + 1);
        }
        if (w.failed.empty() && (o[0] < 1 || o[1] < 1 || o[2] < 1)) w.failed = l.name;
        w.Pool(o);
        break;
      }
      case LayerSpec::kMixed: {
        const auto c = ScaledPlan(l.mixed, width);
        const int64_t cin = w.c;
        const Triple n = w.n;
        const Pads same = SamePads(n, three, one);
        // Four branches from the same input (stride-1 "SAME": every one keeps T x H x W),
        // concatenated; each walked from the block's input.
        auto branch = [&](std::initializer_list<std::pair<int64_t, Triple>> convs, bool pool) {
          Walk b{n, cin};
          if (pool) b.Pool(n);
          for (const auto& [cout, k] : convs) b.Conv(l.name, cout, k, one, k == three ? same : Sym({0, 0, 0}), true);
          w.macs += b.macs;
          w.params += b.params;
          w.sum += b.sum;
          w.saved += b.saved;
          return b.peak;
        };
        int64_t branchPeak = 0;
        branchPeak = std::max(branchPeak, branch({{c[0], one}}, false));
        branchPeak = std::max(branchPeak, branch({{c[1], one}, {c[2], three}}, false));
        branchPeak = std::max(branchPeak, branch({{c[3], one}, {c[4], three}}, false));
        branchPeak = std::max(branchPeak, branch({{c[5], one}}, true));
        w.c = c[0] + c[2] + c[4] + c[5];
        const int64_t out = w.Elements();
        w.sum += out;
        w.saved += out;
        // The input, the finished branches (the block's output) and the concatenation, with
        // the busiest branch in flight.
        w.peak = std::max(w.peak, cin * Vol(n) + 2 * out + branchPeak);
        break;
      }
    }
    if (l.tap) tap = {w.c, w.n[0], w.n[1], w.n[2]};
  }
  MacCount m;
  m.backbone = w.macs;
  const std::array<int64_t, 4> main{w.c, w.n[0], w.n[1], w.n[2]};
  // SGA branch on the tap.
  Walk s{{tap[1], tap[2], tap[3]}, tap[0]};
  const int64_t k2 = 2 * expandK;
  s.Conv("Conv_Atten.0", tap[0], three, {1, 2, 2}, Sym({0, 1, 1}));
  s.Conv("Att_1.0", k2, one, one, Sym({0, 0, 0}));
  const Triple f2 = s.n;
  s.Conv("Att_2", k2, one, one, Sym({0, 0, 0}), false, false);
  s.n = f2;
  s.c = k2;
  s.Conv("Att_3.0", 1, {2, 1, 1}, one, Sym({0, 0, 0}));
  m.sga = s.macs;
  m.head = main[0] * 2;
  if (shapes) {
    shapes->sga = tap;
    shapes->main = main;
    shapes->attention = {1, s.n[0], s.n[1], s.n[2]};
    Check(w.failed.empty(), code::kShape,
          "input " + std::to_string(inputSize[0]) + "x" + std::to_string(inputSize[1]) + "x" +
              std::to_string(inputSize[2]) + " is too small for " + BackboneName(kind) + ": " + w.failed +
              " would have an empty output");
    shapes->headsFit = s.failed.empty() && (s.n[0] == 1 || s.n[0] == main[1]) && s.n[1] == main[2] && s.n[2] == main[3];
  }
  if (footprint) {
    // The attended main map (main + a * main) and its mean: two more main-sized tensors.
    const int64_t mainElements = main[0] * main[1] * main[2] * main[3];
    footprint->parameters = w.params + s.params + main[0] * 2 + 2;
    footprint->input = 3 * Vol(inputSize);
    footprint->sum = w.sum + s.sum + 2 * mainElements;
    footprint->saved = w.saved + s.saved + 2 * mainElements;
    footprint->peak = std::max(w.peak, s.peak);
  }
  return m;
}

MacCount CountMacs(const SgaNet& net, Triple inputSize) {
  return WalkNet(net->backbone->kind, net->config.width, net->config.expandK, inputSize, nullptr);
}

TapShapes ShapesAt(const SgaNet& net, Triple inputSize) {
  TapShapes shapes;
  WalkNet(net->backbone->kind, net->config.width, net->config.expandK, inputSize, &shapes);
  return shapes;
}

Footprint FootprintOf(BackboneKind kind, double width, int64_t expandK, Triple inputSize) {
  TapShapes shapes;
  Footprint f;
  WalkNet(kind, width, expandK, inputSize, &shapes, &f);
  return f;
}

// ---- The folded evaluation copy --------------------------------------------------------------

static std::vector<int64_t> Vec(const Triple& t) { return {t[0], t[1], t[2]}; }

// Zero padding, per side, in constant_pad_nd's order (W, H, T).
static std::vector<int64_t> PadSpec(const Pads& p) { return {p[2][0], p[2][1], p[1][0], p[1][1], p[0][0], p[0][1]}; }

torch::Tensor InferencePlan::Conv::run(const torch::Tensor& x, bool relu) const {
  const Pads pads = same ? SamePads(Spatial(x), k, s) : Sym(pad);
  torch::Tensor y;
  if (x.is_mkldnn()) {
    const Triple p{pads[0][0], pads[1][0], pads[2][0]};
    if (pads[0][0] == pads[0][1] && pads[1][0] == pads[1][1] && pads[2][0] == pads[2][1]) {
      y = at::mkldnn_convolution(x, packed.defined() && p == pad ? packed : weight, bias, Vec(p), Vec(s), {1, 1, 1}, 1);
    } else {  // not reached at the paper's sizes: pad in the plain layout
      auto padded = at::constant_pad_nd(x.to_dense(), PadSpec(pads), 0).to_mkldnn();
      y = at::mkldnn_convolution(padded, weight, bias, {0, 0, 0}, Vec(s), {1, 1, 1}, 1);
    }
  } else {
    y = ConvPadded(x, weight, bias, s, pads);
  }
  return relu ? y.relu_() : y;
}

// BatchNorm folded into the convolution before it: w' = w * g / sqrt(v + eps), b' = b - m * g /
// sqrt(v + eps), computed in float64 so the fold itself adds no error worth the name.
static InferencePlan::Conv FoldUnit(Unit3dImpl& u) {
  auto& bn = *u.batch3d;
  auto scale = bn.weight.to(torch::kFloat64) / (bn.running_var.to(torch::kFloat64) + bn.options.eps()).sqrt();
  InferencePlan::Conv c;
  c.weight = (u.conv3d->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1, 1})).to(torch::kFloat32).contiguous();
  c.bias = (bn.bias.to(torch::kFloat64) - bn.running_mean.to(torch::kFloat64) * scale).to(torch::kFloat32);
  c.k = u.k;
  c.s = u.s;
  c.same = true;
  // The padding a stride-1 "SAME" convolution gets whatever the input (odd kernels).
  for (int d = 0; d < 3; ++d) c.pad[d] = SamePad(u.k[d], u.s[d], 2 * u.s[d], d == 0)[0];
  return c;
}

static InferencePlan::Conv PlainConv(const torch::nn::Conv3dImpl& m, Triple pad) {
  InferencePlan::Conv c;
  c.weight = m.weight.detach().clone();
  c.bias = m.bias.detach().clone();
  const auto& o = m.options;
  c.k = {(*o.kernel_size())[0], (*o.kernel_size())[1], (*o.kernel_size())[2]};
  c.s = {(*o.stride())[0], (*o.stride())[1], (*o.stride())[2]};
  c.pad = pad;
  return c;
}

static void Pack(InferencePlan::Conv& c) {
  c.packed = at::mkldnn_reorder_conv3d_weight(c.weight.to_mkldnn(), Vec(c.pad), Vec(c.s), {1, 1, 1}, 1);
}

InferencePlan::InferencePlan(SgaNet& net, bool onednn) {
  torch::NoGradGuard no_grad;
  onednn_ = onednn && at::hasMKLDNN() && net->fc->weight.device().is_cpu();
  const auto& spec = BackboneLayers(net->config.backbone);
  for (size_t i = 0; i < spec.size(); ++i) {
    const auto& l = spec[i];
    Layer p;
    p.kind = l.kind;
    p.k = l.k;
    p.s = l.s;
    p.same = l.same;
    p.tap = l.tap;
    names_.push_back(l.name);
    auto& m = net->backbone->layers[i];
    if (l.kind == LayerSpec::kUnit) {
      p.conv = FoldUnit(*std::dynamic_pointer_cast<Unit3dImpl>(m));
      if (i == 0) {  // the stem: its input is padded explicitly (3 channels, cheap)
        p.conv.same = false;
        p.conv.pad = {0, 0, 0};
      }
    } else if (l.kind == LayerSpec::kConv) {
      p.conv = PlainConv(*std::dynamic_pointer_cast<torch::nn::Conv3dImpl>(m), {1, 1, 1});
    } else if (l.kind == LayerSpec::kMixed) {
      auto& x = *std::dynamic_pointer_cast<MixedImpl>(m);
      p.b0 = FoldUnit(*x.branch_0);
      p.b1a = FoldUnit(*x.b1a);
      p.b1b = FoldUnit(*x.b1b);
      p.b2a = FoldUnit(*x.b2a);
      p.b2b = FoldUnit(*x.b2b);
      p.b3 = FoldUnit(*x.b3);
      // Dense path: the three 1x1 convolutions that read the block's input become one.
      p.fused = p.b0;
      p.fused.weight = torch::cat({p.b0.weight, p.b1a.weight, p.b2a.weight}, 0).contiguous();
      p.fused.bias = torch::cat({p.b0.bias, p.b1a.bias, p.b2a.bias}, 0);
    }
    if (onednn_) {
      for (auto* c : {&p.conv, &p.b0, &p.b1a, &p.b1b, &p.b2a, &p.b2b, &p.b3}) {
        if (c->weight.defined()) Pack(*c);
      }
    }
    layers_.push_back(std::move(p));
  }
  heads_ = ModuleHeadWeights(*net);
  for (auto* t : {&heads_.att0W, &heads_.att0B, &heads_.att1W, &heads_.att1B, &heads_.att2W, &heads_.att2B,
                  &heads_.att3W, &heads_.att3B, &heads_.fcW, &heads_.fcB}) {
    *t = t->detach().clone();
  }
  // C3D on oneDNN: conv1a's whole output (64 x 16 x 112 x 112 floats, 51 MB a clip) is too big
  // for malloc to keep, so every call would fault in fresh pages for it, about 90 ms on the VMs
  // measured (7x the convolution itself). Running conv1a, ReLU and pool1 (1x2x2: frames stay
  // independent) a few frames at a time never materialises it.
  if (onednn_ && spec.size() > 1 && spec[0].kind == LayerSpec::kConv && spec[1].kind == LayerSpec::kPool &&
      spec[1].k[0] == 1 && spec[1].s[0] == 1 && layers_[0].conv.k == Triple{3, 3, 3}) {
    chunkedStem_ = true;
    stem_ = layers_[0].conv;
    stem_.pad = {0, 1, 1};
    Pack(stem_);
  }
  sga0_.weight = heads_.att0W;
  sga0_.bias = heads_.att0B;
  sga0_.k = {3, 3, 3};
  sga0_.s = {1, 2, 2};
  sga0_.pad = {0, 1, 1};
  if (onednn_) Pack(sga0_);
}

template <class F>
torch::Tensor InferencePlan::Timed(const std::string& layer, const char* op, const Conv* conv, F&& f) const {
  if (!timings_) return f();
  const auto t0 = std::chrono::steady_clock::now();
  torch::Tensor y = f();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const int64_t macs = conv ? conv->weight.numel() * (y.numel() / y.size(1)) : 0;
  timings_->push_back({layer, op, ms, macs});
  return y;
}

torch::Tensor InferencePlan::ChunkedStem(const torch::Tensor& x) const {
  const auto& pool = layers_[1];
  const std::string& name = names_[0];
  auto padded = Timed(name, "pad", nullptr, [&] { return at::constant_pad_nd(x, {0, 0, 0, 0, 1, 1}, 0); });
  const int64_t frames = x.size(2);
  // About 8 MB of conv1a output per chunk: small enough for malloc to reuse.
  const int64_t perFrame = x.size(0) * stem_.weight.size(0) * x.size(3) * x.size(4) * 4;
  const int64_t chunk = std::max<int64_t>(1, (int64_t{8} << 20) / perFrame);
  std::vector<torch::Tensor> parts;
  for (int64_t t = 0; t < frames; t += chunk) {
    const int64_t n = std::min(chunk, frames - t);
    auto in = Timed(name, "reorder", nullptr, [&] { return padded.narrow(2, t, n + 2).contiguous().to_mkldnn(); });
    auto y = Timed(name, "conv", &stem_, [&] {
      return at::mkldnn_convolution(in, stem_.packed, stem_.bias, Vec(stem_.pad), {1, 1, 1}, {1, 1, 1}, 1).relu_();
    });
    parts.push_back(Timed(names_[1], "pool", nullptr, [&] { return at::max_pool3d(y, Vec(pool.k), Vec(pool.s)); }));
    parts.back() = Timed(names_[1], "reorder", nullptr, [&] { return parts.back().to_dense(); });
  }
  return Timed(names_[1], "concat", nullptr, [&] { return torch::cat(parts, 2).to_mkldnn(); });
}

std::array<torch::Tensor, 2> InferencePlan::RawTaps(const torch::Tensor& input) const {
  torch::Tensor x = input, tap;
  for (size_t i = chunkedStem_ ? 2 : 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    const std::string& name = names_[i];
    if (i == 2 && chunkedStem_) x = ChunkedStem(x);
    if (i == 0) {
      // First layer: plain input; I3D's stem gets its "SAME" padding here, on 3 channels.
      if (l.kind == LayerSpec::kUnit) {
        x = Timed(name, "pad", nullptr,
                  [&] { return at::constant_pad_nd(x, PadSpec(SamePads(Spatial(x), l.k, l.s)), 0); });
      }
      if (onednn_) x = Timed(name, "reorder", nullptr, [&] { return x.to_mkldnn(); });
    }
    switch (l.kind) {
      case LayerSpec::kUnit:
      case LayerSpec::kConv:
        x = Timed(name, "conv", &l.conv, [&] { return l.conv.run(x, true); });
        break;
      case LayerSpec::kPool:
        x = Timed(name, "pool", nullptr,
                  [&] { return l.same ? PoolSame(x, l.k, l.s) : at::max_pool3d(x, Vec(l.k), Vec(l.s)); });
        break;
      case LayerSpec::kMixed: {
        auto conv = [&](const Conv& c, const torch::Tensor& in) {
          return Timed(name, "conv", &c, [&] { return c.run(in, true); });
        };
        auto pool = [&](const torch::Tensor& in) {
          return Timed(name, "pool", nullptr, [&] { return PoolSame(in, {3, 3, 3}, {1, 1, 1}); });
        };
        std::vector<torch::Tensor> parts;
        if (onednn_) {
          // The oneDNN layout cannot be sliced or concatenated: four branches, then one
          // concatenation in the plain layout.
          parts = {conv(l.b0, x), conv(l.b1b, conv(l.b1a, x)), conv(l.b2b, conv(l.b2a, x)), conv(l.b3, pool(x))};
          for (auto& t : parts) t = Timed(name, "reorder", nullptr, [&] { return t.to_dense(); });
          x = Timed(name, "concat", nullptr, [&] { return torch::cat(parts, 1); });
          x = Timed(name, "reorder", nullptr, [&] { return x.to_mkldnn(); });
        } else {
          const int64_t n0 = l.b0.weight.size(0), n1 = l.b1a.weight.size(0), n2 = l.b2a.weight.size(0);
          auto f = conv(l.fused, x);
          parts = {f.narrow(1, 0, n0), conv(l.b1b, f.narrow(1, n0, n1)), conv(l.b2b, f.narrow(1, n0 + n1, n2)),
                   conv(l.b3, pool(x))};
          x = Timed(name, "concat", nullptr, [&] { return torch::cat(parts, 1); });
        }
        break;
      }
    }
    if (l.tap) tap = x;
    peakBytesPerClip_ = std::max(peakBytesPerClip_, x.numel() * 4 / x.size(0));
  }
  return {tap, x};
}

std::vector<OpTime> InferencePlan::profile(const torch::Tensor& x) const {
  std::vector<OpTime> out;
  timings_ = &out;
  try {
    auto t = RawTaps(x);
    auto f1 = Timed("Conv_Atten", "conv", &sga0_, [&] { return sga0_.run(t[0], true); });
    if (f1.is_mkldnn()) f1 = Timed("Conv_Atten", "reorder", nullptr, [&] { return f1.to_dense(); });
    auto main = t[1].is_mkldnn() ? Timed("heads", "reorder", nullptr, [&] { return t[1].to_dense(); }) : t[1];
    Timed("heads", "heads", nullptr, [&] { return RunHeads(heads_, f1, main, 0.0, nullptr).scoreLogits; });
  } catch (...) {
    timings_ = nullptr;
    throw;
  }
  timings_ = nullptr;
  return out;
}

// Buffers above 32 MB are mmap'ed by malloc and returned on free: with LibTorch's default
// allocator each call would fault them in afresh (on the VMs measured, that doubled the time
// per clip of a 4-clip I3D batch). So a batch runs in slices whose activations stay below that,
// unless a caching CPU allocator is installed (native/allocator.cc), which keeps them.
int64_t InferencePlan::MicroBatch(int64_t n) const {
  if (!onednn_ || n <= 1 || c10::GetAllocator(c10::DeviceType::CPU) != c10::GetDefaultCPUAllocator()) return n;
  if (peakBytesPerClip_ == 0) return 1;  // measured on the first clip
  return std::clamp<int64_t>((int64_t{30} << 20) / peakBytesPerClip_, 1, n);
}

std::array<torch::Tensor, 2> InferencePlan::taps(const torch::Tensor& x) const {
  std::vector<torch::Tensor> sga, main;
  for (int64_t i = 0, m = 0; i < x.size(0); i += m) {
    m = std::min(MicroBatch(x.size(0) - i), x.size(0) - i);
    auto t = RawTaps(x.narrow(0, i, m));
    sga.push_back(t[0].is_mkldnn() ? t[0].to_dense() : t[0]);
    main.push_back(t[1].is_mkldnn() ? t[1].to_dense() : t[1]);
  }
  return {torch::cat(sga, 0), torch::cat(main, 0)};
}

SgaOutput InferencePlan::forward(const torch::Tensor& x) const {
  std::vector<torch::Tensor> score, guided, attention, feature;
  for (int64_t i = 0, m = 0; i < x.size(0); i += m) {
    m = std::min(MicroBatch(x.size(0) - i), x.size(0) - i);
    auto t = RawTaps(x.narrow(0, i, m));
    auto f1 = sga0_.run(t[0], true);
    if (f1.is_mkldnn()) f1 = f1.to_dense();
    auto r = RunHeads(heads_, f1, t[1].is_mkldnn() ? t[1].to_dense() : t[1], 0.0, nullptr);
    score.push_back(r.scoreLogits);
    guided.push_back(r.guidedLogits);
    attention.push_back(r.attention);
    feature.push_back(r.feature);
  }
  return {torch::cat(score, 0), torch::cat(guided, 0), torch::cat(attention, 0), torch::cat(feature, 0)};
}

// ---- State dicts -------------------------------------------------------------------------------

// The tensors of a checkpoint by name, with the nesting removed: {model: {...}} (released
// MIST checkpoints, ours) or {state_dict: {...}}, else the top-level dict itself.
static std::string Layout(const PyValue& root, const PyValue** out) {
  Check(root.isDict(), code::kWeights, "the file does not hold a dict (a state dict or a checkpoint)");
  for (const char* key : {"model", "state_dict"}) {
    const PyValue* inner = root.find(key);
    if (inner && inner->isDict()) {
      *out = inner;
      return root.find("mist") ? "mist-vad" : "mist";
    }
  }
  *out = &root;
  return "state-dict";
}

static bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

LoadReport LoadStateDict(SgaNet& net, const std::string& path) {
  const PyValue root = LoadTorchFile(path);
  const PyValue* dict = nullptr;
  LoadReport r;
  r.layout = Layout(root, &dict);
  const bool i3d = net->config.backbone == BackboneKind::kI3d;
  std::map<std::string, torch::Tensor> src;
  bool backboneOnly = true;
  for (const auto& e : *dict->entries) {
    if (e.first.kind != PyValue::Kind::kString || e.second.kind != PyValue::Kind::kTensor) continue;
    std::string k = e.first.s;
    while (StartsWith(k, "module.")) k = k.substr(7);  // DataParallel
    if (StartsWith(k, "Conv_Atten.") || StartsWith(k, "Regressor.")) backboneOnly = false;
    src[k] = e.second.tensor;
  }
  if (backboneOnly) {
    bool prefixed = true;
    for (const auto& e : src) prefixed = prefixed && StartsWith(e.first, "backbone.");
    if (!prefixed || src.empty()) r.layout = "backbone";
  }
  // Our names for the file's names: a backbone alone sits under backbone.; the Sports-1M C3D
  // of some ports names its first two layers conv1 and conv2.
  std::map<std::string, std::string> ours;  // our name -> file name
  std::set<std::string> used;
  for (const auto& e : src) {
    std::string k = e.first;
    if (!StartsWith(k, "backbone.") && !StartsWith(k, "Conv_Atten.") && !StartsWith(k, "Regressor."))
      k = "backbone." + k;
    if (!i3d) {
      if (StartsWith(k, "backbone.conv1.")) k = "backbone.conv1a." + k.substr(15);
      if (StartsWith(k, "backbone.conv2.")) k = "backbone.conv2a." + k.substr(15);
    }
    // Classifier layers of the pretrained backbones: not part of the encoder.
    const bool classifier =
        i3d ? StartsWith(k, "backbone.conv3d_0c_1x1.")
            : (StartsWith(k, "backbone.fc6.") || StartsWith(k, "backbone.fc7.") || StartsWith(k, "backbone.fc8."));
    if (classifier) {
      r.ignored.push_back(e.first);
      continue;
    }
    ours[k] = e.first;
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::string mismatch;
  auto take = [&](const std::string& name, const torch::Tensor& dst) {
    auto it = ours.find(name);
    if (it == ours.end()) {
      if (!StartsWith(name.substr(name.rfind('.') + 1), "num_batches_tracked")) r.missing.push_back(name);
      return;
    }
    const auto& t = src.at(it->second);
    used.insert(name);
    if (t.sizes() != dst.sizes() && mismatch.empty()) {
      mismatch = path + ": " + it->second + " has shape " + c10::str(t.sizes()) + ", the " +
                 BackboneName(net->config.backbone) + " encoder (width " + c10::str(net->config.width) + ") expects " +
                 c10::str(dst.sizes());
    }
    copies.emplace_back(dst, t);
  };
  for (const auto& p : net->named_parameters()) take(p.key(), p.value());
  for (const auto& b : net->named_buffers()) take(b.key(), b.value());
  for (const auto& e : ours) {
    if (!used.count(e.first)) r.unexpected.push_back(e.second);
  }
  // A backbone of the other architecture (or of another network): say so rather than list
  // every key as missing and unexpected.
  bool fileHasBackbone = false, backboneMatched = false;
  for (const auto& e : ours) fileHasBackbone = fileHasBackbone || StartsWith(e.first, "backbone.");
  for (const auto& n : used) backboneMatched = backboneMatched || StartsWith(n, "backbone.");
  Check(!fileHasBackbone || backboneMatched, code::kWeights,
        path + " holds no tensor of a " + BackboneName(net->config.backbone) +
            " backbone (first key: " + ours.begin()->second + ")");
  Check(mismatch.empty(), code::kWeights, mismatch);
  Check(!copies.empty(), code::kWeights,
        path + " holds no tensor of a " + BackboneName(net->config.backbone) + " SGA encoder" +
            (src.empty() ? "" : " (first key: " + src.begin()->first + ")"));
  torch::NoGradGuard no_grad;
  for (auto& c : copies) c.first.copy_(c.second.to(c.first.dtype()));
  r.loaded = static_cast<int64_t>(copies.size());
  return r;
}

bool ReadCheckpointConfig(const std::string& path, EncoderConfig* config) {
  const PyValue root = LoadTorchFile(path);
  const PyValue* m = root.find("mist");
  if (!m || !m->isDict()) return false;
  auto get = [&](const char* key, PyValue::Kind kind) -> const PyValue& {
    const PyValue* v = m->find(key);
    Check(v && v->kind == kind, code::kWeights, path + ": the mist block lacks '" + key + "'");
    return *v;
  };
  Check(get("kind", PyValue::Kind::kString).s == "sga-encoder", code::kWeights,
        path + " is not an SGA encoder checkpoint");
  const std::string bb = get("backbone", PyValue::Kind::kString).s;
  Check(bb == "i3d" || bb == "c3d", code::kWeights, path + ": unknown backbone '" + bb + "'");
  config->backbone = bb == "i3d" ? BackboneKind::kI3d : BackboneKind::kC3d;
  config->width = get("width", PyValue::Kind::kFloat).f;
  config->expandK = get("expandK", PyValue::Kind::kInt).i;
  config->dropout = get("dropout", PyValue::Kind::kFloat).f;
  return true;
}

std::vector<char> SaveCheckpoint(SgaNet& net) {
  c10::impl::GenericDict model(c10::StringType::get(), c10::TensorType::get());
  for (const auto& p : net->named_parameters()) model.insert(p.key(), p.value().detach().to(torch::kCPU).clone());
  for (const auto& b : net->named_buffers()) model.insert(b.key(), b.value().detach().to(torch::kCPU).clone());
  c10::impl::GenericDict mist(c10::StringType::get(), c10::AnyType::get());
  mist.insert(c10::IValue(std::string("kind")), c10::IValue(std::string("sga-encoder")));
  mist.insert(c10::IValue(std::string("version")), c10::IValue(int64_t{1}));
  mist.insert(c10::IValue(std::string("backbone")), c10::IValue(BackboneName(net->config.backbone)));
  mist.insert(c10::IValue(std::string("width")), c10::IValue(net->config.width));
  mist.insert(c10::IValue(std::string("expandK")), c10::IValue(net->config.expandK));
  mist.insert(c10::IValue(std::string("dropout")), c10::IValue(net->config.dropout));
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert(c10::IValue(std::string("model")), c10::IValue(model));
  root.insert(c10::IValue(std::string("mist")), c10::IValue(mist));
  return torch::pickle_save(c10::IValue(root));
}

// ---- The model -----------------------------------------------------------------------------

// Train or eval mode; with `batchNormStatsFrozen`, the backbone's BatchNorm stays in eval mode
// (running statistics frozen) while the rest trains.
static void SetTrainMode(SgaNet& net, bool training, bool batchNormStatsFrozen) {
  net->train(training);
  if (training && batchNormStatsFrozen) {
    for (auto& m : net->backbone->modules()) {
      if (auto* bn = m->as<torch::nn::BatchNorm3d>()) bn->eval();
    }
  }
}

ParameterSummary SummariseParameters(SgaNet& net) {
  ParameterSummary g;
  for (const auto& p : net->named_parameters(/*recurse=*/true)) {
    const auto& t = p.value();
    if (!t.requires_grad()) {
      g.frozen.push_back(p.key());
      g.frozenCount += t.numel();
    } else if (t.dim() > 1) {
      g.decay.push_back(p.key());
      g.decayCount += t.numel();
    } else {
      g.noDecay.push_back(p.key());
      g.noDecayCount += t.numel();
    }
  }
  return g;
}

// PyTorch's default initialisation (kaiming_uniform with a = sqrt(5): U(+-1/sqrt(fan_in)) for
// weights and biases) or, with `kaiming`, kaiming_normal for ReLU (N(0, 2/fan_in), zero biases),
// drawn from the model's own generator so that a seed fixes it.
static void InitWeights(SgaNet& net, at::Generator& gen, bool kaiming) {
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
    const double fanIn = static_cast<double>(w[0].numel());
    if (kaiming) {
      w.copy_(torch::empty(w.sizes(), torch::kFloat32).normal_(0.0, std::sqrt(2.0 / fanIn), gen));
      if (b.defined()) b.zero_();
      continue;
    }
    const double bound = 1.0 / std::sqrt(fanIn);
    w.copy_(torch::empty(w.sizes(), torch::kFloat32).uniform_(-bound, bound, gen));
    if (b.defined()) b.copy_(torch::empty(b.sizes(), torch::kFloat32).uniform_(-bound, bound, gen));
  }
}

static int64_t CountParameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (auto& p : m.parameters()) n += p.numel();
  return n;
}

// The widest layer (I3D's 1024 channels, the 2K detectors) must stay below this: beyond it one
// convolution's weights alone are tens of GiB. Checked before anything is allocated.
constexpr double kMaxChannels = 1 << 16;

static const EncoderConfig& CheckSizes(const EncoderConfig& c) {
  Check(c.width > 0 && c.width * 1024 <= kMaxChannels && c.expandK > 0 && 2.0 * c.expandK <= kMaxChannels,
        code::kMemory,
        "an encoder of width " + c10::str(c.width) + " and expandK " + c10::str(c.expandK) +
            " would have layers of more than 2^16 channels");
  return c;
}

SgaEncoderModel::SgaEncoderModel(const EncoderConfig& c)
    : config(CheckSizes(c)), net(SgaNet(c)), rng_(at::detail::createCPUGenerator(c.seed)) {
  InitWeights(net, rng_, c.kaimingInit);
  net->to(c.device);
  net->eval();
  // ERR_MIST_SHAPE for an input too small for the backbone; whether the heads fit is checked
  // by each forward (taps take any size the backbone takes).
  facts.shapes = ShapesAt(net, c.inputSize);
  facts.total = CountParameters(*net);
  facts.backbone = CountParameters(*net->backbone);
  facts.sgaBranch = CountParameters(*net->Conv_Atten);
  facts.head = CountParameters(*net->Regressor);
  for (auto& p : net->parameters()) facts.sizeBytes += p.numel() * 4;
  for (auto& b : net->buffers()) facts.sizeBytes += b.numel() * b.element_size();
  summary_ = SummariseParameters(net);
}

// The one place that picks the path of a computation: train mode runs the modules with batch
// statistics and dropout (no autograd); eval mode the folded copy (inference mode) or, with
// fold off, the modules. f(plan, gen) runs it: plan is null on the module path, gen null in eval.
template <typename F>
auto SgaEncoderModel::InMode(bool train, F&& f) {
  if (train) {
    torch::NoGradGuard no_grad;
    SetTrainMode(net, true, batchNormStatsFrozen_);
    plan_.reset();  // running statistics move
    return f(static_cast<const InferencePlan*>(nullptr), &rng_);
  }
  c10::InferenceMode guard;
  if (config.fold) {
    if (!plan_) plan_ = std::make_unique<InferencePlan>(net, config.onednn);
    return f(static_cast<const InferencePlan*>(plan_.get()), static_cast<at::Generator*>(nullptr));
  }
  SetTrainMode(net, false, false);
  return f(static_cast<const InferencePlan*>(nullptr), static_cast<at::Generator*>(nullptr));
}

SgaOutput SgaEncoderModel::Forward(const torch::Tensor& x, bool train) {
  return InMode(train, [&](const InferencePlan* plan, at::Generator* gen) {
    auto in = x.to(config.device);
    return plan ? plan->forward(in) : net->forward(in, gen);
  });
}

std::array<torch::Tensor, 2> SgaEncoderModel::Taps(const torch::Tensor& x, bool train) {
  return InMode(train, [&](const InferencePlan* plan, at::Generator*) {
    auto in = x.to(config.device);
    return plan ? plan->taps(in) : net->taps(in);
  });
}

std::vector<OpTime> SgaEncoderModel::Profile(const torch::Tensor& x) {
  Check(config.fold, code::kArg, "profile() times the folded evaluation copy: create the encoder with fold: true");
  return InMode(false, [&](const InferencePlan* plan, at::Generator*) { return plan->profile(x.to(config.device)); });
}

LoadReport SgaEncoderModel::Load(const std::string& path) {
  auto r = LoadStateDict(net, path);
  plan_.reset();
  return r;
}

int64_t SgaEncoderModel::Freeze(const std::set<std::string>& blocks, bool batchNormAffine, bool batchNormStats) {
  batchNormStatsFrozen_ = batchNormStats;
  int64_t frozen = 0;
  for (auto& p : net->named_parameters()) {
    const std::string& k = p.key();
    bool freeze = false;
    if (k.rfind("backbone.", 0) == 0) {
      const std::string block = k.substr(9, k.find('.', 9) - 9);
      freeze = blocks.count(block) > 0 || (batchNormAffine && k.find(".batch3d.") != std::string::npos);
    }
    p.value().set_requires_grad(!freeze);
    if (freeze) frozen += p.value().numel();
  }
  auto summary = SummariseParameters(net);
  std::lock_guard<std::mutex> lock(summaryMutex_);
  summary_ = std::move(summary);
  return frozen;
}

std::vector<std::pair<std::string, torch::Tensor>> SgaEncoderModel::StateDict() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : net->named_parameters()) out.emplace_back(p.key(), p.value().detach().to(torch::kCPU).clone());
  for (auto& b : net->named_buffers())
    out.emplace_back(b.key(), b.value().detach().to(torch::kCPU, torch::kFloat32).clone());
  return out;
}

ParameterSummary SgaEncoderModel::Summary() const {
  std::lock_guard<std::mutex> lock(summaryMutex_);
  return summary_;
}

SgaEncoderModel::~SgaEncoderModel() = default;

void SgaEncoderModel::ConfigureTraining(const EncoderTrainConfig& c) {
  trainer_ = std::make_unique<EncoderTrainer>(net, c);
}

EncoderStepResult SgaEncoderModel::TrainStep(const torch::Tensor& x, const torch::Tensor& targets, double lrFactor) {
  Check(trainer_ != nullptr, code::kArg, "configureTraining() must come before trainStep()");
  Check(targets.dim() == 1 && targets.size(0) == x.size(0), code::kShape, "one target per clip is expected");
  SetTrainMode(net, true, batchNormStatsFrozen_);
  plan_.reset();  // weights and running statistics move
  // A step that fails (a loss or gradient that is not finite) leaves the model as it was: the
  // running statistics this forward moves and the dropout generator are put back too.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> buffers;
  {
    torch::NoGradGuard no_grad;
    for (auto& b : net->buffers()) buffers.emplace_back(b, b.clone());
  }
  at::Tensor rngState;
  {
    std::lock_guard<std::mutex> lock(rng_.mutex());
    rngState = rng_.get_state();
  }
  try {
    auto out = net->forward(x.to(config.device), &rng_);
    return trainer_->Step(out, targets, lrFactor);
  } catch (...) {
    torch::NoGradGuard no_grad;
    for (auto& b : buffers) b.first.copy_(b.second);
    std::lock_guard<std::mutex> lock(rng_.mutex());
    rng_.set_state(rngState);
    throw;
  }
}

std::vector<char> SgaEncoderModel::TrainingCheckpoint(const std::string& meta) {
  Check(trainer_ != nullptr, code::kArg, "configureTraining() must come before a training checkpoint");
  // The checkpoint of save(), read back as a dict and extended: one file, one layout.
  auto root = torch::pickle_load(SaveCheckpoint(net)).toGenericDict();
  auto st = trainer_->State().toGenericDict();
  {
    std::lock_guard<std::mutex> lock(rng_.mutex());
    st.insert(std::string("rng"), rng_.get_state());
  }
  st.insert(std::string("meta"), meta);
  root.insert(std::string("trainer"), st);
  return torch::pickle_save(c10::IValue(root));
}

std::string SgaEncoderModel::RestoreTraining(const std::string& path) {
  Check(trainer_ != nullptr, code::kArg, "configureTraining() must come before restoring a training checkpoint");
  const PyValue root = LoadTorchFile(path);
  const PyValue* st = root.find("trainer");
  Check(st && st->isDict(), code::kWeights, path + " holds no training state (it is not a training checkpoint)");
  const PyValue* meta = st->find("meta");
  const PyValue* rng = st->find("rng");
  Check(meta && meta->kind == PyValue::Kind::kString && rng && rng->kind == PyValue::Kind::kTensor, code::kWeights,
        path + ": the training state lacks its meta or generator state");
  trainer_->Restore(*st, path, /*apply=*/false);
  auto report = LoadStateDict(net, path);
  Check(report.missing.empty(), code::kWeights,
        path + " lacks " + (report.missing.empty() ? std::string() : report.missing.front()));
  trainer_->Restore(*st, path, /*apply=*/true);
  {
    std::lock_guard<std::mutex> lock(rng_.mutex());
    rng_.set_state(rng->tensor.contiguous());
  }
  plan_.reset();
  return meta->s;
}

}  // namespace mist
