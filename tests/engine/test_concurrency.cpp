// The engine is safe to call from many threads (D6, D9).
#include "engine/support.hpp"

#include <algorithm>
#include <mutex>
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

TEST_CASE("two engines on one LMDB store in one process: threads advance through both while both rotate keys",
          "[engine][concurrency]") {
  // A host may open one store twice (two MCP servers in one process): the
  // engines share the LMDB environment and the keyring file. Every step is
  // advanced through the other engine than the one that minted its tokens,
  // so a rotation in one engine reaches the other through the keyring file
  // (an unknown key id makes it reload the file) while both are in use.
  const std::string dir = fresh_dir("lmdb-two-engines");
  auto first = shared_lmdb_engine(dir, {linear_workflow("lin5", 5)});
  auto second = shared_lmdb_engine(dir, {linear_workflow("lin5", 5)});
  tokenrail::engine* engines[2] = {first.get(), second.get()};

  std::mutex mu;
  std::vector<std::string> problems;
  std::vector<std::int64_t> key_ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      int which = t % 2;
      for (int k = 0; k < 6; ++k) {
        auto r = start(*engines[which], "lin5");
        while (error_code(r).empty() && r.as_object().contains("ackToken")) {
          which ^= 1;
          r = advance(*engines[which], r);
        }
        if (!error_code(r).empty()) {
          std::lock_guard lock(mu);
          problems.push_back(json::serialize(r));
          return;
        }
        if (k == 2) {
          auto rotated = call(*engines[which], "rotate_key", json::object{});
          std::lock_guard lock(mu);
          if (!error_code(rotated).empty()) problems.push_back(json::serialize(rotated));
          else key_ids.push_back(rotated.at("keyId").as_int64());
        }
      }
    });
  for (auto& th : threads) th.join();
  INFO((problems.empty() ? std::string() : problems.front()));
  CHECK(problems.empty());
  // Eight rotations through two engines, serialized by the keyring file's
  // lock: eight new keys, none handed out twice.
  std::sort(key_ids.begin(), key_ids.end());
  CHECK(key_ids.size() == 8);
  CHECK(std::adjacent_find(key_ids.begin(), key_ids.end()) == key_ids.end());
  CHECK(verify(*first).ok);
  CHECK(verify(*second).ok);
}
