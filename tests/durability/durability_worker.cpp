// The helper process of the durability tests: an engine on an LMDB store in
// a process of its own, so a test can SIGKILL it or run two at once.
//
//   durability_worker churn <dir> <seed> <maxOps> [threads]
//     Starts runs and advances them (with occasional forks from older
//     stateTokens) until maxOps operations have returned (0: forever).
//     With threads > 1, that many threads do so at once on one engine
//     (each its own runs, seed + thread index, maxOps each), so durable
//     commits are group-committed: several advances share one commit.
//     After each returned response it writes one line to stdout:
//       {"op": ..., "req": "<request text>", "resp": "<response text>"}
//     (request and response as strings, so the test compares bytes). A
//     line is written only after engine::call returned, i.e. after the
//     commit: a durable store must still have it after a SIGKILL.
//   durability_worker serve <dir> [configJson]
//     Opens the engine (with configJson instead of the default config for
//     dir when given), prints "ready" (or "open-error <error json>"), then for each stdin
//     line "<atMicros>\t<op>\t<request>" waits until CLOCK_REALTIME reaches
//     atMicros (0: no wait; the tests use it as a cross-process barrier),
//     calls the engine and prints the response on one line. Exits at EOF.
#include "durability/durability_common.hpp"

#include <tokenrail/engine/engine.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

namespace json = boost::json;

std::mutex output_mutex;   // whole lines, also from several churn threads

void write_line(const std::string& line) {
  std::lock_guard lock(output_mutex);
  std::string buf = line + "\n";
  const char* p = buf.data();
  std::size_t left = buf.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n <= 0) std::_Exit(3);   // the test went away
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::unique_ptr<tokenrail::engine> open_engine(const std::string& dir, const std::string& config = "") {
  auto e = config.empty() ? tokenrail::engine::open(json::value(trdur::lmdb_config(dir)))
                          : tokenrail::engine::open(std::string_view(config));
  if (!e) {
    write_line("open-error " + json::serialize(e.error().to_json()));
    std::_Exit(2);
  }
  return std::move(*e);
}

struct live_run {
  std::string state;
  std::string ack;
};

int churn_one(tokenrail::engine* eng, std::uint64_t seed, std::uint64_t max_ops) {
  std::mt19937_64 rng(seed);
  std::vector<live_run> live;
  std::vector<std::string> history;   // stateTokens seen, for forks
  std::uint64_t ops = 0, counter = 0;
  auto record = [&](std::string_view op, const std::string& req, const std::string& resp) {
    write_line(json::serialize(json::object{{"op", op}, {"req", req}, {"resp", resp}}));
    ++ops;
  };
  auto remember = [&](const json::value& r) -> bool {
    const auto& o = r.as_object();
    if (o.contains("error")) return false;
    history.emplace_back(o.at("stateToken").as_string());
    if (!o.at("isComplete").as_bool())
      live.push_back({std::string(o.at("stateToken").as_string()), std::string(o.at("ackToken").as_string())});
    return true;
  };
  while (max_ops == 0 || ops < max_ops) {
    const unsigned dice = static_cast<unsigned>(rng() % 100);
    if (live.size() < 3 || dice < 4) {
      json::object req;
      req["workflowId"] = (rng() % 2) ? "lin5" : "loop40";
      req["sessionId"] = "s-" + std::to_string(rng() % 4);
      req["idempotencyKey"] = "k-" + std::to_string(seed) + "-" + std::to_string(counter++);
      req["context"] = json::object{{"ticket", "T-" + std::to_string(counter)}};
      const std::string text = json::serialize(req);
      const std::string resp = eng->call("start_workflow", text);
      record("start_workflow", text, resp);
      if (!remember(json::parse(resp))) return 4;
      continue;
    }
    if (dice < 9 && !history.empty()) {
      // A fork: rehydrate an older state (read-only, a fresh attempt) and
      // advance from it. Rehydrates are not replayable (fresh attempt each
      // time), so only the advance is recorded.
      const std::string st = history[rng() % history.size()];
      const std::string resp = eng->call("continue_workflow", json::serialize(json::object{{"stateToken", st}}));
      auto r = json::parse(resp);
      if (r.as_object().contains("error")) return 5;
      if (!r.at("isComplete").as_bool()) live.push_back({st, std::string(r.at("ackToken").as_string())});
      continue;
    }
    const std::size_t i = rng() % live.size();
    live_run run = live[i];
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    json::object req;
    req["stateToken"] = run.state;
    req["ackToken"] = run.ack;
    req["output"] = json::object{{"notesMarkdown", "note " + std::to_string(counter++) + " from " + std::to_string(seed)}};
    const std::string text = json::serialize(req);
    const std::string resp = eng->call("continue_workflow", text);
    record("continue_workflow", text, resp);
    if (!remember(json::parse(resp))) return 6;
  }
  return 0;
}

int churn(const std::string& dir, std::uint64_t seed, std::uint64_t max_ops, int threads) {
  auto eng = open_engine(dir);
  if (threads <= 1) return churn_one(eng.get(), seed, max_ops);
  std::atomic<int> failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      if (int rc = churn_one(eng.get(), seed + static_cast<std::uint64_t>(t), max_ops)) failed = rc;
    });
  for (auto& th : pool) th.join();
  return failed.load();
}

int serve(const std::string& dir, const std::string& config) {
  auto eng = open_engine(dir, config);
  write_line("ready");
  std::string line;
  while (std::getline(std::cin, line)) {
    auto t1 = line.find('\t');
    auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos) {
      write_line("bad-line");
      continue;
    }
    const std::int64_t at = std::stoll(line.substr(0, t1));
    const std::string op = line.substr(t1 + 1, t2 - t1 - 1);
    const std::string body = line.substr(t2 + 1);
    if (at > 0) {
      using namespace std::chrono;
      while (duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() < at) {
      }   // spin: both workers leave the barrier within microseconds
    }
    write_line(eng->call(op, body));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv, argv + argc);
  if ((a.size() == 5 || a.size() == 6) && a[1] == "churn")
    return churn(a[2], std::stoull(a[3]), std::stoull(a[4]), a.size() == 6 ? std::stoi(a[5]) : 1);
  if ((a.size() == 3 || a.size() == 4) && a[1] == "serve") return serve(a[2], a.size() == 4 ? a[3] : "");
  std::fprintf(stderr, "usage: durability_worker churn <dir> <seed> <maxOps> [threads] | serve <dir> [configJson]\n");
  return 2;
}
