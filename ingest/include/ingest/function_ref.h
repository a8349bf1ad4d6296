// FunctionRef: a non-owning, non-allocating reference to a callable.
//
// The parsers call a sink once per point; std::function could allocate and adds
// an indirection through a heap object, which matters at ~1M points/s.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace flowdb::ingest {

template <class Sig>
class FunctionRef;

// Refers to (never copies) a callable; the callable must outlive the FunctionRef.
// Thread-safety: as safe as the referenced callable.
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>) FunctionRef(F&& f)
  noexcept  // NOLINT(google-explicit-constructor): used like std::function.
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, Args... args) -> R {
          return (*static_cast<std::add_pointer_t<std::remove_reference_t<F>>>(obj))(
              std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

}  // namespace flowdb::ingest
