// Two processes on one LMDB store at the engine level (issue 4 item 4):
// different runs advanced at once from both, and the same token advanced
// from both at the same instant (a cross-process barrier).
#include "durability/store_checks.hpp"

using namespace trdur;

TEST_CASE("two processes: different runs advanced at once are all present and verify",
          "[durability][multiprocess]") {
  const std::string dir = fresh_dir("two_runs");
  std::vector<std::string> a_lines, b_lines;
  {
    worker a({"churn", dir, "101", "80"});
    worker b({"churn", dir, "202", "80"});
    // Drain both while they run so neither blocks on a full pipe.
    for (int i = 0; i < 600; ++i) {
      a.collect_for(25, a_lines);
      b.collect_for(25, b_lines);
      if (a_lines.size() >= 80 && b_lines.size() >= 80) break;
    }
    CHECK(a.finish(a_lines) == 0);
    CHECK(b.finish(b_lines) == 0);
  }
  REQUIRE(a_lines.size() == 80);
  REQUIRE(b_lines.size() == 80);

  auto e = open_engine(dir);
  CHECK(verify_op(*e).at("ok").as_bool());
  std::vector<std::string> all = a_lines;
  all.insert(all.end(), b_lines.begin(), b_lines.end());
  CHECK(replay_mismatches(*e, all) == 0);
  auto d = check_dags(*e);
  CHECK(d.twice == 0);
  CHECK(d.count_mismatch == 0);
  // Every run either process started is in the store.
  std::size_t starts = 0;
  for (auto& l : all) {
    auto rec = json::parse(l);
    if (rec.at("op") != "start_workflow") continue;
    ++starts;
    auto resp = json::parse(rec.at("resp").as_string());
    auto run = json::parse(e->call("get_run", json::serialize(json::object{{"runId", resp.at("session").at("runId")}})));
    INFO(json::serialize(run));
    CHECK_FALSE(run.as_object().contains("error"));
  }
  CHECK(d.runs == starts);
}

TEST_CASE("two processes: the same (stateToken, ackToken) at the same instant makes one child",
          "[durability][multiprocess]") {
  const std::string dir = fresh_dir("two_same");
  worker a({"serve", dir});
  worker b({"serve", dir});
  expect_ready(a);
  expect_ready(b);
  auto at = json::parse(ask(a, "start_workflow", R"({"workflowId":"loop40"})"));
  REQUIRE_FALSE(at.as_object().contains("error"));
  const std::string run_id(at.at("session").at("runId").as_string());
  const int rounds = 20;
  int ack_used = 0;
  for (int i = 0; i < rounds; ++i) {
    // Same body to both (even rounds), or two different bodies (odd rounds):
    // one wins, the other gets the winner's response or ACK_ALREADY_USED.
    const std::string req_a = advance_request(at, "round " + std::to_string(i));
    const std::string req_b = i % 2 == 0 ? req_a : advance_request(at, "other body " + std::to_string(i));
    const std::int64_t when = now_us() + 30000;
    post(a, "continue_workflow", req_a, when);
    post(b, "continue_workflow", req_b, when);
    auto ra = a.line();
    auto rb = b.line();
    REQUIRE(ra);
    REQUIRE(rb);
    INFO("round " << i << "\n a: " << *ra << "\n b: " << *rb);
    if (i % 2 == 0) {
      CHECK(*ra == *rb);
      REQUIRE(error_code(*ra).empty());
      at = json::parse(*ra);
    } else {
      const bool a_won = error_code(*ra).empty();
      const bool b_won = error_code(*rb).empty();
      CHECK(a_won != b_won);
      CHECK(error_code(a_won ? *rb : *ra) == "ACK_ALREADY_USED");
      ++ack_used;
      at = json::parse(a_won ? *ra : *rb);
    }
  }
  std::vector<std::string> rest;
  CHECK(a.finish(rest) == 0);
  CHECK(b.finish(rest) == 0);

  auto e = open_engine(dir);
  auto run = json::parse(e->call("get_run", json::serialize(json::object{{"runId", run_id}})));
  INFO(json::serialize(run));
  CHECK(run.at("status").at("nodeCount").to_number<int>() == rounds + 1);
  CHECK(run.at("status").at("tips").as_array().size() == 1);   // no fork: one child per step
  auto d = check_dags(*e);
  CHECK(d.twice == 0);
  CHECK(d.nodes == static_cast<std::size_t>(rounds + 1));
  CHECK(verify_op(*e).at("ok").as_bool());
  CHECK(ack_used == rounds / 2);
}
