// core/util/expected.h - errors as values at subsystem boundaries.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace llmc {

/// A user-facing error: the message names the file, key or tensor at fault.
struct Error {
  std::string message;
  bool out_of_memory = false;  // a memory budget refused an allocation (plugins see LLMC_ERROR_OUT_OF_MEMORY)
};

/// A value or an Error (std::expected arrives only in C++23).
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}
  Expected(Error error) : state_(std::move(error)) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { assert(!has_value()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

/// Success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}
  static Status ok() { return {}; }

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  Error error() const { assert(failed_); return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace llmc

/// Returns the error of a failed Status or Expected from the enclosing function.
#define LLMC_TRY(expr)                                   \
  do {                                                   \
    auto&& llmc_try_result_ = (expr);                    \
    if (!llmc_try_result_) return llmc_try_result_.error(); \
  } while (0)
