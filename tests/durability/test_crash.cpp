// Issue 4 crash test: a worker process advances runs on a DURABLE LMDB store
// and reports every returned response on a pipe; the test SIGKILLs it at
// random moments, many times, on one store whose history accumulates (every
// fifth round two workers write at once and both are killed). After
// each kill: the store opens, verify passes, every reported response
// replays byte-identically, and no step was advanced twice.
#include "durability/store_checks.hpp"

#include <chrono>
#include <random>

using namespace trdur;

namespace {

/// After a kill: the store opens, verify passes, every reported response
/// replays byte for byte, no step was advanced twice, and every reported
/// advance created a node that is still there.
void check_store_after_kill(const std::string& dir, const std::vector<std::string>& reported) {
  auto e = open_engine(dir);
  CHECK(verify_op(*e).at("ok").as_bool());
  CHECK(replay_mismatches(*e, reported) == 0);
  auto d = check_dags(*e);
  CHECK(d.twice == 0);
  CHECK(d.count_mismatch == 0);
  std::size_t advances = 0;
  for (auto& l : reported)
    if (l.find("\"op\":\"continue_workflow\"") != std::string::npos) ++advances;
  CHECK(d.nodes >= advances);
}

}  // namespace

TEST_CASE("crash: SIGKILL at random moments never loses a reported advance", "[durability][crash]") {
  const std::string dir = fresh_dir("crash");
  // A fresh seed each run (more moments covered over many CI runs); pass
  // --rng-seed N to repeat one.
  const std::uint64_t seed = Catch::rngSeed() ? Catch::rngSeed() : std::random_device{}();
  INFO("seed " << seed << " (repeat with --rng-seed " << seed << ")");
  std::mt19937_64 rng(seed);
  std::vector<std::string> reported;   // every line of every round
  const int rounds = 30;
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t kills_before_first_line = 0;

  for (int round = 0; round < rounds; ++round) {
    const int delay_ms = 5 + static_cast<int>(rng() % 196);
    std::vector<std::string> lines;
    if (round % 5 == 4) {
      // Every fifth round two processes write at once and both are killed.
      std::vector<std::string> second;
      worker a({"churn", dir, std::to_string(rng()), "0"});
      worker b({"churn", dir, std::to_string(rng()), "0"});
      for (int waited = 0; waited < delay_ms; waited += 10) {
        a.collect_for(5, lines);
        b.collect_for(5, second);
      }
      a.kill_and_drain(lines);
      b.kill_and_drain(second);
      lines.insert(lines.end(), second.begin(), second.end());
    } else {
      worker w({"churn", dir, std::to_string(rng()), "0"});
      w.collect_for(delay_ms, lines);
      w.kill_and_drain(lines);
    }
    if (lines.empty()) ++kills_before_first_line;
    for (auto& l : lines) REQUIRE(l.rfind("{\"op\"", 0) == 0);   // no open-error, no junk
    reported.insert(reported.end(), lines.begin(), lines.end());

    INFO("round " << round << " (killed after " << delay_ms << " ms, " << lines.size() << " new lines, "
                  << reported.size() << " in all)");
    check_store_after_kill(dir, reported);
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("crash test (seed " << seed << "): " << rounds << " kills, " << reported.size() << " reported responses replayed, "
                      << kills_before_first_line << " kills before the first response, " << secs << " s");
  CHECK(reported.size() > static_cast<std::size_t>(rounds));   // the worker did real work
}

TEST_CASE("crash: SIGKILL during concurrent advances (group commit) never loses a reported advance",
          "[durability][crash][group-commit]") {
  // One worker, 8 threads on one engine: durable advances are group-
  // committed (several share one commit and one sync; a batch's callers
  // return only after the sync that makes it durable). Every response a
  // thread printed must still be there after the kill, byte for byte.
  const std::string dir = fresh_dir("crash-threads");
  const std::uint64_t seed = Catch::rngSeed() ? Catch::rngSeed() : std::random_device{}();
  INFO("seed " << seed << " (repeat with --rng-seed " << seed << ")");
  std::mt19937_64 rng(seed);
  std::vector<std::string> reported;
  const int rounds = 10;
  for (int round = 0; round < rounds; ++round) {
    const int delay_ms = 20 + static_cast<int>(rng() % 300);
    std::vector<std::string> lines;
    {
      worker w({"churn", dir, std::to_string(rng()), "0", "8"});
      w.collect_for(delay_ms, lines);
      w.kill_and_drain(lines);
    }
    for (auto& l : lines) REQUIRE(l.rfind("{\"op\"", 0) == 0);
    reported.insert(reported.end(), lines.begin(), lines.end());
    INFO("round " << round << " (killed after " << delay_ms << " ms, " << lines.size() << " new lines)");
    check_store_after_kill(dir, reported);
  }
  WARN("crash test, 8 threads (seed " << seed << "): " << rounds << " kills, " << reported.size()
                                      << " reported responses replayed");
  CHECK(reported.size() > static_cast<std::size_t>(rounds));
}
