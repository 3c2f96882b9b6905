// cancel_run (D8): phase Cancelled, run_cancelled, cascades to children.
#include "engine/async_support.hpp"

#include <thread>

using namespace trtest;

namespace {

json::value start_child_of(tokenrail::engine& e, const std::string& workflow, const json::value& cb) {
  return call(e, "start_workflow", json::object{{"workflowId", workflow}, {"parent", json::object{{"callbackToken", cb}}}});
}

}  // namespace

TEST_CASE("cancel_run cancels a run and is idempotent", "[async][cancel]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "lin3");
  const auto run = run_id_of(r);
  const std::string req = json::serialize(json::object{{"runId", run}, {"reason", "user asked"}});
  const std::string first = e->call("cancel_run", req);
  auto x = json::parse(first);
  INFO(first);
  CHECK(x.at("phase") == "Cancelled");
  CHECK(x.at("cancelled") == json::array{run});
  CHECK(x.at("reason") == "user asked");
  CHECK(e->call("cancel_run", req) == first);
  auto g = get_run(*e, run);
  CHECK(g.at("status").at("phase") == "Cancelled");
  CHECK(g.at("status").at("cancellation").at("reason") == "user asked");
  CHECK(error_code(advance(*e, r)) == "RUN_CANCELLED");
  CHECK(error_code(suspend(*e, r)) == "RUN_CANCELLED");
  // Nor does it rehydrate: no fresh ackToken for work that cannot be handed in.
  auto re = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
  CHECK(error_code(re) == "RUN_CANCELLED");
  CHECK(events_of_kind(*e, "run_cancelled").size() == 1);

  auto done = start(*e, "lin3");
  done = advance(*e, advance(*e, advance(*e, done)));
  REQUIRE(done.at("isComplete") == true);
  CHECK(error_code(call(*e, "cancel_run", json::object{{"runId", run_id_of(done)}})) == "RUN_COMPLETE");
  CHECK(error_code(call(*e, "cancel_run", json::object{{"runId", "run_00000000000000aa"}})) == "RUN_NOT_FOUND");
  CHECK(error_pointer(call(*e, "cancel_run", json::object{{"runId", "nope"}})) == "/runId");
  CHECK(verify(*e).ok);
}

TEST_CASE("cancel cascades two levels deep (parent links)", "[async][cancel]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto p = start(*e, "async-parent");
  auto sp = suspend(*e, p);
  auto c = start_child_of(*e, "async-parent", sp.at("callbackToken"));
  auto sc = suspend(*e, c);
  auto g = start_child_of(*e, "async-child", sc.at("callbackToken"));
  REQUIRE(error_code(g) == "");
  const auto P = run_id_of(p), C = run_id_of(c), G = run_id_of(g);

  auto x = call(*e, "cancel_run", json::object{{"runId", P}, {"reason", "abort"}});
  INFO(json::serialize(x));
  CHECK(x.at("cancelled") == (json::array{G, C, P}));   // deepest first, the run last
  for (auto& id : {P, C, G}) CHECK(phase(*e, id) == "Cancelled");
  CHECK(get_run(*e, G).at("status").at("cancellation").at("cascadedFrom") == C);
  CHECK(get_run(*e, C).at("status").at("cancellation").at("cascadedFrom") == P);
  // Each cancelled child completed its parent's step with cancelled, in the same transaction.
  CHECK(get_run(*e, C).at("status").at("lastResult").at("status") == "cancelled");
  CHECK(get_run(*e, P).at("status").at("lastResult").at("status") == "cancelled");
  CHECK(get_run(*e, P).at("status").at("lastResult").at("childRunId") == C);
  // The grandchild's completion (or a manual one) loses with RUN_CANCELLED.
  CHECK(error_code(advance(*e, g)) == "RUN_CANCELLED");
  CHECK(error_code(complete(*e, sc.at("callbackToken"), result("success", "late"))) == "RUN_CANCELLED");
  // Cancelling a cascaded child again returns its recorded response.
  CHECK(call(*e, "cancel_run", json::object{{"runId", C}}).at("cascadedFrom") == P);
  CHECK(verify(*e).ok);
}

TEST_CASE("cancel cascades through nested delegations", "[async][cancel][delegations]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto top = start(*e, "async-fanout-nested");
  const auto mid = top.at("pending").at("delegations").at(0).at("runId");
  auto leaves = get_run(*e, mid).at("status").at("delegations").as_array();
  REQUIRE(leaves.size() == 2);
  auto x = call(*e, "cancel_run", json::object{{"runId", run_id_of(top)}});
  INFO(json::serialize(x));
  CHECK(x.at("cancelled").as_array().size() == 4);
  CHECK(phase(*e, run_id_of(top)) == "Cancelled");
  CHECK(phase(*e, mid) == "Cancelled");
  for (auto& l : leaves) CHECK(phase(*e, l.at("runId")) == "Cancelled");
  CHECK(verify(*e).ok);
}

