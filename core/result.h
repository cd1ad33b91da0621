// Errors are values: every fallible operation in attestlab returns Result<T>.
//
// Error::type is an ACME error short name (RFC 8555 §6.7 and the device-attest draft:
// "malformed", "badNonce", "badCSR", "badAttestationStatement", ...) whenever the failure
// maps to one, so the server can turn it into a problem document without translation.
// Non-protocol failures use "serverInternal" (I/O, OpenSSL, database).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace attestlab {

struct Error {
  std::string type = "serverInternal";  // ACME error short name
  std::string detail;                   // human readable, safe to show a client
  int status = 0;                       // HTTP status; 0 = derive from type

  static Error make(std::string type, std::string detail, int status = 0) {
    return Error{std::move(type), std::move(detail), status};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

inline Result<void> ok() { return {}; }

}  // namespace attestlab

// Propagate an error from an expression returning Result<...>.
#define ATTESTLAB_TRY(expr)                         \
  do {                                              \
    auto&& attestlab_try_r_ = (expr);               \
    if (!attestlab_try_r_.ok()) return attestlab_try_r_.error(); \
  } while (0)
