// The engine handle is shared by threads; close waits for calls in flight
// and refuses the ones that start after it.
#include "capi_test_support.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace capi_test;

TEST_CASE("many threads call one engine at once") {
  engine_fixture f;
  auto start = call(f.engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  REQUIRE(start.status == TOKENRAIL_OK);
  const std::string rehydrate = json::serialize(json::object{{"stateToken", start.body.at("stateToken")}});

  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        char* out = nullptr;
        size_t len = 0;
        auto st = tokenrail_call(f.engine, "continue_workflow", rehydrate.data(), rehydrate.size(), &out, &len);
        (st == TOKENRAIL_OK && out && len > 0 ? ok : bad)++;
        tokenrail_string_free(out);
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(bad == 0);
  REQUIRE(ok == 800);
}

TEST_CASE("close while other threads call: each call succeeds or is CLOSED, never a crash") {
  tokenrail_engine* engine = nullptr;
  const std::string config = memory_config();
  REQUIRE(tokenrail_engine_open(&engine, config.data(), config.size()) == TOKENRAIL_OK);

  std::atomic<bool> go{false};
  std::atomic<int> ok{0}, closed{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      // Bounded: each thread stops at the first CLOSED it sees.
      for (int i = 0; i < 1000000; ++i) {
        char* out = nullptr;
        const char* req = R"({"workflowId": "capi-demo"})";
        auto st = tokenrail_call(engine, "start_workflow", req, TOKENRAIL_NUL_TERMINATED, &out, nullptr);
        if (st == TOKENRAIL_OK)
          ++ok;
        else if (st == TOKENRAIL_ERR_CLOSED && out == nullptr) {
          ++closed;
          break;
        } else
          ++other;
        tokenrail_string_free(out);
      }
    });
  go = true;
  while (ok.load() < 20) std::this_thread::yield();
  REQUIRE(tokenrail_engine_close(engine) == TOKENRAIL_OK);
  // Close has returned: nothing can be admitted any more.
  char* out = nullptr;
  REQUIRE(tokenrail_call(engine, "start_workflow", "{}", 2, &out, nullptr) == TOKENRAIL_ERR_CLOSED);
  for (auto& t : threads) t.join();
  REQUIRE(other == 0);
  REQUIRE(ok >= 20);
  REQUIRE(closed == 3);  // every caller saw the close, none crashed
}
