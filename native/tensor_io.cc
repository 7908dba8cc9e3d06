#include "tensor_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace mist {

static std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

static Napi::Float32Array AsFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Fail(code::kDtype, what + " must be a Float32Array");
  }
  auto arr = v.As<Napi::Float32Array>();
  int64_t n = 1;
  for (auto d : shape) {
    Check(d >= 0, code::kShape, what + ": negative dimension in " + ShapeString(shape));
    Check(!__builtin_mul_overflow(n, d, &n), code::kShape, what + ": shape " + ShapeString(shape) + " overflows");
  }
  Check(static_cast<int64_t>(arr.ElementLength()) == n, code::kShape,
        what + " has " + std::to_string(arr.ElementLength()) + " values; shape " + ShapeString(shape) + " needs " +
            std::to_string(n));
  return arr;
}

torch::Tensor CopyFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what) {
  auto arr = AsFloat32(v, shape, what);
  auto t = torch::empty(shape, torch::kFloat32);
  if (arr.ElementLength() > 0) std::memcpy(t.data_ptr<float>(), arr.Data(), arr.ByteLength());
  return t;
}

torch::Tensor CopyFiniteFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what,
                                const std::string& unit) {
  auto t = CopyFloat32(v, shape, what);
  const int64_t n = t.numel();
  if (n == 0) return t;
  const float* p = t.data_ptr<float>();
  // A branch-free pass over the bits first (all exponent bits set: NaN or an infinity), which
  // the compiler vectorises; the position only when it fails.
  const auto* bits = reinterpret_cast<const uint32_t*>(p);
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= static_cast<uint32_t>((bits[i] & 0x7f800000u) == 0x7f800000u);
  if (bad == 0) return t;
  int64_t i = 0;
  while (std::isfinite(p[i])) ++i;
  const int64_t per = n / shape[0];
  const std::string word = std::isnan(p[i]) ? "NaN" : p[i] > 0 ? "Infinity" : "-Infinity";
  Fail(code::kArg, what + ": " + unit + " " + std::to_string(i / per) + " holds " + word + " (value " +
                       std::to_string(i % per) + " of that " + unit + "); inputs must be finite");
}

torch::Tensor ViewFloat32(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& what) {
  auto arr = AsFloat32(v, shape, what);
  if (arr.ElementLength() == 0) return torch::empty(shape, torch::kFloat32);
  return torch::from_blob(arr.Data(), shape, torch::kFloat32);
}

Napi::Float32Array ToFloat32Array(Napi::Env env, torch::Tensor t) {
  t = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const size_t n = static_cast<size_t>(t.numel());
  if (n > 0) {
    // The array owns a reference to the tensor's storage: no copy, freed by the GC.
    auto* holder = new torch::Tensor(t);
    try {
      auto buf = Napi::ArrayBuffer::New(
          env, holder->data_ptr<float>(), n * sizeof(float), [](Napi::Env, void*, torch::Tensor* h) { delete h; },
          holder);
      return Napi::Float32Array::New(env, n, buf, 0);
    } catch (const Napi::Error&) {
      delete holder;  // external buffers are refused (some embedders): copy instead
    }
  }
  auto out = Napi::Float32Array::New(env, n);
  if (n > 0) std::memcpy(out.Data(), t.data_ptr<float>(), n * sizeof(float));
  return out;
}

torch::Device ParseDevice(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (spec.size() > 5) {
      const std::string digits = spec.substr(5);
      Check(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos, code::kDevice,
            "bad device '" + spec + "' (expected 'cpu', 'cuda' or 'cuda:N')");
      index = std::stoi(digits);
    }
    Check(torch::cuda::is_available(), code::kDevice,
          "device '" + spec + "' requested but CUDA is not available in this LibTorch build or machine");
    Check(index < static_cast<int>(torch::cuda::device_count()), code::kDevice,
          "device '" + spec + "' does not exist (" + std::to_string(torch::cuda::device_count()) + " CUDA devices)");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  Fail(code::kDevice, "bad device '" + spec + "' (expected 'cpu', 'cuda' or 'cuda:N')");
}

