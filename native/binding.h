// The one wrapper every JS model class is built on (generator_binding.cc, encoder_binding.cc):
// who owns the model, which lock guards it, how work reaches the libuv pool, and the members
// every model has (save, dispose, createAsync).
//
// Ownership: the JS object holds a shared_ptr to a State (the model and its lock); every work
// in flight holds its own copy, so dispose() or a garbage-collected object never frees a model
// under a computation. Locking: `compute` is taken on the libuv pool only, never on the JS
// thread; JS-thread methods read immutable state, atomics, or state behind the model's own
// small locks (see each model's header), so the event loop never waits for a computation.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "tensor_io.h"

namespace mist {

// Derived provides: kName (the JS class name); ReadOptions(const Napi::Object&) -> the model's
// options struct (JS thread; required fields, no defaults); Serialise(Model&) -> checkpoint
// bytes (under the model lock). Model has a constructor from that options struct, safe on any
// thread (it touches no N-API).
template <typename Derived, typename Model>
class ModelBinding : public Napi::ObjectWrap<Derived> {
 public:
  struct State {
    template <typename Options>
    explicit State(const Options& o) : model(o) {}
    std::mutex compute;  // one computation at a time; held on the libuv pool only
    Model model;
  };
  using Shared = std::shared_ptr<State>;
  // A method body: receives the call and the live state (ERR_MIST_DISPOSED already checked).
  using Method = Napi::Value (Derived::*)(const Napi::CallbackInfo&, const Shared&);

  // Sync: new Class(options) builds the model on the JS thread (for small models; big ones use
  // createAsync). Throws what ReadOptions and the model's constructor throw.
  explicit ModelBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {
    Guard(info.Env(), [&]() {
      if (adopting_) {  // createAsync's instance: the state was built on the pool
        state_ = std::move(*adopting_);
        adopting_ = nullptr;
        return;
      }
      Check(info.Length() == 1 && info[0].IsObject(), code::kArg, std::string("new ") + Derived::kName + "(options)");
      state_ = std::make_shared<State>(Derived::ReadOptions(info[0].As<Napi::Object>()));
    });
  }

 protected:
  // The members every model class has, plus `methods` (from Bind), as one JS class.
  static void Define(Napi::Env env, Napi::Object exports, std::vector<Napi::ClassPropertyDescriptor<Derived>> methods) {
    methods.push_back(Bind<&ModelBinding::Save>("save"));
    methods.push_back(Napi::ObjectWrap<Derived>::InstanceMethod("dispose", &ModelBinding::Dispose));
    methods.push_back(Napi::ObjectWrap<Derived>::StaticMethod("createAsync", &ModelBinding::CreateAsync));
    exports.Set(Derived::kName, Napi::ObjectWrap<Derived>::DefineClass(env, Derived::kName, methods));
  }

  // An instance method whose body runs inside Guard with the state checked for dispose().
  template <auto M>
  static Napi::ClassPropertyDescriptor<Derived> Bind(const char* name) {
    return Napi::ObjectWrap<Derived>::InstanceMethod(name, &ModelBinding::Call<M>);
  }

  // Async: queues exec(model) on the libuv pool under the model lock; resolve(env) builds the
  // result on the JS thread (capture pinned inputs there). The work owns a reference to the state.
  template <typename Exec>
  static Napi::Promise Run(Napi::Env env, Shared s, Exec exec, PromiseWorker::Resolve resolve) {
    return PromiseWorker::Start(
        env,
        [s = std::move(s), exec = std::move(exec)]() mutable {
          std::lock_guard<std::mutex> lock(s->compute);
          exec(s->model);
        },
        std::move(resolve));
  }

 private:
  template <auto M>
  Napi::Value Call(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Check(state_ != nullptr, code::kDisposed, std::string("this ") + Derived::kName + " was disposed");
      return (static_cast<Derived*>(this)->*M)(info, state_);
    });
  }

  // Async: save(path) -> undefined. Serialised under the model lock, written outside it (a slow
  // disk never holds up the next computation), atomically. Throws ERR_MIST_IO.
  Napi::Value Save(const Napi::CallbackInfo& info, const Shared& s) {
    Check(info.Length() == 1 && info[0].IsString(), code::kArg, "save(path: string)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    return PromiseWorker::Start(
        info.Env(),
        [s, path]() {
          std::vector<char> bytes;
          {
            std::lock_guard<std::mutex> lock(s->compute);
            bytes = Derived::Serialise(s->model);
          }
          WriteAtomically(path, bytes);
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  }

  // Sync: dispose(): drops this object's reference; work in flight finishes on its own.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    state_.reset();
    return info.Env().Undefined();
  }

  // Async: Class.createAsync(options) -> a new instance, its model built on the libuv pool (a
  // full-size I3D takes about a second). Throws what new Class(options) throws.
  static Napi::Value CreateAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Check(info.Length() == 1 && info[0].IsObject(), code::kArg,
            std::string(Derived::kName) + ".createAsync(options)");
      Check(info.This().IsFunction(), code::kArg, "createAsync must be called on its class");
      auto options = Derived::ReadOptions(info[0].As<Napi::Object>());
      auto ctor = std::make_shared<Napi::FunctionReference>(Napi::Persistent(info.This().As<Napi::Function>()));
      auto built = std::make_shared<Shared>();
      return PromiseWorker::Start(
          env, [options, built]() { *built = std::make_shared<State>(options); },
          [ctor, built](Napi::Env) -> Napi::Value {
            // The constructor adopts the state (no JS runs in between, so nothing else can).
            adopting_ = built.get();
            Napi::Object o;
            try {
              o = ctor->New({});
            } catch (...) {
              adopting_ = nullptr;
              throw;
            }
            const bool adopted = adopting_ == nullptr;
            adopting_ = nullptr;
            Check(adopted, code::kArg, "createAsync must be called on its class");
            return o;
          });
    });
  }

  static inline thread_local Shared* adopting_ = nullptr;
  Shared state_;
};

// The JS classes: Generator (generator_binding.cc); SgaEncoder and encoderCheckpointConfig()
// (encoder_binding.cc). Sync; called once by the registry (addon.cc).
void InitGenerator(Napi::Env env, Napi::Object exports);
void InitSgaEncoder(Napi::Env env, Napi::Object exports);

}  // namespace mist
