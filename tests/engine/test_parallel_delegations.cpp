// parallelDelegations (D8): one child per entry, the parent resumes when all
// have completed, with their outputs in context.delegations.<stepId>.
#include "engine/async_support.hpp"

#include <algorithm>
#include <array>

using namespace trtest;

namespace {

/// Starts async-fanout and advances into its "fan" step.
json::value enter_fan(tokenrail::engine& e) {
  auto r = start(e, "async-fanout", json::object{{"area", "storage"}});
  return advance(e, r, "prepared");
}

}  // namespace

TEST_CASE("three parallel children, completed in every order", "[async][delegations]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  std::array<int, 3> order{0, 1, 2};
  int permutations = 0;
  do {
    ++permutations;
    INFO("order " << order[0] << order[1] << order[2]);
    auto fan = enter_fan(*e);
    INFO(json::serialize(fan));
    REQUIRE(fan.at("pending").at("stepId") == "fan");
    const auto parent = run_id_of(fan);
    const auto& ds = fan.at("pending").at("delegations").as_array();
    REQUIRE(ds.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(ds[i].at("index") == i);
      CHECK(ds[i].at("workflowId") == "async-child");
      CHECK(ds[i].at("phase") == "Running");
    }
    // The children see their templated args as context.
    auto g0 = get_run(*e, ds[0].at("runId"));
    CHECK(g0.at("spec").at("context").at("topic") == "storage one");
    CHECK(g0.at("spec").as_object().contains("callbackToken"));
    CHECK(g0.at("metadata").at("sessionId") == fan.at("session").at("sessionId"));
    CHECK(phase(*e, parent) == "Waiting");
    CHECK(error_code(advance(*e, fan)) == "STEP_SUSPENDED");

    for (int k = 0; k < 3; ++k) {
      const int i = order[k];
      auto done = drive_to_end(*e, ds[i].at("stateToken"), "report " + std::to_string(i));
      REQUIRE(done.at("isComplete") == true);
      auto g = get_run(*e, parent);
      INFO(json::serialize(g));
      const auto& st = g.at("status");
      if (k < 2) {
        CHECK(st.at("phase") == "Waiting");
        CHECK(st.at("pendingStepId") == "fan");
        CHECK(st.at("waitingOn").as_array().size() == std::size_t(2 - k));
        CHECK(st.at("delegations").at(i).at("phase") == "Completed");
        CHECK(st.at("delegations").at(i).at("result") == "success");
      } else {
        CHECK(st.at("phase") == "Running");
        CHECK(st.at("pendingStepId") == "merge");
      }
    }
    // Outputs by index, whatever the completion order.
    auto ctx = tip_context(*e, parent);
    INFO(json::serialize(ctx));
    const auto& results = ctx.at("delegations").at("fan").as_array();
    REQUIRE(results.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(str(results[i], "notesMarkdown") == "report " + std::to_string(i));
    CHECK(ctx.at("area") == "storage");
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(permutations == 6);
  CHECK(verify(*e).ok);
}

TEST_CASE("a failed delegation leaves the parent's step pending", "[async][delegations]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto fan = enter_fan(*e);
  const auto parent = run_id_of(fan);
  const auto ds = fan.at("pending").at("delegations").as_array();
  CHECK(drive_to_end(*e, ds[0].at("stateToken"), "a").at("isComplete") == true);
  CHECK(call(*e, "cancel_run", json::object{{"runId", ds[1].at("runId")}}).at("phase") == "Cancelled");
  CHECK(phase(*e, parent) == "Waiting");
  CHECK(drive_to_end(*e, ds[2].at("stateToken"), "c").at("isComplete") == true);
  auto g = get_run(*e, parent);
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Running");
  CHECK(g.at("status").at("pendingStepId") == "fan");
  CHECK(g.at("status").at("delegations").at(1).at("result") == "cancelled");
  CHECK(g.at("status").at("delegations").at(1).at("phase") == "Cancelled");
  // The step is an ordinary pending step again: the agent may do it by hand.
  auto re = call(*e, "continue_workflow", json::object{{"stateToken", fan.at("stateToken")}});
  CHECK(advance(*e, re, "merged by hand").at("pending").at("stepId") == "merge");
  CHECK(verify(*e).ok);
}

TEST_CASE("delegations nest: a child that delegates completes its parent when its own children finish",
          "[async][delegations]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto top = start(*e, "async-fanout-nested");
  INFO(json::serialize(top));
  REQUIRE(top.at("pending").at("stepId") == "top");
  const auto& d = top.at("pending").at("delegations").as_array();
  REQUIRE(d.size() == 1);
  const auto mid = d[0].at("runId");
  auto gm = get_run(*e, mid);
  REQUIRE(gm.at("status").at("delegations").as_array().size() == 2);
  CHECK(gm.at("status").at("phase") == "Waiting");
  for (auto& leaf : gm.at("status").at("delegations").as_array()) {
    auto st = e->internals().codec()->mint(tokenrail::token::kind::state,
                                           {*tokenrail::engine_detail::parse_run_id(std::string(leaf.at("runId").as_string())), 0, 0});
    CHECK(drive_to_end(*e, json::value(st), "leaf").at("isComplete") == true);
  }
  // The last leaf completed mid, which completed top's step: one transaction.
  CHECK(phase(*e, mid) == "Completed");
  auto gt = get_run(*e, run_id_of(top));
  CHECK(gt.at("status").at("phase") == "Running");
  CHECK(gt.at("status").at("pendingStepId") == "done");
  CHECK(verify(*e).ok);
}

TEST_CASE("a workflow that delegates to itself is refused, not recursed forever", "[async][delegations]") {
  auto e = async_engine("memory");
  auto r = start(*e, "async-self");
  CHECK(error_code(r) == "WORKFLOW_RECURSIVE");
  CHECK(verify(*e).ok);
}

TEST_CASE("a delegation failed by the host: siblings finish, the late child changes nothing, cancel cascades",
          "[async][delegations][cancel]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto fan = enter_fan(*e);
  const auto parent = run_id_of(fan);
  const auto ds = fan.at("pending").at("delegations").as_array();
  // The host fails child 0's callback (the token in the child's spec) while child 0 still runs.
  const auto cb0 = get_run(*e, ds[0].at("runId")).at("spec").at("callbackToken");
  auto failed = result("error");
  failed["errorCode"] = "5001";
  auto w = complete(*e, cb0, failed);
  INFO(json::serialize(w));
  CHECK(error_code(w) == "");
  CHECK(phase(*e, parent) == "Waiting");   // resumes only when all have completed
  for (int i : {1, 2}) REQUIRE(drive_to_end(*e, ds[i].at("stateToken"), "r").at("isComplete") == true);
  auto g = get_run(*e, parent);
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Running");
  CHECK(g.at("status").at("pendingStepId") == "fan");
  CHECK(g.at("status").at("nodeCount") == 2);
  CHECK(g.at("status").at("delegations").at(0).at("result") == "error");
  CHECK(g.at("status").at("delegations").at(0).at("phase") == "Running");
  // Child 0 finishing late completes itself only.
  REQUIRE(drive_to_end(*e, ds[0].at("stateToken"), "late").at("isComplete") == true);
  auto g2 = get_run(*e, parent);
  CHECK(g2.at("status").at("nodeCount") == 2);
  CHECK(g2.at("status").at("lastResult") == g.at("status").at("lastResult"));
  CHECK(g2.at("status").at("delegations").at(0).at("phase") == "Completed");
  // Cancelling the parent now: every child is finished, only the parent is cancelled.
  auto x = call(*e, "cancel_run", json::object{{"runId", parent}});
  CHECK(x.at("cancelled") == json::array{parent});
  CHECK(verify(*e).ok);
}

TEST_CASE("cancelling a parent whose delegation was failed by the host cancels every child still running",
          "[async][delegations][cancel]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto fan = enter_fan(*e);
  const auto parent = run_id_of(fan);
  const auto ds = fan.at("pending").at("delegations").as_array();
  const auto cb0 = get_run(*e, ds[0].at("runId")).at("spec").at("callbackToken");
  REQUIRE(error_code(complete(*e, cb0, result("error"))) == "");
  auto x = call(*e, "cancel_run", json::object{{"runId", parent}});
  INFO(json::serialize(x));
  CHECK(x.at("cancelled").as_array().size() == 4);
  for (const auto& d : ds) CHECK(phase(*e, d.at("runId")) == "Cancelled");
  CHECK(error_code(drive_to_end(*e, ds[0].at("stateToken"), "late")) == "RUN_CANCELLED");
  CHECK(phase(*e, parent) == "Cancelled");
  CHECK(verify(*e).ok);
}

TEST_CASE("a delegation to wr.routine-<name> runs the routine whose id is routine-<name>", "[async][delegations]") {
  auto def = [](std::string text) { return tokenrail::parse_json(text).value(); };
  auto e = make_engine(
      "memory",
      {def(R"({"id":"routine-check","name":"r","description":"d","version":"1","steps":[{"id":"r1","title":"t","prompt":"p"}]})"),
       def(R"({"id":"parent","name":"p","description":"d","version":"1","steps":[{"id":"prep","title":"t","prompt":"p"},)"
           R"({"id":"fan","title":"t","prompt":"p","parallelDelegations":[{"workflowId":"wr.routine-check"}]}]})")});
  auto fan = advance(*e, start(*e, "parent"), "prepared");
  INFO(json::serialize(fan));
  REQUIRE(fan.at("pending").at("stepId") == "fan");
  const auto& ds = fan.at("pending").at("delegations").as_array();
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].at("phase") == "Running");
  CHECK(get_run(*e, ds[0].at("runId")).at("spec").at("workflowId") == "routine-check");
  CHECK(drive_to_end(*e, ds[0].at("stateToken"), "checked").at("isComplete") == true);
  CHECK(phase(*e, run_id_of(fan)) == "Completed");
  CHECK(verify(*e).ok);
}
