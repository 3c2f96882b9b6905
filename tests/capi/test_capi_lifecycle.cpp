// Open, close, the closed-handle semantics and the thread-local last error.
#include "capi_test_support.hpp"

#include <cstdint>
#include <thread>

using namespace capi_test;

TEST_CASE("an engine opens from {} and closes") {
  tokenrail_engine* engine = nullptr;
  REQUIRE(tokenrail_engine_open(&engine, "{}", TOKENRAIL_NUL_TERMINATED) == TOKENRAIL_OK);
  REQUIRE(engine != nullptr);
  REQUIRE(tokenrail_last_error() == nullptr);
  REQUIRE(tokenrail_engine_close(engine) == TOKENRAIL_OK);
  REQUIRE(tokenrail_last_error() == nullptr);
}

TEST_CASE("the config length is honoured: bytes after it are not read") {
  const std::string config = memory_config() + "garbage that is not JSON";
  tokenrail_engine* engine = nullptr;
  REQUIRE(tokenrail_engine_open(&engine, config.data(), memory_config().size()) == TOKENRAIL_OK);
  REQUIRE(tokenrail_engine_close(engine) == TOKENRAIL_OK);
}

TEST_CASE("two engines are independent handles") {
  engine_fixture a, b;
  REQUIRE(a.engine != b.engine);
  auto r = call(a.engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  REQUIRE(r.status == TOKENRAIL_OK);
  REQUIRE(tokenrail_engine_close(b.engine) == TOKENRAIL_OK);
  b.engine = nullptr;
  // a is untouched by closing b.
  auto again = call(a.engine, "continue_workflow",
                    json::object{{"stateToken", r.body.at("stateToken")}});
  REQUIRE(again.status == TOKENRAIL_OK);
}

TEST_CASE("close(NULL) is a no-op that succeeds") {
  REQUIRE(tokenrail_engine_close(nullptr) == TOKENRAIL_OK);
  REQUIRE(tokenrail_last_error() == nullptr);
}

TEST_CASE("a closed engine: every later use is TOKENRAIL_ERR_CLOSED, never a crash") {
  tokenrail_engine* engine = nullptr;
  const std::string config = memory_config();
  REQUIRE(tokenrail_engine_open(&engine, config.c_str(), TOKENRAIL_NUL_TERMINATED) == TOKENRAIL_OK);
  REQUIRE(tokenrail_engine_close(engine) == TOKENRAIL_OK);

  auto r = call(engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  REQUIRE(r.status == TOKENRAIL_ERR_CLOSED);
  REQUIRE(r.text.empty());
  auto err = last_error();
  REQUIRE(error_code(err) == "ENGINE_CLOSED");
  REQUIRE(err.at("error").at("numericCode").as_int64() == 5011);

  // A second close is reported, not undefined behaviour.
  REQUIRE(tokenrail_engine_close(engine) == TOKENRAIL_ERR_CLOSED);
  REQUIRE(error_code(last_error()) == "ENGINE_CLOSED");

  // A new engine never gets the old handle back, so the stale one stays dead.
  tokenrail_engine* fresh = nullptr;
  REQUIRE(tokenrail_engine_open(&fresh, config.c_str(), TOKENRAIL_NUL_TERMINATED) == TOKENRAIL_OK);
  REQUIRE(fresh != engine);
  REQUIRE(call(engine, "start_workflow", R"({"workflowId": "capi-demo"})").status == TOKENRAIL_ERR_CLOSED);
  REQUIRE(call(fresh, "start_workflow", R"({"workflowId": "capi-demo"})").status == TOKENRAIL_OK);
  REQUIRE(tokenrail_engine_close(fresh) == TOKENRAIL_OK);
}

TEST_CASE("a handle that was never opened is TOKENRAIL_ERR_CLOSED") {
  // Any non-NULL value the library did not hand out, e.g. a host's own
  // pointer passed by mistake: looked up in the handle table, never read.
  int not_an_engine = 42;
  auto* bogus = reinterpret_cast<tokenrail_engine*>(&not_an_engine);
  REQUIRE(call(bogus, "start_workflow", "{}").status == TOKENRAIL_ERR_CLOSED);
  REQUIRE(tokenrail_engine_close(bogus) == TOKENRAIL_ERR_CLOSED);
  REQUIRE(call(reinterpret_cast<tokenrail_engine*>(std::uintptr_t{1}), "start_workflow", "{}").status ==
          TOKENRAIL_ERR_CLOSED);
}

TEST_CASE("the last error is cleared by the next successful call") {
  engine_fixture f;
  REQUIRE(call(nullptr, "start_workflow", "{}").status == TOKENRAIL_ERR_INVALID_ARGUMENT);
  REQUIRE(tokenrail_last_error() != nullptr);
  REQUIRE(call(f.engine, "start_workflow", R"({"workflowId": "capi-demo"})").status == TOKENRAIL_OK);
  REQUIRE(tokenrail_last_error() == nullptr);
}

TEST_CASE("an error as data leaves no last error: the response carries it") {
  engine_fixture f;
  auto r = call(f.engine, "start_workflow", R"({"workflowId": "no-such-workflow"})");
  REQUIRE(r.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(r.body) == "WORKFLOW_NOT_FOUND");
  REQUIRE(tokenrail_last_error() == nullptr);
}

TEST_CASE("the last error is per thread") {
  REQUIRE(tokenrail_engine_close(reinterpret_cast<tokenrail_engine*>(std::uintptr_t{3})) == TOKENRAIL_ERR_CLOSED);
  REQUIRE(tokenrail_last_error() != nullptr);
  const char* seen_elsewhere = "unset";
  std::thread other([&] { seen_elsewhere = tokenrail_last_error(); });
  other.join();
  REQUIRE(seen_elsewhere == nullptr);
  REQUIRE(tokenrail_last_error() != nullptr);  // still ours
}

TEST_CASE("a config the engine refuses is TOKENRAIL_ERR_OPEN_FAILED with the engine's error") {
  tokenrail_engine* engine = reinterpret_cast<tokenrail_engine*>(std::uintptr_t{0xdead});
  SECTION("not JSON") {
    REQUIRE(tokenrail_engine_open(&engine, "{store:", TOKENRAIL_NUL_TERMINATED) == TOKENRAIL_ERR_OPEN_FAILED);
    auto err = last_error();
    REQUIRE(err.at("error").at("numericCode").as_int64() / 1000 == 1);
  }
  SECTION("not an object") {
    REQUIRE(tokenrail_engine_open(&engine, "[1, 2]", TOKENRAIL_NUL_TERMINATED) == TOKENRAIL_ERR_OPEN_FAILED);
    REQUIRE(error_code(last_error()) == "INVALID_CONFIG");
  }
  SECTION("an unknown store backend") {
    REQUIRE(tokenrail_engine_open(&engine, R"({"store": {"backend": "floppy"}})", TOKENRAIL_NUL_TERMINATED) ==
            TOKENRAIL_ERR_OPEN_FAILED);
    REQUIRE(error_code(last_error()) == "INVALID_CONFIG");
  }
  SECTION("zero bytes") {
    REQUIRE(tokenrail_engine_open(&engine, "", 0) == TOKENRAIL_ERR_OPEN_FAILED);
    REQUIRE(last_error().at("error").at("numericCode").as_int64() / 1000 == 1);
  }
  SECTION("invalid UTF-8") {
    const char config[] = "{\"store\": {\"backend\": \"memory\"}, \"x\": \"\xff\xfe\"}";
    REQUIRE(tokenrail_engine_open(&engine, config, sizeof config - 1) == TOKENRAIL_ERR_OPEN_FAILED);
    REQUIRE(last_error().at("error").at("numericCode").as_int64() / 1000 == 1);
  }
  REQUIRE(engine == nullptr);  // out parameter reset on failure
}
