// Shared by the fuzz targets: one call through the C ABI, checked.
#pragma once

#include <tokenrail.h>

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace trfuzz {

/// A finding: print what broke and abort, so libFuzzer keeps the input
/// (and a replay run fails).
[[noreturn]] inline void finding(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz finding: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// Calls `operation` and checks the C ABI's promises whatever the request
/// was: a status of the documented set, a response only with OK or
/// ERR_RESPONSE, JSON text, and errors as data ({"error": {"code": ...}}).
/// Returns the parsed response (null when there is none).
inline boost::json::value call(tokenrail_engine* engine, const char* operation, std::string_view request,
                               tokenrail_status* status_out = nullptr) {
  char* out = nullptr;
  std::size_t len = 0;
  const tokenrail_status status = tokenrail_call(engine, operation, request.data(), request.size(), &out, &len);
  if (status_out) *status_out = status;
  if (status != TOKENRAIL_OK && status != TOKENRAIL_ERR_RESPONSE) {
    if (out) finding("a response with a failure status", operation);
    if (status == TOKENRAIL_ERR_NO_MEMORY) return nullptr;
    finding("unexpected status", tokenrail_status_name(status));
  }
  if (!out) finding("no response", operation);
  const std::string text(out, len);
  tokenrail_string_free(out);
  static const bool trace = std::getenv("TOKENRAIL_FUZZ_TRACE") != nullptr;   // to read what an input does
  if (trace) std::fprintf(stderr, "%s %.*s\n  -> %.300s\n", operation, static_cast<int>(request.size()), request.data(), text.c_str());
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) finding("response is not a JSON object", text);
  const auto* err = v.as_object().if_contains("error");
  if ((status == TOKENRAIL_ERR_RESPONSE) != (err != nullptr)) finding("status and response disagree", text);
  if (err && !(err->is_object() && err->as_object().contains("code") && err->as_object().at("code").is_string()))
    finding("an error without a code", text);
  // The replay of the log must rebuild what the live path stored, for any
  // sequence of requests: a verify that finds a difference is a bug.
  if (std::string_view(operation) == "verify" && !err) {
    const auto* ok = v.as_object().if_contains("ok");
    if (!ok || !ok->is_bool() || !ok->as_bool()) finding("verify found a difference", text);
  }
  return v;
}

}  // namespace trfuzz