std::string DeviceName(const torch::Device& d) {
  return d.is_cuda() ? "cuda:" + std::to_string(d.has_index() ? d.index() : 0) : "cpu";
}

int64_t ToInt(const Napi::Value& v, const std::string& what) {
  Check(v.IsNumber(), code::kArg, what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  // |d| <= 2^53: exact in a double, and no undefined behaviour in the cast.
  Check(std::fabs(d) <= 9007199254740992.0 && d == std::floor(d), code::kArg, what + " must be an integer");
  return static_cast<int64_t>(d);
}

int64_t GetInt(const Napi::Object& o, const char* key) { return ToInt(o.Get(key), key); }

double GetNumber(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  Check(v.IsNumber(), code::kArg, std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool GetBool(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  Check(v.IsBoolean(), code::kArg, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  Check(v.IsString(), code::kArg, std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

static Napi::Array GetArray(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  Check(v.IsArray(), code::kArg, std::string(key) + " must be an array");
  return v.As<Napi::Array>();
}

std::vector<int64_t> GetInts(const Napi::Object& o, const char* key, size_t n) {
  auto a = GetArray(o, key);
  Check(a.Length() == n, code::kArg, std::string(key) + " must hold " + std::to_string(n) + " integers");
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = ToInt(a.Get(i), key);
  return out;
}

std::vector<std::string> GetStrings(const Napi::Object& o, const char* key) {
  auto a = GetArray(o, key);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Check(a.Get(i).IsString(), code::kArg, std::string(key) + " must hold strings");
    out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  return out;
}

Pinned Pin(const Napi::Value& v) { return std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(v)); }

// Writes all of `bytes` to fd; false on an error (errno set).
static bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void WriteAtomically(const std::string& path, const std::vector<char>& bytes) {
  // A unique name beside the file (".<name>.<pid>.<n>.tmp": hidden, never taken for a
  // checkpoint), flushed to the disk, then renamed over the file: a crash or a kill at any
  // moment leaves the old file or the new one, whole. The temporary goes on any failure.
  static std::atomic<uint64_t> counter{0};
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string tmp = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "." + base + "." +
                          std::to_string(::getpid()) + "." + std::to_string(++counter) + ".tmp";
  auto fail = [&](const std::string& what, int fd) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    Fail(code::kIo, what + ": " + std::strerror(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write " + tmp, -1);
  if (!WriteAll(fd, bytes.data(), bytes.size())) fail("write failed for " + tmp, fd);
  if (::fsync(fd) != 0) fail("cannot flush " + tmp, fd);
  if (::close(fd) != 0) fail("cannot close " + tmp, -1);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " to " + path, -1);
  // The rename itself is on the disk once the folder is flushed (best effort: not every file
  // system lets a folder be opened for that).
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

static std::atomic<int> g_threads{0};

void SetConfiguredThreads(int n) {
  Check(n >= 1 && n <= 1024, code::kArg, "thread count must be in [1, 1024]");
  g_threads = n;
  at::set_num_threads(n);
}
int ConfiguredThreads() { return g_threads.load(); }
void ApplyThreads() {
  const int n = g_threads.load();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

PromiseWorker::PromiseWorker(Napi::Env env, Exec exec, Resolve resolve)
    : Napi::AsyncWorker(env, "mist-vad"),
      deferred_(Napi::Promise::Deferred::New(env)),
      exec_(std::move(exec)),
      resolve_(std::move(resolve)) {}

Napi::Promise PromiseWorker::Start(Napi::Env env, Exec exec, Resolve resolve) {
  auto* w = new PromiseWorker(env, std::move(exec), std::move(resolve));
  auto promise = w->deferred_.Promise();
  w->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

void PromiseWorker::Execute() {
  try {
    ApplyThreads();
    exec_();
  } catch (...) {
    error_ = Describe(std::current_exception());
    SetError(error_.message);
  }
}

void PromiseWorker::OnOK() {
  try {
    deferred_.Resolve(resolve_(Env()));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (...) {
    deferred_.Reject(ToJsError(Env(), Describe(std::current_exception())).Value());
  }
}

void PromiseWorker::OnError(const Napi::Error&) { deferred_.Reject(ToJsError(Env(), error_).Value()); }

}  // namespace mist
