// suspend_step / complete_step / expire_callbacks (D8) and the step-result
// contract (seed 002), on every backend.
#include "engine/async_support.hpp"

#include <set>
#include <thread>

using namespace trtest;

TEST_CASE("suspend_step hands the step elsewhere, complete_step success advances like continue", "[async][callbacks]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "lin3", json::object{{"ticket", "T-1"}});
  const auto run = run_id_of(r);
  auto s = suspend(*e, r, std::nullopt);
  INFO(json::serialize(s));
  REQUIRE(error_code(s) == "");
  const std::string cb(s.at("callbackToken").as_string());
  CHECK(cb.rfind("cb1_", 0) == 0);
  CHECK(cb.size() == 52);
  CHECK(s.at("stepId") == "s1");
  CHECK(s.at("runId") == run);
  CHECK_FALSE(s.as_object().contains("expiresAt"));

  // Waiting, visible in get_run; the agent cannot advance the step meanwhile.
  auto g = get_run(*e, run);
  CHECK(g.at("status").at("phase") == "Waiting");
  CHECK(g.at("status").at("pendingStepId") == "s1");
  REQUIRE(g.at("status").at("waitingOn").as_array().size() == 1);
  CHECK(g.at("status").at("waitingOn").at(0).at("origin") == "suspend");
  CHECK(error_code(advance(*e, r)) == "STEP_SUSPENDED");
  // Nor rehydrate it: a fresh ackToken would send the agent to do a step
  // that is in someone else's hands.
  CHECK(error_code(call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}})) ==
        "STEP_SUSPENDED");

  // Idempotent for the same pair.
  CHECK(e->call("suspend_step", json::serialize(json::object{{"stateToken", r.at("stateToken")},
                                                               {"ackToken", r.at("ackToken")}})) ==
        json::serialize(s));

  const std::string first = complete_text(*e, s.at("callbackToken"), result("success", "worker notes"));
  auto c = json::parse(first);
  INFO(first);
  CHECK(c.at("kind") == "ok");
  CHECK(c.at("pending").at("stepId") == "s2");
  CHECK(c.at("isComplete") == false);
  CHECK(c.at("session").at("runId") == run);
  for (auto k : {"stateToken", "ackToken", "checkpointToken", "nextIntent", "workflowHash"}) CHECK(c.as_object().contains(k));
  CHECK(phase(*e, run) == "Running");

  // Exactly once: the same body replays byte for byte; another body loses.
  CHECK(complete_text(*e, s.at("callbackToken"), result("success", "worker notes")) == first);
  auto lost = complete(*e, s.at("callbackToken"), result("success", "other notes"));
  CHECK(error_code(lost) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(lost.at("error").at("details").at("recordedResponse") == c);
  CHECK(error_code(complete(*e, s.at("callbackToken"), result("error"))) == "CALLBACK_ALREADY_RESOLVED");
  // The suspended pair was used by the completion: continue_workflow with the
  // same output replays it, a different one is ACK_ALREADY_USED.
  json::object same{{"stateToken", r.at("stateToken")}, {"ackToken", r.at("ackToken")},
                    {"output", json::object{{"notesMarkdown", "worker notes"}}}};
  CHECK(e->call("continue_workflow", json::serialize(same)) == first);
  CHECK(error_code(advance(*e, r, "mine")) == "ACK_ALREADY_USED");
  // Suspending the resolved pair again is refused (rehydrate for a new attempt).
  CHECK(error_code(suspend(*e, r)) == "CALLBACK_ALREADY_RESOLVED");

  g = get_run(*e, run);
  const auto& last = g.at("status").at("lastResult");
  CHECK(last.at("status") == "success");
  CHECK(last.at("stepId") == "s1");
  CHECK(last.at("resolvedBy") == "complete_step");
  CHECK_FALSE(g.at("spec").as_object().contains("callbackToken"));
  CHECK_FALSE(g.at("status").as_object().contains("callbackToken"));

  // The run goes on normally.
  c = advance(*e, c);
  c = advance(*e, c, "end");
  CHECK(c.at("isComplete") == true);
  CHECK(verify(*e).ok);
}

