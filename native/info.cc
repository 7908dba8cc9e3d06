// info() and thread control: what LibTorch this process runs, on which BLAS, with how many
// threads, so a slow setup is visible instead of silently slow.
#include "info.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tensor_io.h"

namespace mist {

// Shared libraries of the BLAS family mapped into this process (from /proc/self/maps).
static std::vector<std::string> LoadedBlasLibraries() {
  std::set<std::string> libs;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    auto base = path.substr(path.rfind('/') + 1);
    if (base.find("blas") != std::string::npos || base.find("mkl") != std::string::npos ||
        base.find("lapack") != std::string::npos || path.find("openblas") != std::string::npos) {
      libs.insert(path);
    }
  }
  return {libs.begin(), libs.end()};
}

// 'openblas' | 'mkl' | 'reference' | 'unknown'. Debian's reference BLAS lives in .../blas/,
// OpenBLAS in .../openblas-pthread/ (or -openmp, -serial) behind the same libblas.so.3. The
// reference one wins when it is mapped at all: it is then the libblas.so.3 LibTorch resolved
// (OpenBLAS may still be mapped through liblapack.so.3).
static std::string BlasKind(const std::vector<std::string>& libs) {
  bool openblas = false, mkl = false;
  for (const auto& p : libs) {
    if (p.find("/blas/libblas.so") != std::string::npos || p.find("/refblas") != std::string::npos) return "reference";
    if (p.find("openblas") != std::string::npos) openblas = true;
    if (p.find("mkl") != std::string::npos) mkl = true;
  }
  return mkl ? "mkl" : openblas ? "openblas" : libs.empty() ? "unknown" : "reference";
}

// How many distinct threads a parallel region really uses here, on this calling thread.
static int ObservedThreads() {
  std::mutex m;
  std::set<std::thread::id> ids;
  at::parallel_for(0, 1 << 16, 1, [&](int64_t, int64_t) {
    volatile double x = 0;
    for (int i = 0; i < 20000; ++i) x = x + i * 1e-9;  // keep each chunk busy long enough to spread
    std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
  });
  return static_cast<int>(ids.size());
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto o = Napi::Object::New(env);
    o.Set("torchVersion", TORCH_VERSION);
    o.Set("torchBuiltAgainst", MIST_TORCH_VERSION);
    o.Set("torchSource", MIST_TORCH_SOURCE);
    o.Set("torchDir", MIST_TORCH_DIR);
    o.Set("cudaBuild", static_cast<bool>(MIST_WITH_CUDA));
    const bool cuda = torch::cuda::is_available();
    o.Set("cudaAvailable", cuda);
    o.Set("cudaDeviceCount", cuda ? static_cast<double>(torch::cuda::device_count()) : 0.0);
    o.Set("defaultDevice", cuda ? "cuda" : "cpu");
    ApplyThreads();
    o.Set("threads", at::get_num_threads());
    o.Set("threadsObserved", ObservedThreads());
    o.Set("interopThreads", at::get_num_interop_threads());
    o.Set("openmp", at::hasOpenMP());
    o.Set("mkldnn", at::hasMKLDNN());
    auto libs = LoadedBlasLibraries();
    auto arr = Napi::Array::New(env, libs.size());
    for (size_t i = 0; i < libs.size(); ++i) arr.Set(static_cast<uint32_t>(i), libs[i]);
    auto blas = Napi::Object::New(env);
    blas.Set("kind", BlasKind(libs));
    blas.Set("libraries", arr);
    o.Set("blas", blas);
    o.Set("parallelInfo", at::get_parallel_info());
    o.Set("buildConfig", at::show_config());
    return o;
  });
}

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Check(info.Length() == 1 && info[0].IsNumber(), code::kArg, "setNumThreads(n) needs a number");
    double n = info[0].As<Napi::Number>().DoubleValue();
    Check(n == static_cast<int>(n), code::kArg, "thread count must be an integer");
    SetConfiguredThreads(static_cast<int>(n));
    return env.Undefined();
  });
}

void InitInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
}

}  // namespace mist
