// Stage 2 of MIST: the I3D and C3D encoders with the self-guided attention (SGA) branch and
// the two heads (spec: "Stage 2: SGA encoder"). Module names mirror the PyTorch ones so that
// the public checkpoints load by name:
//   backbone.*    the Kinetics I3D port (conv3d_1a_7x7 ... mixed_5c) or C3D (conv1a ... conv5b)
//   Conv_Atten.*  the SGA branch, Regressor.1 the main head's Linear(D, 2).
// Two ways to run a model: the modules themselves (training, BatchNorm batch statistics,
// autograd) and, for evaluation, an InferencePlan (below): a folded copy that runs in oneDNN's
// blocked layout with prepacked weights. The model alone: no N-API here (its JS class is
// encoder_binding.cc).
#pragma once
#include <torch/torch.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mist {

class EncoderTrainer;
struct EncoderTrainConfig;
struct EncoderStepResult;

enum class BackboneKind { kI3d, kC3d };

using Triple = std::array<int64_t, 3>;

// Channel count at a width multiplier: max(1, floor(c * width + 0.5)) (the reference script
// uses the same rule).
int64_t ScaledChannels(int64_t c, double width);

// The spec's I3D "SAME" padding along one dimension: {before, after}.
std::array<int64_t, 2> SamePad(int64_t k, int64_t s, int64_t n, bool temporal);

// conv3d_1a_7x7, mixed_3b, ...: a Conv3d without bias, BatchNorm3d (eps 1e-3), ReLU.
struct Unit3dImpl : torch::nn::Module {
  Unit3dImpl(int64_t cin, int64_t cout, Triple k, Triple s);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv3d conv3d{nullptr};
  torch::nn::BatchNorm3d batch3d{nullptr};
  Triple k, s;
};
TORCH_MODULE(Unit3d);

// Max-pool with the "SAME" zero padding and ceil mode (no parameters).
struct TfMaxPoolImpl : torch::nn::Module {
  TfMaxPoolImpl(Triple k, Triple s) : k(k), s(s) {}
  torch::Tensor forward(const torch::Tensor& x);
  Triple k, s;
};
TORCH_MODULE(TfMaxPool);

// Inception block: branch_0 (1x1), branch_1 (1x1 -> 3x3x3), branch_2 (1x1 -> 3x3x3),
// branch_3 (3x3x3 max-pool -> 1x1), concatenated along channels.
struct MixedImpl : torch::nn::Module {
  MixedImpl(int64_t cin, const std::array<int64_t, 6>& c);
  torch::Tensor forward(const torch::Tensor& x);
  Unit3d branch_0{nullptr}, b1a{nullptr}, b1b{nullptr}, b2a{nullptr}, b2b{nullptr}, b3{nullptr};
  TfMaxPool pool{nullptr};
  int64_t out_channels = 0;
};
TORCH_MODULE(Mixed);

// One layer of a backbone, in order: what the modules, the folded plan and the MAC count walk.
struct LayerSpec {
  std::string name;
  enum Kind { kUnit, kPool, kMixed, kConv } kind;
  Triple k, s;
  int64_t cout = 0;                // unit / conv (unscaled)
  std::array<int64_t, 6> mixed{};  // mixed block channel plan (unscaled)
  bool same = false;               // I3D "SAME" padding (pools: zeros and ceil mode)
  bool tap = false;                // the SGA input is this layer's output
};
const std::vector<LayerSpec>& BackboneLayers(BackboneKind kind);

// I3D (Inception-v1 inflated) or C3D: returns {SGA tap, main tap}.
struct BackboneImpl : torch::nn::Module {
  BackboneImpl(BackboneKind kind, double width);
  std::array<torch::Tensor, 2> forward(torch::Tensor x);
  BackboneKind kind;
  std::vector<std::shared_ptr<torch::nn::Module>> layers;  // parallel to BackboneLayers(kind)
  std::vector<std::string> blocks;                         // names that hold parameters
  int64_t sga_channels = 0, out_channels = 0;
};
TORCH_MODULE(Backbone);