TEST_CASE("non-success results keep the step pending, record the attempt and report a blocker", "[async][callbacks]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  json::object req{{"workflowId", "lin3"},
                   {"correlation", json::object{{"traceId", "tr-9"}, {"flowId", "fl-2"}, {"tenantId", "ten-1"}}}};
  auto r = call(*e, "start_workflow", req);
  const auto run = run_id_of(r);
  auto s = suspend(*e, r);

  auto bad = result("error");
  bad["errorCode"] = "9001";
  CHECK(error_pointer(complete(*e, s.at("callbackToken"), bad)) == "/result/errorCode");
  bad["errorCode"] = "not-a-code";
  CHECK(error_pointer(complete(*e, s.at("callbackToken"), bad)) == "/result/errorCode");
  auto ok_with_code = result("success", "x");
  ok_with_code["errorCode"] = "5001";
  CHECK(error_pointer(complete(*e, s.at("callbackToken"), ok_with_code)) == "/result/errorCode");
  auto wrong_step = result("success", "x");
  wrong_step["metadata"] = json::object{{"stepId", "s2"}};
  CHECK(error_pointer(complete(*e, s.at("callbackToken"), wrong_step)) == "/result/metadata/stepId");
  CHECK(error_pointer(complete(*e, s.at("callbackToken"), json::object{{"status", "maybe"}})) == "/result/status");
  CHECK(phase(*e, run) == "Waiting");   // nothing above resolved anything

  auto failed = result("error");
  failed["errorCode"] = "4005";
  failed["metadata"] = json::object{{"traceId", "tr-worker"}, {"stepId", "s1"}};
  auto c = complete(*e, s.at("callbackToken"), failed);
  INFO(json::serialize(c));
  CHECK(c.at("kind") == "blocked");
  CHECK(c.at("pending").at("stepId") == "s1");
  REQUIRE(c.at("blockers").as_array().size() == 1);
  CHECK(c.at("blockers").at(0).at("code") == "4005");
  CHECK(c.at("blockers").at(0).at("pointer") == "/result/status");

  auto g = get_run(*e, run);
  CHECK(g.at("status").at("phase") == "Running");
  CHECK(g.at("status").at("pendingStepId") == "s1");
  CHECK(g.at("status").at("nodeCount") == 1);
  const auto& last = g.at("status").at("lastResult");
  CHECK(last.at("status") == "error");
  CHECK(last.at("errorCode") == "4005");
  // Correlation: the result's own ids win, the rest come from spec.correlation.
  CHECK(last.at("metadata").at("traceId") == "tr-worker");
  CHECK(last.at("metadata").at("flowId") == "fl-2");
  CHECK(last.at("metadata").at("tenantId") == "ten-1");
  CHECK(last.at("metadata").at("stepId") == "s1");
  CHECK(g.at("spec").at("correlation").at("traceId") == "tr-9");
  auto evs = events_of_kind(*e, "step_completed");
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].at("data").at("errorCode") == "4005");
  CHECK(evs[0].at("data").at("metadata").at("flowId") == "fl-2");
  auto sus = events_of_kind(*e, "step_suspended");
  REQUIRE(sus.size() == 1);
  CHECK(sus[0].at("data").at("correlation").at("traceId") == "tr-9");

  // Retry with the returned (fresh) ackToken: suspend again, complete with a name code.
  auto s2 = suspend(*e, c);
  REQUIRE(error_code(s2) == "");
  CHECK(s2.at("callbackToken") != s.at("callbackToken"));
  auto to = result("timeout");
  to["errorCode"] = "STORE_BUSY";
  auto c2 = complete(*e, s2.at("callbackToken"), to);
  CHECK(c2.at("blockers").at(0).at("code") == "STORE_BUSY");
  auto s3 = suspend(*e, c2);
  REQUIRE(error_code(s3) == "");
  auto c3 = complete(*e, s3.at("callbackToken"), result("success", "finally"));
  CHECK(c3.at("kind") == "ok");
  CHECK(c3.at("pending").at("stepId") == "s2");
  auto g2 = get_run(*e, run);
  CHECK(g2.at("status").at("phase") == "Running");
  CHECK(verify(*e).ok);
}

