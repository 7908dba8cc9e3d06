// Error codes shared with lib/errors.ts, and the one place where C++ exceptions become JS
// errors: a stable `code` and a one-line message, never a C++ backtrace.
#pragma once
#include <exception>
#include <stdexcept>
#include <string>

#include <napi.h>

namespace mist {

namespace code {
constexpr const char* kArg = "ERR_MIST_ARG";
constexpr const char* kShape = "ERR_MIST_SHAPE";
constexpr const char* kDtype = "ERR_MIST_DTYPE";
constexpr const char* kDisposed = "ERR_MIST_DISPOSED";
constexpr const char* kIo = "ERR_MIST_IO";
constexpr const char* kWeights = "ERR_MIST_WEIGHTS";
constexpr const char* kDevice = "ERR_MIST_DEVICE";
constexpr const char* kMemory = "ERR_MIST_MEMORY";
constexpr const char* kTorch = "ERR_MIST_TORCH";
}  // namespace code

// An error we raise on purpose, with its code.
class Error : public std::runtime_error {
 public:
  Error(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

[[noreturn]] void Fail(const char* code, const std::string& message);
inline void Check(bool ok, const char* code, const std::string& message) {
  if (!ok) Fail(code, message);
}

// What a caught exception means for JS: safe to build on any thread (no N-API inside).
struct ErrorInfo {
  std::string code;
  std::string message;
};
ErrorInfo Describe(std::exception_ptr e);
Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info);

// Runs `f` on the JS thread; any C++ exception becomes a coded JS exception.
template <typename F>
auto Guard(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw ToJsError(env, Describe(std::current_exception()));
  }
}

}  // namespace mist
