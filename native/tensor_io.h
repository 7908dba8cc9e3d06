// Crossing the JS/C++ boundary: typed arrays in, Float32Arrays out, devices, threads, and the
// promise-returning worker every asynchronous call uses.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"

namespace mist {

// Copies a Float32Array into a new CPU tensor of `shape`; ERR_MIST_DTYPE for any other
// value, ERR_MIST_SHAPE when the element count differs. `what` names it in messages.
torch::Tensor CopyFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what);

// CopyFloat32, then a scan of the copy: ERR_MIST_ARG naming the first `unit` (the index along
// dimension 0: a clip, a row) that holds a NaN or an infinity. ReLU and max-pooling can turn
// such a value into a finite score, so inference refuses it up front.
torch::Tensor CopyFiniteFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what,
                                const std::string& unit);

// Wraps a Float32Array's memory without copying; `keep` must hold a reference to the array
// for as long as the tensor is used. Not for asynchronous work: a pinned array can still be
// overwritten or its buffer transferred and freed, so the bindings copy their inputs instead.
torch::Tensor ViewFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what);

// A Float32Array that owns the tensor's memory (no copy for contiguous CPU float tensors;
// otherwise one copy).
Napi::Float32Array ToFloat32Array(Napi::Env env, torch::Tensor t);

// 'cpu' | 'cuda' | 'cuda:N' -> device; ERR_MIST_DEVICE when it is not available.
torch::Device ParseDevice(const std::string& spec);
std::string DeviceName(const torch::Device& d);

// Required properties of an options object (TypeScript has validated it and applied every
// default): a missing or mistyped field is a programming error, ERR_MIST_ARG. No ranges here:
// callers check only what protects memory (shapes, sizes that would overflow).
int64_t ToInt(const Napi::Value& v, const std::string& what);  // an exact integer
int64_t GetInt(const Napi::Object& o, const char* key);
double GetNumber(const Napi::Object& o, const char* key);
bool GetBool(const Napi::Object& o, const char* key);
std::string GetString(const Napi::Object& o, const char* key);
std::vector<int64_t> GetInts(const Napi::Object& o, const char* key, size_t n);
std::vector<std::string> GetStrings(const Napi::Object& o, const char* key);

// Holds a JS value alive (a Float32Array that a tensor views) until the last copy is released;
// release it on the JS thread (capture it in a PromiseWorker's resolve, never in its exec).
using Pinned = std::shared_ptr<Napi::Reference<Napi::Value>>;
Pinned Pin(const Napi::Value& v);

// Sync: writes `bytes` to a unique hidden temporary beside `path` (".<name>.<pid>.<n>.tmp"),
// flushes it to the disk, then renames it over `path`, so a crash or a kill never leaves a
// truncated file; the temporary is removed on failure. Throws ERR_MIST_IO.
void WriteAtomically(const std::string& path, const std::vector<char>& bytes);

// Intra-op threads for LibTorch. OpenMP's thread count is per calling thread, so each worker
// applies the configured count before it computes (see PromiseWorker::Execute).
void SetConfiguredThreads(int n);
int ConfiguredThreads();
void ApplyThreads();

// Runs `exec` on the libuv pool and settles a promise exactly once: with `resolve(env)` on
// the JS thread, or with a coded error. `exec` must not touch N-API.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Exec = std::function<void()>;
  using Resolve = std::function<Napi::Value(Napi::Env)>;
  static Napi::Promise Start(Napi::Env env, Exec exec, Resolve resolve);

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error&) override;

 private:
  PromiseWorker(Napi::Env env, Exec exec, Resolve resolve);
  Napi::Promise::Deferred deferred_;
  Exec exec_;
  Resolve resolve_;
  ErrorInfo error_;
};

}  // namespace mist