TEST_CASE("expire_callbacks times out overdue callbacks with an injected clock", "[async][callbacks][timeout]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r1 = start(*e, "lin3");
  auto r2 = start(*e, "lin3");
  auto s1 = suspend(*e, r1, 1000);
  auto s2 = suspend(*e, r2, 5000);
  INFO(json::serialize(s1));
  REQUIRE(s1.as_object().contains("expiresAt"));
  // The test clock starts at 1'700'000'000'000 and ticks 1 ms per reading.
  const std::int64_t t0 = 1'700'000'000'000;
  auto x = call(*e, "expire_callbacks", json::object{{"now", t0 + 100}});
  CHECK(x.at("expired").as_array().empty());
  CHECK(phase(*e, run_id_of(r1)) == "Waiting");

  x = call(*e, "expire_callbacks", json::object{{"now", t0 + 2000}});
  INFO(json::serialize(x));
  REQUIRE(x.at("expired").as_array().size() == 1);
  CHECK(x.at("expired").at(0).at("callbackToken") == s1.at("callbackToken"));
  CHECK(x.at("expired").at(0).at("stepId") == "s1");
  CHECK(phase(*e, run_id_of(r1)) == "Running");
  CHECK(phase(*e, run_id_of(r2)) == "Waiting");
  auto g = get_run(*e, run_id_of(r1));
  CHECK(g.at("status").at("lastResult").at("status") == "timeout");
  CHECK(g.at("status").at("lastResult").at("resolvedBy") == "expire_callbacks");
  // A completion that arrives after the timeout loses cleanly.
  auto late = complete(*e, s1.at("callbackToken"), result("success", "too late"));
  CHECK(error_code(late) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(late.at("error").at("details").at("resolution") == "expired");
  // Expiring again finds nothing more until the second deadline.
  CHECK(call(*e, "expire_callbacks", json::object{{"now", t0 + 2000}}).at("expired").as_array().empty());
  // A callback completed before its deadline never expires.
  CHECK(complete(*e, s2.at("callbackToken"), result("success", "in time")).at("kind") == "ok");
  CHECK(call(*e, "expire_callbacks", json::object{{"now", t0 + 100000}}).at("expired").as_array().empty());
  CHECK(error_pointer(call(*e, "expire_callbacks", json::object{{"now", -1}})) == "/now");
  CHECK(verify(*e).ok);
}

TEST_CASE("complete_step raced from 8 threads completes exactly once", "[async][callbacks][race]") {
  const auto backend = GENERATE(from_range(backends()));
  const bool same_body = GENERATE(true, false);
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "lin3");
  auto s = suspend(*e, r);
  std::vector<std::string> responses(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      responses[i] = complete_text(*e, s.at("callbackToken"),
                                   result("success", same_body ? "same" : "notes " + std::to_string(i)));
    });
  for (auto& t : threads) t.join();
  std::set<std::string> oks;
  int lost = 0;
  std::string winner;
  for (auto& text : responses) {
    auto v = json::parse(text);
    if (error_code(v).empty()) {
      oks.insert(text);
      winner = text;
    } else {
      CHECK(error_code(v) == "CALLBACK_ALREADY_RESOLVED");
      ++lost;
    }
  }
  REQUIRE(oks.size() == 1);   // identical responses (same body) or one winner
  if (same_body) CHECK(lost == 0);
  else CHECK(lost == 7);
  for (auto& text : responses) {
    auto v = json::parse(text);
    if (!error_code(v).empty()) CHECK(v.at("error").at("details").at("recordedResponse") == json::parse(winner));
  }
  auto g = get_run(*e, run_id_of(r));
  CHECK(g.at("status").at("nodeCount") == 2);   // one advance
  CHECK(events_of_kind(*e, "step_completed").size() == 1);
  CHECK(verify(*e).ok);
}