// The SGA branch, named as the released code names it:
//   Conv_Atten.0  F1 = ReLU(Conv3d C->C, 3x3x3, stride (1,2,2), padding (0,1,1))(M_sga)
//   Att_1.0       F2 = ReLU(Conv3d C->2K, 1x1x1)(F1): the 2K "detectors"
//   Att_2         the guided head: Conv3d 2K->2K, 1x1x1; GAP, viewed 2 x K, mean over K
//   Att_3.0       A = Sigmoid(Conv3d 2K->1, kernel (2,1,1))(F2): the attention map
struct SgaBranchImpl : torch::nn::Module {
  SgaBranchImpl(int64_t c, int64_t k);
  torch::nn::Conv3d conv{nullptr}, att1{nullptr}, att2{nullptr}, att3{nullptr};
  int64_t k;
};
TORCH_MODULE(SgaBranch);

// What one call computes per clip. Logits (before the softmax) so that a trainer can build
// its loss; the binding turns them into probabilities.
struct SgaOutput {
  torch::Tensor scoreLogits;   // [N, 2]
  torch::Tensor guidedLogits;  // [N, 2]
  torch::Tensor attention;     // [N, 1, T', H', W']
  torch::Tensor feature;       // [N, D]: GAP(M*), the clip feature for extraction
};

// SgaEncoderOptions of lib/models/encoder.ts, by the same names; zod gave every value.
struct EncoderConfig {
  BackboneKind backbone = BackboneKind::kI3d;
  double width = 0;
  int64_t expandK = 0;
  double dropout = 0;
  Triple inputSize{};
  torch::Device device{torch::kCPU};
  uint64_t seed = 0;
  bool kaimingInit = false;  // N(0, 2/fan_in) weights and zero biases instead of PyTorch's default
  bool fold = false;         // evaluate through the folded copy (InferencePlan)
  bool onednn = false;       // the folded copy runs in oneDNN's blocked layout (CPU)
};

std::string BackboneName(BackboneKind kind);

struct SgaNetImpl : torch::nn::Module {
  explicit SgaNetImpl(const EncoderConfig& c);
  // Module path: batch statistics in train mode; `gen` draws the dropout mask (train only).
  SgaOutput forward(const torch::Tensor& x, at::Generator* gen);
  std::array<torch::Tensor, 2> taps(const torch::Tensor& x) { return backbone->forward(x); }
  EncoderConfig config;
  Backbone backbone{nullptr};
  SgaBranch Conv_Atten{nullptr};
  torch::nn::Sequential Regressor{nullptr};
  torch::nn::Linear fc{nullptr};  // Regressor.1
};
TORCH_MODULE(SgaNet);

// The weights of the SGA branch and the main head, as both paths hold them.
struct HeadWeights {
  torch::Tensor att0W, att0B, att1W, att1B, att2W, att2B, att3W, att3B, fcW, fcB;
  int64_t k = 8;
};
HeadWeights ModuleHeadWeights(SgaNetImpl& net);
// The SGA branch after its first convolution (F1 given) and both heads; dropout only when
// `gen` is given (train mode).
SgaOutput RunHeads(const HeadWeights& h, const torch::Tensor& f1, const torch::Tensor& mainTap, double dropout,
                   at::Generator* gen);

// The evaluation copy, built from the modules and rebuilt whenever they change:
// - BatchNorm folded into the convolution before it (float64 arithmetic, then float32);
// - with oneDNN (`onednn`, CPU): weights reordered once into oneDNN's blocked layout and
//   activations kept in that layout from the first convolution to the taps, so no layer pays
//   for a weight or activation reorder; symmetric padding goes into the convolutions, the
//   asymmetric "SAME" padding of the 7x7x7 stem is applied to the 3-channel input only, and
//   pools whose zero padding cannot change the result skip it;
// - without oneDNN: plain convolutions, the three 1x1 convolutions of a mixed block fused.
// One op of a profiled forward: the layer it belongs to, what it is (conv, pool, reorder,
// concat, pad, heads), its wall time and its multiply-accumulates (convolutions only).
struct OpTime {
  std::string layer, op;
  double ms = 0;
  int64_t macs = 0;
};

class InferencePlan {
 public:
  InferencePlan(SgaNet& net, bool onednn);
  SgaOutput forward(const torch::Tensor& x) const;
  // forward() with every op timed on the calling thread, in order (the whole batch at once).
  std::vector<OpTime> profile(const torch::Tensor& x) const;
  // Dense taps, [n, C, T, H, W].
  std::array<torch::Tensor, 2> taps(const torch::Tensor& x) const;
  bool onednn() const { return onednn_; }

