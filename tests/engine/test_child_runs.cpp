// Child runs (D8): start_workflow with parent.callbackToken; the child's
// completion completes the parent's step in the same transaction.
#include "engine/async_support.hpp"

using namespace trtest;

namespace {

json::value start_child(tokenrail::engine& e, const json::value& cb, json::object context = {}) {
  json::object req;
  req["workflowId"] = "async-child";
  req["context"] = std::move(context);
  req["parent"] = json::object{{"callbackToken", cb}};
  return call(e, "start_workflow", req);
}

}  // namespace

TEST_CASE("a child run completes its parent's step with its final output", "[async][child]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto p = start(*e, "async-parent");
  const auto parent = run_id_of(p);
  auto s = suspend(*e, p);
  auto c = start_child(*e, s.at("callbackToken"), json::object{{"topic", "caching"}});
  INFO(json::serialize(c));
  REQUIRE(error_code(c) == "");
  const auto child = run_id_of(c);
  // The child joins the parent's session; its callbackToken is spec (an input), never status.
  CHECK(c.at("session").at("sessionId") == p.at("session").at("sessionId"));
  auto gc = get_run(*e, child);
  CHECK(gc.at("spec").at("callbackToken") == s.at("callbackToken"));
  CHECK_FALSE(gc.at("status").as_object().contains("callbackToken"));
  auto gp = get_run(*e, parent);
  CHECK(gp.at("status").at("phase") == "Waiting");
  REQUIRE(gp.at("status").at("waitingOn").as_array().size() == 1);
  CHECK(gp.at("status").at("waitingOn").at(0).at("childRunId") == child);
  CHECK(gp.at("status").at("waitingOn").at(0).at("childPhase") == "Running");
  CHECK(gp.at("status").at("children").at(0).at("runId") == child);

  // A second child cannot take the same callback.
  CHECK(error_code(start_child(*e, s.at("callbackToken"))) == "INVALID_REQUEST");

  auto done = advance(*e, c, "child found: use LRU");
  REQUIRE(done.at("isComplete") == true);
  gp = get_run(*e, parent);
  INFO(json::serialize(gp));
  CHECK(gp.at("status").at("phase") == "Running");
  CHECK(gp.at("status").at("pendingStepId") == "review");
  CHECK(gp.at("status").at("nodeCount") == 2);
  CHECK(gp.at("status").at("lastResult").at("status") == "success");
  CHECK(gp.at("status").at("lastResult").at("resolvedBy") == "child_run");
  CHECK(gp.at("status").at("lastResult").at("childRunId") == child);
  CHECK(gp.at("status").at("children").at(0).at("phase") == "Completed");
  // The child's output became the parent's step output (output_appended on the parent).
  bool found = false;
  for (auto& ev : events_of_kind(*e, "output_appended"))
    if (ev.at("runId") == parent && ev.at("data").at("output").at("notesMarkdown") == "child found: use LRU") found = true;
  CHECK(found);
  // The callback is resolved: completing it by hand, or linking another child, loses.
  CHECK(error_code(complete(*e, s.at("callbackToken"), result("success", "x"))) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(error_code(start_child(*e, s.at("callbackToken"))) == "CALLBACK_ALREADY_RESOLVED");
  // The parent continues from the new tip (rehydrate by resume of its tip token).
  auto tip = call(*e, "continue_workflow", json::object{{"stateToken", e->internals().codec()->mint(
                                                              tokenrail::token::kind::state,
                                                              {*tokenrail::engine_detail::parse_run_id(std::string(parent.as_string())), 1, 0})}});
  CHECK(tip.at("pending").at("stepId") == "review");
  CHECK(advance(*e, tip, "reviewed").at("isComplete") == true);
  CHECK(phase(*e, parent) == "Completed");
  CHECK(verify(*e).ok);
}

TEST_CASE("parent.callbackToken is checked", "[async][child]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto p = start(*e, "async-parent");
  CHECK(error_pointer(start_child(*e, p.at("ackToken"))) == "/parent/callbackToken");
  CHECK(error_code(start_child(*e, p.at("ackToken"))) == "TOKEN_WRONG_KIND");
  auto never = e->internals().codec()->mint(tokenrail::token::kind::callback, {42, 0, 0});
  CHECK(error_code(start_child(*e, json::value(never))) == "STEP_NOT_SUSPENDED");
  CHECK(error_pointer(call(*e, "start_workflow", json::object{{"workflowId", "async-child"}, {"parent", json::object{}}})) ==
        "/parent/callbackToken");
  // Timed out before the child started: the start is refused and writes nothing.
  auto s = suspend(*e, p, 10);
  call(*e, "expire_callbacks", json::object{{"now", 1'800'000'000'000}});
  auto late = start_child(*e, s.at("callbackToken"));
  CHECK(error_code(late) == "CALLBACK_ALREADY_RESOLVED");
  CHECK(verify(*e).ok);
}

TEST_CASE("a cancelled child completes its parent's step with cancelled", "[async][child][cancel]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  auto p = start(*e, "async-parent");
  auto s = suspend(*e, p);
  auto c = start_child(*e, s.at("callbackToken"));
  auto x = call(*e, "cancel_run", json::object{{"runId", run_id_of(c)}, {"reason", "not needed"}});
  INFO(json::serialize(x));
  CHECK(x.at("phase") == "Cancelled");
  auto gp = get_run(*e, run_id_of(p));
  CHECK(gp.at("status").at("phase") == "Running");   // the parent is not cancelled, its step is pending again
  CHECK(gp.at("status").at("pendingStepId") == "delegate");
  CHECK(gp.at("status").at("lastResult").at("status") == "cancelled");
  CHECK(gp.at("status").at("lastResult").at("errorCode") == "RUN_CANCELLED");
  CHECK(gp.at("status").at("lastResult").at("childRunId") == run_id_of(c));
  // The child can no longer advance.
  CHECK(error_code(advance(*e, c)) == "RUN_CANCELLED");
  // The parent can retry the step: rehydrate, suspend again, hand it to a new child.
  auto re = call(*e, "continue_workflow", json::object{{"stateToken", p.at("stateToken")}});
  auto s2 = suspend(*e, re);
  REQUIRE(error_code(s2) == "");
  auto c2 = start_child(*e, s2.at("callbackToken"));
  CHECK(advance(*e, c2, "second try").at("isComplete") == true);
  CHECK(get_run(*e, run_id_of(p)).at("status").at("pendingStepId") == "review");
  CHECK(verify(*e).ok);
}

TEST_CASE("a child run started through another engine of the store takes a callbackToken minted after a rotation",
          "[async][child]") {
  // Two engines on one store share the keyring file. The parent's engine
  // rotates, then mints the callbackToken with the new key; the other
  // engine has never seen that key and must adopt it from the file, not
  // refuse the token (TOKEN_UNKNOWN_KEY).
  const std::string dir = fresh_dir("lmdb-child-two-engines");
  const std::string fixtures = std::string(TOKENRAIL_FIXTURES) + "/engine/async";
  auto home = shared_lmdb_engine(dir, {}, {fixtures});
  auto other = shared_lmdb_engine(dir, {}, {fixtures});
  auto p = start(*home, "async-parent");
  const auto parent = run_id_of(p);
  REQUIRE(error_code(call(*home, "rotate_key", json::object{})).empty());
  auto s = suspend(*home, p);
  REQUIRE(error_code(s).empty());

  auto c = start_child(*other, s.at("callbackToken"));
  INFO(json::serialize(c));
  REQUIRE(error_code(c).empty());
  auto done = advance(*other, c, "child found: use LRU");
  REQUIRE(done.at("isComplete") == true);
  auto gp = get_run(*home, parent);
  INFO(json::serialize(gp));
  CHECK(gp.at("status").at("phase") == "Running");
  CHECK(gp.at("status").at("lastResult").at("resolvedBy") == "child_run");
  CHECK(gp.at("status").at("lastResult").at("childRunId") == run_id_of(c));
}