TEST_CASE("complete_step racing cancel_run: one of them wins cleanly", "[async][cancel][race]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  for (int round = 0; round < 5; ++round) {
    auto r = start(*e, "lin3");
    auto s = suspend(*e, r);
    std::vector<std::string> completes(4), cancels(4);
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) {
      ts.emplace_back([&, i] { completes[i] = complete_text(*e, s.at("callbackToken"), result("success", "w")); });
      ts.emplace_back([&, i] { cancels[i] = e->call("cancel_run", json::serialize(json::object{{"runId", run_id_of(r)}})); });
    }
    for (auto& t : ts) t.join();
    for (auto& c : cancels) CHECK(c == cancels[0]);   // cancel always lands, once
    auto first = json::parse(completes[0]);
    const bool completion_won = error_code(first).empty();
    for (auto& c : completes) {
      if (completion_won) CHECK(c == completes[0]);
      else CHECK(error_code(json::parse(c)) == "RUN_CANCELLED");
    }
    CHECK(phase(*e, run_id_of(r)) == "Cancelled");
    CHECK(events_of_kind(*e, "step_completed").size() == std::size_t(round + 1));
  }
  CHECK(verify(*e).ok);
}

TEST_CASE("cancel_run cascades to a linked child whose callback was already resolved by the host",
          "[async][cancel][child]") {
  // D8 "cancel_run cascades to children": every child run linked to the
  // run, not only those still holding an open callback. Here the host
  // completed the parent's callback itself (error) while the child ran on.
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto p = start(*e, "async-parent");
  auto sp = suspend(*e, p);
  auto c = start_child_of(*e, "async-child", sp.at("callbackToken"));
  REQUIRE(error_code(c) == "");
  const auto P = run_id_of(p), C = run_id_of(c);
  auto b = complete(*e, sp.at("callbackToken"), result("error"));
  REQUIRE(b.at("kind") == "blocked");
  CHECK(phase(*e, P) == "Running");
  CHECK(phase(*e, C) == "Running");

  auto x = call(*e, "cancel_run", json::object{{"runId", P}});
  INFO(json::serialize(x));
  CHECK(x.at("cancelled") == (json::array{C, P}));
  CHECK(phase(*e, C) == "Cancelled");
  CHECK(get_run(*e, C).at("status").at("cancellation").at("cascadedFrom") == P);
  // The child completing after its parent was cancelled: refused.
  CHECK(error_code(advance(*e, c, "too late")) == "RUN_CANCELLED");
  // The parent's recorded failed attempt is untouched.
  CHECK(get_run(*e, P).at("status").at("lastResult").at("status") == "error");
  CHECK(verify(*e).ok);
}

TEST_CASE("cancel_run while a callback is pending and a child is mid-flight", "[async][cancel]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto p = start(*e, "async-parent");
  auto sp = suspend(*e, p, 60'000);
  auto c = start_child_of(*e, "async-child", sp.at("callbackToken"));
  const auto P = run_id_of(p), C = run_id_of(c);
  // The child rehydrates (mid-flight) before the cancel.
  auto mid = call(*e, "continue_workflow", json::object{{"stateToken", c.at("stateToken")}});
  auto x = call(*e, "cancel_run", json::object{{"runId", P}});
  CHECK(x.at("cancelled") == (json::array{C, P}));
  auto g = get_run(*e, P);
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Cancelled");
  CHECK(g.at("status").at("waitingOn").as_array().empty());
  CHECK(g.at("status").at("pendingStepId") == "delegate");
  CHECK(g.at("status").at("children").at(0).at("phase") == "Cancelled");
  CHECK(error_code(advance(*e, mid)) == "RUN_CANCELLED");
  CHECK(error_code(complete(*e, sp.at("callbackToken"), result("success"))) == "RUN_CANCELLED");
  // A pending deadline does not fire for a cancelled run.
  CHECK(call(*e, "expire_callbacks", json::object{{"now", std::int64_t(1'900'000'000'000)}}).at("expired").as_array().empty());
  // Rehydrating either run is refused too: no fresh ackToken for a step
  // that can never be handed in.
  CHECK(error_code(call(*e, "continue_workflow", json::object{{"stateToken", p.at("stateToken")}})) == "RUN_CANCELLED");
  CHECK(error_code(call(*e, "continue_workflow", json::object{{"stateToken", mid.at("stateToken")}})) == "RUN_CANCELLED");
  CHECK(verify(*e).ok);
}

// Scalability (storage operations, not time): cancel_run finds the run's
// open callbacks without reading every callback the run ever had (a step
// retried asynchronously leaves one resolved record per attempt).
TEST_CASE("cancel_run reads as many records after 40 failed async attempts as after 2", "[async][cancel][scale]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto cancel_after = [&](int attempts) {
    auto r = start(*e, "lin3");
    for (int i = 0; i < attempts; ++i) {
      auto h = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
      auto s = suspend(*e, h);
      REQUIRE(error_code(s).empty());
      REQUIRE(str(complete(*e, s.at("callbackToken"), result("error")), "kind") == "blocked");
    }
    // One callback still open when the run is cancelled: it resolves as cancelled.
    auto h = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
    auto open = suspend(*e, h, 60000);
    REQUIRE(error_code(open).empty());
    json::value x;
    const storage_counts n = counted_call(*e, "cancel_run", json::object{{"runId", run_id_of(r)}}, &x);
    CHECK(x.at("cancelled") == json::array{run_id_of(r)});
    CHECK(error_code(complete(*e, open.at("callbackToken"), result("success", "late"))) == "RUN_CANCELLED");
    CHECK(get_run(*e, run_id_of(r)).at("status").at("waitingOn").as_array().empty());
    return n;
  };
  const storage_counts few = cancel_after(2), many = cancel_after(40);
  CHECK(many == few);
  // The deadline of the open callback went with it.
  CHECK(call(*e, "expire_callbacks", json::object{{"now", std::int64_t(1) << 50}}).at("expired").as_array().empty());
  CHECK(verify(*e).ok);
}