TEST_CASE("suspend_step refuses what it cannot suspend", "[async][callbacks]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "lin3");
  auto next = advance(*e, r);
  CHECK(error_code(suspend(*e, r)) == "ACK_ALREADY_USED");
  auto other = start(*e, "lin3");
  json::object mixed{{"stateToken", next.at("stateToken")}, {"ackToken", other.at("ackToken")}};
  CHECK(error_code(call(*e, "suspend_step", mixed)) == "TOKEN_SCOPE_MISMATCH");
  json::object wrong{{"stateToken", next.at("stateToken")}, {"ackToken", next.at("stateToken")}};
  CHECK(error_code(call(*e, "suspend_step", wrong)) == "TOKEN_WRONG_KIND");
  CHECK(error_pointer(call(*e, "suspend_step", json::object{{"stateToken", next.at("stateToken")},
                                                            {"ackToken", next.at("ackToken")},
                                                            {"timeoutMs", 0}})) == "/timeoutMs");
  REQUIRE(error_code(suspend(*e, next)) == "");
  // No second attempt while the run waits: rehydrating is refused.
  CHECK(error_code(call(*e, "continue_workflow", json::object{{"stateToken", next.at("stateToken")}})) ==
        "STEP_SUSPENDED");
  CHECK(error_code(complete(*e, next.at("stateToken"), result("success"))) == "TOKEN_WRONG_KIND");
  // A callback token for a step that was never suspended.
  auto cb_other = e->internals().codec()->mint(tokenrail::token::kind::callback, {1, 0, 0});
  CHECK(error_code(complete(*e, json::value(cb_other), result("success"))) == "STEP_NOT_SUSPENDED");
  CHECK(verify(*e).ok);
}

