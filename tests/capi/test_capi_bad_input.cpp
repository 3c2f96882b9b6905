// Bad input through the C ABI: each case is a documented status (or an
// error as data), never a crash. Run under ASan in CI.
#include "capi_test_support.hpp"

using namespace capi_test;

namespace {
void require_invalid_argument(const char* argument) {
  auto err = last_error();
  REQUIRE(error_code(err) == "INVALID_ARGUMENT");
  REQUIRE(err.at("error").at("numericCode").as_int64() == 1010);
  REQUIRE(err.at("error").at("details").at("argument").as_string() == argument);
}
}  // namespace

TEST_CASE("open with NULL arguments") {
  tokenrail_engine* engine = nullptr;
  REQUIRE(tokenrail_engine_open(nullptr, "{}", 2) == TOKENRAIL_ERR_INVALID_ARGUMENT);
  require_invalid_argument("out_engine");
  REQUIRE(tokenrail_engine_open(&engine, nullptr, 0) == TOKENRAIL_ERR_INVALID_ARGUMENT);
  require_invalid_argument("config_json");
  REQUIRE(engine == nullptr);
}

TEST_CASE("call with NULL arguments") {
  engine_fixture f;
  char* out = reinterpret_cast<char*>(&f);  // must be reset to NULL
  size_t len = 99;
  REQUIRE(tokenrail_call(nullptr, "start_workflow", "{}", 2, &out, &len) == TOKENRAIL_ERR_INVALID_ARGUMENT);
  require_invalid_argument("engine");
  REQUIRE(out == nullptr);
  REQUIRE(len == 0);
  REQUIRE(tokenrail_call(f.engine, nullptr, "{}", 2, &out, &len) == TOKENRAIL_ERR_INVALID_ARGUMENT);
  require_invalid_argument("operation");
  REQUIRE(tokenrail_call(f.engine, "start_workflow", nullptr, 0, &out, &len) == TOKENRAIL_ERR_INVALID_ARGUMENT);
  require_invalid_argument("request_json");
  REQUIRE(tokenrail_call(f.engine, "start_workflow", "{}", 2, nullptr, &len) == TOKENRAIL_ERR_INVALID_ARGUMENT);
  require_invalid_argument("out_response");
  REQUIRE(len == 0);
  // out_len is optional.
  REQUIRE(tokenrail_call(f.engine, "start_workflow", R"({"workflowId":"capi-demo"})", TOKENRAIL_NUL_TERMINATED,
                         &out, nullptr) == TOKENRAIL_OK);
  REQUIRE(out != nullptr);
  tokenrail_string_free(out);
}

TEST_CASE("string_free(NULL) is a no-op") { tokenrail_string_free(nullptr); }

TEST_CASE("request text that is not JSON is an error as data") {
  engine_fixture f;
  auto r = call(f.engine, "start_workflow", "{workflowId: capi-demo");
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(r.body) == "INVALID_JSON");
  REQUIRE(r.body.at("error").at("numericCode").as_int64() == 1001);
  REQUIRE(r.body.at("error").at("retry").at("kind").as_string() == "not_retryable");
}

TEST_CASE("a zero-length request is an error as data") {
  engine_fixture f;
  auto r = call(f.engine, "start_workflow", std::string_view("{}", 0));
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(r.body) == "INVALID_JSON");
}

TEST_CASE("invalid UTF-8 in the request is an error as data") {
  engine_fixture f;
  const std::string bad = "{\"workflowId\": \"capi-demo\xc3\x28\"}";
  auto r = call(f.engine, "start_workflow", bad);
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(r.body) == "INVALID_UTF8");
  REQUIRE(r.body.at("error").at("numericCode").as_int64() == 1006);
}

TEST_CASE("invalid UTF-8 in the operation name is an error as data") {
  engine_fixture f;
  auto r = call(f.engine, "start_\xff\xfe", "{}");
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(r.body) == "INVALID_UTF8");
  REQUIRE(r.body.at("error").at("details").at("argument").as_string() == "operation");
}

TEST_CASE("an unknown operation is an error as data") {
  engine_fixture f;
  auto r = call(f.engine, "launch_missiles", "{}");
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(r.body) == "UNKNOWN_OPERATION");
  REQUIRE(r.body.at("error").at("numericCode").as_int64() == 1003);
}

TEST_CASE("an embedded NUL inside the given length is part of the request") {
  engine_fixture f;
  const std::string with_nul("{\"workflowId\": \"capi-demo\"}\0{", 29);
  auto r = call(f.engine, "start_workflow", with_nul);
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(r.body.at("error").at("numericCode").as_int64() / 1000 == 1);
}

TEST_CASE("a request that is JSON but not an object is an error as data") {
  engine_fixture f;
  for (const char* req : {"[]", "null", "42", "\"start\""}) {
    INFO(req);
    auto r = call(f.engine, "start_workflow", req);
    REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
    REQUIRE(error_code(r.body) == "INVALID_REQUEST");
  }
}

TEST_CASE("tokens of the wrong shape are token errors as data") {
  engine_fixture f;
  for (const char* token : {"", "st1_", "ak1_abc", "not a token", "st1_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"}) {
    INFO(token);
    auto r = call(f.engine, "continue_workflow", json::object{{"stateToken", token}});
    REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
    const auto numeric = r.body.at("error").at("numericCode").as_int64();
    REQUIRE((numeric / 1000 == 2 || numeric == 1002));
  }
}
