#include <tokenrail/error.hpp>

#include <boost/json/object.hpp>

#include <array>

namespace tokenrail {
namespace {

struct code_row {
  errc code;
  std::string_view name;
  retry_kind retry;
  std::string_view text;
};

constexpr std::array code_table{
#define TOKENRAIL_X(name, num, retry, text) code_row{errc::name, #name, retry_kind::retry, text},
    TOKENRAIL_ERROR_CODES(TOKENRAIL_X)
#undef TOKENRAIL_X
};

const code_row* find_row(errc code) noexcept {
  for (const auto& row : code_table)
    if (row.code == code) return &row;
  return nullptr;
}

}  // namespace

std::string_view errc_name(errc code) noexcept {
  const auto* row = find_row(code);
  return row ? row->name : std::string_view("UNKNOWN");
}

retry_kind errc_retry(errc code) noexcept {
  const auto* row = find_row(code);
  return row ? row->retry : retry_kind::not_retryable;
}

std::string_view errc_text(errc code) noexcept {
  const auto* row = find_row(code);
  return row ? row->text : std::string_view("unknown error");
}

std::optional<errc> errc_from_name(std::string_view name) noexcept {
  for (const auto& row : code_table)
    if (row.name == name) return row.code;
  return std::nullopt;
}

std::string_view retry_kind_name(retry_kind kind) noexcept {
  switch (kind) {
    case retry_kind::not_retryable: return "not_retryable";
    case retry_kind::retryable_immediate: return "retryable_immediate";
    case retry_kind::retryable_after_ms: return "retryable_after_ms";
  }
  return "not_retryable";
}

error error::make(errc code, std::string message, boost::json::value details) {
  error e;
  e.code = code;
  e.message = message.empty() ? std::string(errc_text(code)) : std::move(message);
  e.retry = errc_retry(code);
  // A busy store frees up within a few commits; 50 ms is a polite first wait.
  if (e.retry == retry_kind::retryable_after_ms) e.after_ms = 50;
  e.details = std::move(details);
  return e;
}

error error::at(errc code, std::string_view pointer, std::string_view expected, std::string message) {
  boost::json::object details;
  details["pointer"] = pointer;
  details["expected"] = expected;
  if (message.empty()) {
    message = std::string(pointer.empty() ? "/" : pointer);
    message += ": expected ";
    message += expected;
  }
  return make(code, std::move(message), std::move(details));
}

boost::json::object error::to_json() const {
  boost::json::object retry_obj;
  retry_obj["kind"] = retry_kind_name(retry);
  if (retry == retry_kind::retryable_after_ms) retry_obj["afterMs"] = static_cast<std::int64_t>(after_ms);

  boost::json::object body;
  body["code"] = errc_name(code);
  body["numericCode"] = numeric_code();
  body["message"] = message;
  body["retry"] = std::move(retry_obj);
  if (!details.is_null()) body["details"] = details;

  boost::json::object out;
  out["error"] = std::move(body);
  return out;
}

}  // namespace tokenrail
