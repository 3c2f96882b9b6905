// Helpers for the C ABI tests: they go through tokenrail.h only and parse
// responses with Boost.JSON to check what came back.
#pragma once

#include <tokenrail.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <cstring>

namespace capi_test {

namespace json = boost::json;

// The workflow of tests/capi/workflows/capi-demo.json, given inline.
inline std::string demo_definition() {
  return R"({"id": "capi-demo", "name": "C ABI demo", "description": "three plain steps",
             "version": "1.0.0", "steps": [
               {"id": "gather", "title": "Gather the facts", "prompt": "List what you know."},
               {"id": "plan", "title": "Make a plan", "prompt": "Write a short plan."},
               {"id": "report", "title": "Report", "prompt": "Summarise what was done."}]})";
}

inline std::string memory_config() {
  return R"({"store": {"backend": "memory"}, "definitions": [)" + demo_definition() + "]}";
}

struct reply {
  tokenrail_status status = TOKENRAIL_ERR_INTERNAL;
  std::string text;
  json::value body;  // parsed text; null when there was no response
};

inline reply call(tokenrail_engine* engine, const char* op, std::string_view request) {
  reply r;
  char* out = nullptr;
  size_t len = 12345;
  r.status = tokenrail_call(engine, op, request.data(), request.size(), &out, &len);
  if (out) {
    r.text.assign(out, len);
    REQUIRE(std::strlen(out) == len);
    tokenrail_string_free(out);
    r.body = json::parse(r.text);
  } else {
    REQUIRE(len == 0);
  }
  return r;
}

inline reply call(tokenrail_engine* engine, const char* op, const json::object& request) {
  return call(engine, op, json::serialize(request));
}

inline json::value last_error() {
  const char* text = tokenrail_last_error();
  REQUIRE(text != nullptr);
  return json::parse(text);
}

inline std::string error_code(const json::value& error_doc) {
  return std::string(error_doc.at("error").at("code").as_string());
}

// Opens an engine over a memory store with the demo workflow.
struct engine_fixture {
  tokenrail_engine* engine = nullptr;
  engine_fixture() {
    const std::string config = memory_config();
    const tokenrail_status st = tokenrail_engine_open(&engine, config.data(), config.size());
    INFO((tokenrail_last_error() ? tokenrail_last_error() : "no last error"));
    REQUIRE(st == TOKENRAIL_OK);
    REQUIRE(engine != nullptr);
  }
  ~engine_fixture() { tokenrail_engine_close(engine); }
  engine_fixture(const engine_fixture&) = delete;
  engine_fixture& operator=(const engine_fixture&) = delete;
};

}  // namespace capi_test
