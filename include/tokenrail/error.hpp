// Errors as data (D6): one error type for the whole library.
//
// Public functions that can fail return result<T>. Deep inside the engine a
// failure may be thrown as tokenrail::failure and is turned back into data at
// the operation boundary (engine::call); no exception ever leaves the
// library through the C ABI.
#pragma once

#include <tokenrail/error_codes.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tokenrail {

enum class errc : std::uint16_t {
#define TOKENRAIL_X(name, num, retry, text) name = num,
  TOKENRAIL_ERROR_CODES(TOKENRAIL_X)
#undef TOKENRAIL_X
};

enum class retry_kind : std::uint8_t { not_retryable, retryable_immediate, retryable_after_ms };

/// The canonical spelling of a code ("ACK_ALREADY_USED"); "UNKNOWN" if none.
std::string_view errc_name(errc code) noexcept;
/// The registry's default retry advice for a code; not_retryable if none.
retry_kind errc_retry(errc code) noexcept;
/// The registry's one-line meaning of a code; "unknown error" if none.
std::string_view errc_text(errc code) noexcept;
/// Looks a code up by its exact (case-sensitive) spelling; nullopt if none.
std::optional<errc> errc_from_name(std::string_view name) noexcept;
/// "not_retryable", "retryable_immediate", "retryable_after_ms".
std::string_view retry_kind_name(retry_kind kind) noexcept;
// The views returned above are static: valid for the process lifetime.
// All of these are thread-safe.

struct error {
  errc code = errc::INTERNAL;
  std::string message;
  retry_kind retry = retry_kind::not_retryable;
  std::uint32_t after_ms = 0;        // only for retryable_after_ms
  boost::json::value details;        // null when absent; object otherwise

  /// An error with the registry's retry advice (after_ms 50 for
  /// retryable_after_ms). An empty message becomes errc_text(code).
  static error make(errc code, std::string message, boost::json::value details = nullptr);
  /// INVALID_REQUEST (or another code) naming the JSON pointer of the bad
  /// field and what was expected: details = {pointer, expected}. An empty
  /// message becomes "<pointer or />: expected <expected>".
  static error at(errc code, std::string_view pointer, std::string_view expected,
                  std::string message = {});

  int numeric_code() const noexcept { return static_cast<int>(code); }
  /// {"error": {code, numericCode, message, retry: {kind, afterMs?}, details?}}
  boost::json::object to_json() const;
};

/// The exception form of an error, for internal propagation only.
class failure : public std::exception {
 public:
  explicit failure(error e) : error_(std::move(e)) {}
  const char* what() const noexcept override { return error_.message.c_str(); }
  const error& err() const noexcept { return error_; }
  error& err() noexcept { return error_; }

 private:
  error error_;
};

[[noreturn]] inline void fail(errc code, std::string message, boost::json::value details = nullptr) {
  throw failure(error::make(code, std::move(message), std::move(details)));
}

/// A value or an error. Small on purpose: has_value/value/error/operator->.
/// value() / operator* / operator-> on an error, and error() on a value,
/// throw std::bad_variant_access (result<void>: error() on success is
/// undefined behaviour). Check has_value() first.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(tokenrail::error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const tokenrail::error& error() const& { return std::get<1>(v_); }
  tokenrail::error&& error() && { return std::get<1>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// The value, or throw failure with the error (inside the engine only).
  T take() && {
    if (!has_value()) throw failure(std::get<1>(std::move(v_)));
    return std::get<0>(std::move(v_));
  }

 private:
  std::variant<T, tokenrail::error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(tokenrail::error e) : e_(std::move(e)) {}
  bool has_value() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  const tokenrail::error& error() const& { return *e_; }
  tokenrail::error&& error() && { return std::move(*e_); }
  void take() && {
    if (e_) throw failure(std::move(*e_));
  }

 private:
  std::optional<tokenrail::error> e_;
};

}  // namespace tokenrail
