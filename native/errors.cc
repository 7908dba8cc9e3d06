#include "errors.h"

#include <c10/util/Exception.h>

namespace mist {

void Fail(const char* code, const std::string& message) { throw Error(code, message); }

static std::string FirstLine(const std::string& s) {
  auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

ErrorInfo Describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return {err.code(), err.what()};
  } catch (const c10::Error& err) {
    // what_without_backtrace() still carries the "Exception raised from" line on some
    // builds; the first line is the message a user can act on.
    return {code::kTorch, FirstLine(err.what_without_backtrace())};
  } catch (const std::bad_alloc&) {
    return {code::kMemory, "out of memory"};
  } catch (const std::exception& err) {
    return {code::kTorch, FirstLine(err.what())};
  } catch (...) {
    return {code::kTorch, "unknown native error"};
  }
}

Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info) {
  Napi::Error err = Napi::Error::New(env, info.message);
  err.Set("code", Napi::String::New(env, info.code));
  return err;
}

}  // namespace mist
