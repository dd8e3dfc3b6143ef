// Errors as values at module boundaries.
//
// Every layer returns Result<T> (or Status for "no value") instead of throwing
// across its public header. An Error carries a small code that callers branch
// on, and a message written for the person who will read it in a log or an S3
// error document. The S3 error code a client sees is chosen in exactly one
// place (s3/errors.h) from these codes.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace holdfast {

enum class Errc {
  kInvalidArgument,  // the caller sent something malformed
  kNotFound,         // the thing asked for does not exist
  kAlreadyExists,    // creating something that is already there
  kConflict,         // state forbids it now (e.g. bucket not empty)
  kCorrupt,          // stored bytes failed verification
  kIo,               // local disk or file-system failure
  kUnavailable,      // a peer could not be reached or too few are up
  kPermission,       // authentication or authorisation refused
  kTooLarge,         // input exceeds a limit
  kInfeasible,       // the request cannot be satisfied by the topology/policy
  kInternal,         // a bug or an unexpected failure
  kLocked,           // a legal hold or retention forbids destroying this data
  kPreconditionFailed,  // a conditional write's condition did not hold
};

const char* ErrcName(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;
};

inline Error MakeError(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

// A value or an Error. Deliberately tiny: the project targets C++20, which has
// no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result for operations that produce no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace holdfast