  struct Conv {
    torch::Tensor weight, bias;  // dense, BatchNorm folded
    torch::Tensor packed;        // weight in oneDNN's layout for `pad` and `s` (oneDNN path)
    Triple k{1, 1, 1}, s{1, 1, 1};
    bool same = false;  // I3D "SAME" rule, else fixed symmetric `pad`
    Triple pad{0, 0, 0};
    torch::Tensor run(const torch::Tensor& x, bool relu) const;
  };
  struct Layer {
    LayerSpec::Kind kind;
    Triple k, s;
    bool same = false;
    Conv conv;                        // unit / conv
    Conv b0, b1a, b1b, b2a, b2b, b3;  // mixed block branches
    Conv fused;                       // dense path: b0 | b1a | b2a as one convolution
    bool tap = false;
  };

 private:
  // Taps as the path holds them (oneDNN layout on the oneDNN path).
  std::array<torch::Tensor, 2> RawTaps(const torch::Tensor& x) const;
  // C3D's conv1a + ReLU + pool1 (1x2x2), a few frames at a time.
  torch::Tensor ChunkedStem(const torch::Tensor& x) const;
  // How many clips to run at once (see forward()).
  int64_t MicroBatch(int64_t n) const;
  mutable int64_t peakBytesPerClip_ = 0;            // largest activation of one clip, seen by RawTaps
  mutable std::vector<OpTime>* timings_ = nullptr;  // set by profile() for its duration
  std::vector<std::string> names_;                  // layer names, as BackboneLayers gives them
  // Runs f; when profiling, records its time as `op` of `layer` (MACs from conv's weight).
  template <class F>
  torch::Tensor Timed(const std::string& layer, const char* op, const Conv* conv, F&& f) const;
  bool onednn_;
  bool chunkedStem_ = false;
  Conv stem_;  // conv1a packed for padding (0, 1, 1): the temporal pad is applied to the input
  std::vector<Layer> layers_;
  Conv sga0_;
  HeadWeights heads_;
};

// Multiply-accumulates per clip of every convolution and Linear, from the layer shapes.
struct MacCount {
  int64_t backbone = 0, sga = 0, head = 0;
  int64_t total() const { return backbone + sga + head; }
};
MacCount CountMacs(const SgaNet& net, Triple inputSize);

// The output shapes (without batch) of both taps and of the attention map at an input size;
// ERR_MIST_SHAPE when the input is too small for the network.
struct TapShapes {
  std::array<int64_t, 4> sga, main, attention;
  bool headsFit = true;  // the attention map broadcasts over the main tap
};
TapShapes ShapesAt(const SgaNet& net, Triple inputSize);

// What an encoder of this architecture holds, counted from the layer table without building
// it: parameters and buffers, and per clip at an input size the input, every op's output
// (`sum`), what autograd keeps for backward (`saved`) and the most live around one layer
// (`peak`); all float32 elements. ERR_MIST_SHAPE for an input too small for the backbone.
struct Footprint {
  int64_t parameters = 0, input = 0, sum = 0, saved = 0, peak = 0;
};
Footprint FootprintOf(BackboneKind kind, double width, int64_t expandK, Triple inputSize);

// State dicts in PyTorch's zip format (torch.save since 1.6), read without Python by
// torch_pickle.h (torch::pickle_load cannot read what state_dict() saves). Accepted layouts:
// our own checkpoints, the released MIST ones ({model: {"module.backbone...", ...}}), a plain
// state dict of the whole model, or of a backbone alone (the Kinetics I3D port's
// model_rgb.pth, a C3D Sports-1M state dict, whose classifier layers are ignored). Throws
// ERR_MIST_IO / ERR_MIST_WEIGHTS; copies nothing unless every shape fits.
struct LoadReport {
  std::vector<std::string> missing, unexpected, ignored;
  int64_t loaded = 0;
  std::string layout;  // "mist-vad", "mist", "state-dict", "backbone"
};
LoadReport LoadStateDict(SgaNet& net, const std::string& path);
// The `mist` config block of one of our checkpoints, if the file has one.
bool ReadCheckpointConfig(const std::string& path, EncoderConfig* config);
// PyTorch-readable zip: {model: state dict, mist: {kind, backbone, width, expandK, dropout}}.
std::vector<char> SaveCheckpoint(SgaNet& net);

// Weight decay groups (spec: decay on weights only): conv / linear weights vs biases and
// BatchNorm parameters; parameters that do not require grad are in neither.
struct ParameterSummary {
  std::vector<std::string> decay, noDecay, frozen;
  int64_t decayCount = 0, noDecayCount = 0, frozenCount = 0;
};
ParameterSummary SummariseParameters(SgaNet& net);