TEST_CASE("restore_callbacks rebuilds the callback records from the event log", "[async][callbacks][restore]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  namespace ed = tokenrail::engine_detail;
  auto start_in = [&](const std::string& wf, json::object extra = {}) {
    extra["workflowId"] = wf;
    extra["sessionId"] = "ses-restore";
    return call(*e, "start_workflow", extra);
  };
  auto a = start_in("lin3");
  auto sa = suspend(*e, a, 500);
  auto b = start_in("lin3");
  auto sb = suspend(*e, b);
  auto p = start_in("async-parent");
  auto sp = suspend(*e, p);
  auto child = start_in("async-child", json::object{{"parent", json::object{{"callbackToken", sp.at("callbackToken")}}}});
  auto fan = advance(*e, start_in("async-fanout", json::object{{"context", json::object{{"area", "x"}}}}), "prep");
  const auto ds = fan.at("pending").at("delegations").as_array();
  REQUIRE(ds.size() == 3);
  CHECK(drive_to_end(*e, ds[0].at("stateToken"), "r0").at("isComplete") == true);
  auto cancelled = start_in("lin3");
  call(*e, "cancel_run", json::object{{"runId", run_id_of(cancelled)}});
  CHECK(complete(*e, sb.at("callbackToken"), result("error")).at("kind") == "blocked");

  // Forget every callback record (as after import_session), then rebuild.
  e->internals().store->write([&](tokenrail::storage::write_transaction& tx) {
    std::vector<std::string> keys;
    tx.scan(tokenrail::storage::table::callbacks, "", [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    });
    for (auto& k : keys) tx.erase(tokenrail::storage::table::callbacks, k);
  });
  CHECK(error_code(complete(*e, sa.at("callbackToken"), result("success", "x"))) == "STEP_NOT_SUSPENDED");
  e->internals().store->write([&](tokenrail::storage::write_transaction& tx) {
    ed::restore_callbacks(e->internals(), tx, "ses-restore");
  });

  // Open callbacks work again: suspend replays, deadlines expire, children complete parents.
  CHECK(e->call("suspend_step", json::serialize(json::object{{"stateToken", a.at("stateToken")},
                                                               {"ackToken", a.at("ackToken")},
                                                               {"timeoutMs", 500}})) == json::serialize(sa));
  auto x = call(*e, "expire_callbacks", json::object{{"now", 1'800'000'000'000}});
  REQUIRE(x.at("expired").as_array().size() == 1);
  CHECK(x.at("expired").at(0).at("callbackToken") == sa.at("callbackToken"));
  CHECK(error_code(complete(*e, sb.at("callbackToken"), result("success", "x"))) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(advance(*e, child, "child done").at("isComplete") == true);
  CHECK(get_run(*e, run_id_of(p)).at("status").at("pendingStepId") == "review");
  CHECK(drive_to_end(*e, ds[1].at("stateToken"), "r1").at("isComplete") == true);
  CHECK(drive_to_end(*e, ds[2].at("stateToken"), "r2").at("isComplete") == true);
  auto ctx = tip_context(*e, run_id_of(fan));
  REQUIRE(ctx.at("delegations").at("fan").as_array().size() == 3);
  CHECK(str(ctx.at("delegations").at("fan").at(0), "notesMarkdown") == "r0");
  CHECK(get_run(*e, run_id_of(fan)).at("status").at("pendingStepId") == "merge");
  CHECK(call(*e, "cancel_run", json::object{{"runId", run_id_of(cancelled)}}).at("phase") == "Cancelled");
  CHECK(verify(*e).ok);
}

TEST_CASE("a completion's output goes through the step's validation", "[async][callbacks][validation]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "async-validated");
  auto s = suspend(*e, r);
  // complete_step: refused output -> blocked, nothing resolved, fix and send again.
  auto b = complete(*e, s.at("callbackToken"), result("success", "no heading"));
  INFO(json::serialize(b));
  CHECK(b.at("kind") == "blocked");
  CHECK(str(b.at("blockers").at(0), "pointer").rfind("/result/output", 0) == 0);
  CHECK(phase(*e, run_id_of(r)) == "Waiting");
  CHECK(events_of_kind(*e, "step_completed").empty());
  auto ok = complete(*e, s.at("callbackToken"), result("success", "## Report\nall good"));
  CHECK(ok.at("kind") == "ok");
  CHECK(ok.at("pending").at("stepId") == "after");

  // A child's final output that the parent's step refuses: a failed attempt.
  auto p = start(*e, "async-validated");
  auto sp = suspend(*e, p);
  auto c = call(*e, "start_workflow", json::object{{"workflowId", "async-child"},
                                                   {"parent", json::object{{"callbackToken", sp.at("callbackToken")}}}});
  CHECK(advance(*e, c, "no heading either").at("isComplete") == true);
  auto g = get_run(*e, run_id_of(p));
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Running");
  CHECK(g.at("status").at("pendingStepId") == "report");
  CHECK(g.at("status").at("lastResult").at("status") == "error");
  CHECK(g.at("status").at("lastResult").at("errorCode") == "OUTPUT_REJECTED");
  CHECK(verify(*e).ok);
}

// ---- audit (D5-D8 operation semantics) ---------------------------------------

TEST_CASE("a suspended fork step of a completed run waits like any other suspended step", "[async][callbacks][forks]") {
  // D4: an old stateToken stays usable for forks, also on a completed run.
  // D8: once suspended, the step belongs to its callback: the agent cannot
  // advance the same pair meanwhile (else the callback would later advance
  // the same attempt a second time).
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r0 = start(*e, "lin3");
  const auto run = run_id_of(r0);
  auto r1 = advance(*e, r0);
  auto r2 = advance(*e, r1);
  REQUIRE(advance(*e, r2).at("isComplete") == true);
  REQUIRE(phase(*e, run) == "Completed");

  auto h = call(*e, "continue_workflow", json::object{{"stateToken", r1.at("stateToken")}});
  REQUIRE(h.at("pending").at("stepId") == "s2");
  auto s = suspend(*e, h);
  INFO(json::serialize(s));
  REQUIRE(error_code(s) == "");
  CHECK(phase(*e, run) == "Waiting");
  CHECK(error_code(advance(*e, h, "agent did it too")) == "STEP_SUSPENDED");
  CHECK(get_run(*e, run).at("status").at("nodeCount") == 4);

  // A failed attempt: the run is back to what it was (its preferred tip is complete).
  auto b = complete(*e, s.at("callbackToken"), result("error"));
  REQUIRE(b.at("kind") == "blocked");
  auto g = get_run(*e, run);
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Completed");
  CHECK(g.at("status").at("pendingStepId").is_null());
  CHECK_FALSE(g.at("status").at("completedAt").is_null());

  // Retry with the returned ackToken: suspend, and a success forks once.
  auto s2 = suspend(*e, b);
  REQUIRE(error_code(s2) == "");
  CHECK(error_code(advance(*e, b, "racing agent")) == "STEP_SUSPENDED");
  auto c = complete(*e, s2.at("callbackToken"), result("success", "worker"));
  INFO(json::serialize(c));
  CHECK(c.at("kind") == "ok");
  CHECK(c.at("pending").at("stepId") == "s3");
  g = get_run(*e, run);
  CHECK(g.at("status").at("nodeCount") == 5);
  CHECK(g.at("status").at("tips").as_array().size() == 2);
  CHECK(g.at("status").at("pendingStepId") == "s3");
  CHECK(verify(*e).ok);
}

TEST_CASE("expire_callbacks: before, exactly at and after the deadline", "[async][callbacks][timeout]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "lin3");
  auto s = suspend(*e, r, 1000);
  REQUIRE(error_code(s) == "");
  auto sus = events_of_kind(*e, "step_suspended");
  REQUIRE(sus.size() == 1);
  const std::int64_t deadline = sus[0].at("data").at("expiresAt").to_number<std::int64_t>();

  CHECK(call(*e, "expire_callbacks", json::object{{"now", 0}}).at("expired").as_array().empty());
  CHECK(call(*e, "expire_callbacks", json::object{{"now", deadline - 1}}).at("expired").as_array().empty());
  CHECK(phase(*e, run_id_of(r)) == "Waiting");
  auto x = call(*e, "expire_callbacks", json::object{{"now", deadline}});
  INFO(json::serialize(x));
  REQUIRE(x.at("expired").as_array().size() == 1);
  CHECK(x.at("expired").at(0).at("callbackToken") == s.at("callbackToken"));
  CHECK(x.at("expired").at(0).at("expiresAt") == s.at("expiresAt"));
  CHECK(call(*e, "expire_callbacks", json::object{{"now", deadline + 1'000'000}}).at("expired").as_array().empty());

  // After expiry: completion and re-suspension of the pair lose; a fresh attempt works.
  auto late = complete(*e, s.at("callbackToken"), result("success", "late"));
  CHECK(error_code(late) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(late.at("error").at("details").at("resolution") == "expired");
  CHECK(late.at("error").at("details").at("recordedResponse").at("kind") == "blocked");
  CHECK(error_code(suspend(*e, r)) == "CALLBACK_ALREADY_RESOLVED");
  auto g = get_run(*e, run_id_of(r));
  CHECK(g.at("status").at("phase") == "Running");
  CHECK(g.at("status").at("waitingOn").as_array().empty());
  CHECK(g.at("status").at("lastResult").at("status") == "timeout");
  auto re = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
  CHECK(advance(*e, re).at("pending").at("stepId") == "s2");
  CHECK(verify(*e).ok);
}

TEST_CASE("complete_step and suspend_step replays: same body, different body", "[async][callbacks][idempotency]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r = start(*e, "lin3");
  const std::string s_text = json::serialize(suspend(*e, r, 5000));
  // Suspend twice (even with another timeout): the first response.
  CHECK(json::serialize(suspend(*e, r, 5000)) == s_text);
  CHECK(json::serialize(suspend(*e, r, 99)) == s_text);
  const auto s = json::parse(s_text);
  auto failed = result("error", "boom");
  failed["errorCode"] = "5001";
  const std::string first = complete_text(*e, s.at("callbackToken"), failed);
  CHECK(json::parse(first).at("kind") == "blocked");
  CHECK(complete_text(*e, s.at("callbackToken"), failed) == first);
  auto other = complete(*e, s.at("callbackToken"), result("success", "ok"));
  CHECK(error_code(other) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(other.at("error").at("details").at("recordedResponse") == json::parse(first));
  CHECK(events_of_kind(*e, "step_completed").size() == 1);
  CHECK(get_run(*e, run_id_of(r)).at("status").at("nodeCount") == 1);
  CHECK(verify(*e).ok);
}

TEST_CASE("rotate_key: old tokens of every kind keep working and expire_callbacks names the token the host holds",
          "[async][callbacks][rotation]") {
  auto e = async_engine("memory");   // rotation needs a keyring it owns (memory store)
  REQUIRE(e);
  auto r = start(*e, "lin3");
  auto r1 = advance(*e, r, "one");
  auto timed = start(*e, "lin3");
  auto st = suspend(*e, timed, 1000);
  auto held = start(*e, "lin3");
  auto sh = suspend(*e, held);
  auto p = start(*e, "async-parent");
  auto sp = suspend(*e, p);
  auto child = call(*e, "start_workflow", json::object{{"workflowId", "async-child"},
                                                       {"parent", json::object{{"callbackToken", sp.at("callbackToken")}}}});
  REQUIRE(error_code(child) == "");
  auto fan = advance(*e, start(*e, "async-fanout", json::object{{"area", "x"}}), "prep");
  REQUIRE(fan.at("pending").at("delegations").as_array().size() == 3);
  const std::string replay_before = json::serialize(advance(*e, r, "one"));

  REQUIRE(error_code(call(*e, "rotate_key", json::object{})) == "");

  // st / ak: replay of a recorded advance, rehydrate, advance.
  CHECK(json::serialize(advance(*e, r, "one")) == replay_before);
  auto re = call(*e, "continue_workflow", json::object{{"stateToken", r1.at("stateToken")}});
  REQUIRE(error_code(re) == "");
  CHECK(re.at("pending").at("stepId") == "s2");
  CHECK(advance(*e, r1, "two").at("pending").at("stepId") == "s3");
  // ck.
  auto ck = call(*e, "checkpoint_workflow", json::object{{"checkpointToken", r.at("checkpointToken")}, {"notesMarkdown", "n"}});
  CHECK(error_code(ck) == "");
  // cb: complete_step with a callback token minted before the rotation.
  CHECK(complete(*e, sh.at("callbackToken"), result("success", "held")).at("kind") == "ok");
  // cb in a child's spec (parent link and delegations), minted before the rotation.
  REQUIRE(advance(*e, child, "child done").at("isComplete") == true);
  CHECK(phase(*e, run_id_of(p)) == "Running");
  for (const auto& d : fan.at("pending").at("delegations").as_array())
    REQUIRE(drive_to_end(*e, d.at("stateToken"), "r").at("isComplete") == true);
  CHECK(get_run(*e, run_id_of(fan)).at("status").at("pendingStepId") == "merge");
  // expire_callbacks reports the callbackToken suspend_step returned, so the
  // host can match it with what it holds.
  auto x = call(*e, "expire_callbacks", json::object{{"now", std::int64_t(1'800'000'000'000)}});
  INFO(json::serialize(x));
  REQUIRE(x.at("expired").as_array().size() == 1);
  CHECK(x.at("expired").at(0).at("callbackToken") == st.at("callbackToken"));
  CHECK(verify(*e).ok);
}

TEST_CASE("cancel_run of a completed run that waits on a suspended fork step", "[async][callbacks][forks][cancel]") {
  // The run is Waiting (not Completed) while the fork's callback is open, so
  // cancel_run applies: the callback resolves as cancelled and the run ends Cancelled.
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto r0 = start(*e, "lin3");
  const auto run = run_id_of(r0);
  auto r1 = advance(*e, r0);
  REQUIRE(advance(*e, advance(*e, r1)).at("isComplete") == true);
  auto h = call(*e, "continue_workflow", json::object{{"stateToken", r1.at("stateToken")}});
  auto s = suspend(*e, h, 1000);
  REQUIRE(error_code(s) == "");
  auto x = call(*e, "cancel_run", json::object{{"runId", run}});
  INFO(json::serialize(x));
  CHECK(error_code(x) == "");
  auto g = get_run(*e, run);
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Cancelled");
  CHECK(g.at("status").at("waitingOn").as_array().empty());
  CHECK(error_code(complete(*e, s.at("callbackToken"), result("success", "late"))) == "RUN_CANCELLED");
  CHECK(call(*e, "expire_callbacks", json::object{{"now", std::int64_t(1'900'000'000'000)}}).at("expired").as_array().empty());
  CHECK(verify(*e).ok);
}
