// Status and Result<T>: error returns in the style of LevelDB's Status.
//
// Every fallible call in deskbot returns one of these instead of throwing, so
// a caller sees at the call site that something can fail, and an error keeps a
// readable message that names what failed ("rt: ticket 42: HTTP 500 ...").
// Messages must never contain secrets: callers build them from ids and
// reasons, not from request headers or configuration values.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace util {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,  // bad input: malformed JSON, a bad row, a bad setting
    kCorruption,       // stored data or a file failed a check
    kIOError,          // disk, network, a peer that failed
    kUnauthorized,     // a bad signature, token or an agent who may not decide
    kUnavailable,      // try again later: 429, 5xx, timeouts
    kAlreadyExists,
    kInternal,
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Unauthorized(std::string msg) {
    return Status(Code::kUnauthorized, std::move(msg));
  }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "not found: ticket 42" -- for logs and CLI errors.
  std::string ToString() const;

  // Returns a copy whose message is "context: message" (context first, so the
  // outermost caller's words lead: "harvest rt: ticket 42: HTTP 500").
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

inline const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kUnauthorized: return "unauthorized";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kAlreadyExists: return "already exists";
    case Status::Code::kInternal: return "internal error";
  }
  return "unknown";
}

inline std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

// Result<T>: a value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Status status) : v_(std::move(status)) {}   // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace util

// Propagates a non-OK Status to the caller.
#define DESK_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::util::Status _st = (expr);                \
    if (!_st.ok()) return _st;                  \
  } while (0)