// What never changes after construction: parameter counts by part, size, tap shapes.
struct EncoderFacts {
  int64_t total = 0, backbone = 0, sgaBranch = 0, head = 0;
  int64_t sizeBytes = 0;  // parameters and buffers
  TapShapes shapes;       // at config.inputSize
};

// One SGA encoder. Readable on any thread at any time: config, facts, net's structure (module
// tree, parameter names and shapes: CountMacs, ShapesAt), `training` (atomic) and Summary()
// (its own small lock, held only to copy). Every other member is a computation the caller
// serialises (the binding's model lock).
class SgaEncoderModel {
 public:
  // Sync, any thread: PyTorch's default initialisation drawn from config.seed, eval mode.
  // Throws ERR_MIST_SHAPE (input too small for the backbone), ERR_MIST_MEMORY (too wide).
  explicit SgaEncoderModel(const EncoderConfig& config);

  const EncoderConfig config;
  SgaNet net;
  EncoderFacts facts;
  std::atomic<bool> training{false};  // the mode of the next computation

  // Sync, model lock held: both heads' logits, the attention map and the feature of clips
  // [n, 3, T, H, W]. Eval mode: the folded copy (built on first use) in inference mode, or the
  // modules when config.fold is off; train mode: the modules, batch statistics, dropout, no
  // autograd. Throws ERR_MIST_SHAPE when the attention map does not fit the main map.
  SgaOutput Forward(const torch::Tensor& x, bool train);
  // Sync, model lock held: the two backbone maps, dense [n, C, T, H, W], on the same paths.
  std::array<torch::Tensor, 2> Taps(const torch::Tensor& x, bool train);
  // Eval-mode forward through the folded copy with every op timed (ERR_MIST_ARG without fold).
  std::vector<OpTime> Profile(const torch::Tensor& x);
  // Sync, model lock held: LoadStateDict(net, path) (its report, its errors); the folded copy
  // is rebuilt on next use.
  LoadReport Load(const std::string& path);
  // Sync, model lock held: freezes backbone `blocks` (the others train again); batchNormAffine:
  // every backbone BatchNorm weight and bias too; batchNormStats: BatchNorm stays in eval mode
  // while training. Publishes the new Summary(); returns the frozen parameter count.
  int64_t Freeze(const std::set<std::string>& blocks, bool batchNormAffine, bool batchNormStats);
  // Sync, model lock held: CPU float32 copies of every parameter and buffer by PyTorch name.
  std::vector<std::pair<std::string, torch::Tensor>> StateDict();
  // Sync, any thread, no model lock: a copy of the current parameter groups.
  ParameterSummary Summary() const;

  // Training (native/encoder_train.h). Sync, model lock held: a fresh optimiser and
  // accumulation counter with these settings (the previous ones, if any, are dropped).
  void ConfigureTraining(const EncoderTrainConfig& config);
  // Sync, model lock held: train-mode forward of clips [n, 3, T, H, W] with autograd, the loss
  // against targets [n], backward, and an update every `accumulate` calls (lr * lrFactor).
  // Throws ERR_MIST_ARG before ConfigureTraining, ERR_MIST_SHAPE.
  EncoderStepResult TrainStep(const torch::Tensor& x, const torch::Tensor& targets, double lrFactor);
  // Sync, model lock held: save()'s checkpoint plus {trainer: optimiser state, counters,
  // pending gradients, the dropout generator's state, meta} (meta: the caller's JSON).
  std::vector<char> TrainingCheckpoint(const std::string& meta);
  // Sync, model lock held: weights, statistics and the training state of a TrainingCheckpoint
  // file; returns its meta. Throws ERR_MIST_ARG before ConfigureTraining, ERR_MIST_IO,
  // ERR_MIST_WEIGHTS (then nothing changed).
  std::string RestoreTraining(const std::string& path);
  ~SgaEncoderModel();

 private:
  template <typename F>
  auto InMode(bool train, F&& f);
  at::Generator rng_;
  bool batchNormStatsFrozen_ = false;
  std::unique_ptr<InferencePlan> plan_;  // dropped whenever weights or statistics change
  std::unique_ptr<EncoderTrainer> trainer_;
  mutable std::mutex summaryMutex_;  // guards summary_ only; never held while computing
  ParameterSummary summary_;
};

}  // namespace mist
