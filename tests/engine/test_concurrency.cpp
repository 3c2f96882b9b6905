// The engine is safe to call from many threads (D6, D9).
#include "engine/support.hpp"

#include <thread>

using namespace trtest;

TEST_CASE("8 threads advancing the same pair create one child and get one response", "[engine][concurrency]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  for (int round = 0; round < 20; ++round) {
    auto r = start(*e, "lin3");
    const std::string body = json::serialize(json::object{
        {"stateToken", r.at("stateToken")}, {"ackToken", r.at("ackToken")}, {"output", json::object{{"notesMarkdown", "n"}}}});
    std::vector<std::string> out(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) threads.emplace_back([&, i] { out[i] = e->call("continue_workflow", body); });
    for (auto& t : threads) t.join();
    for (int i = 1; i < 8; ++i) CHECK(out[i] == out[0]);
    CHECK(error_code(json::parse(out[0])).empty());
    auto run = call(*e, "get_run", json::object{{"runId", r.at("session").at("runId")}});
    CHECK(run.at("status").at("nodeCount") == 2);
  }
  CHECK(verify(*e).ok);
}

TEST_CASE("threads advancing different runs concurrently all succeed", "[engine][concurrency]") {
  auto e = make_engine("memory", {linear_workflow("lin5", 5)});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        auto r = start(*e, "lin5");
        while (r.as_object().contains("ackToken")) {
          r = advance(*e, r);
          if (!error_code(r).empty()) {
            ++failures;
            break;
          }
        }
        // A rotation racing the advances must not break anything.
        if (k == 5) (void)call(*e, "rotate_key", json::object{});
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(verify(*e).ok);
}
