// get_run (D5): the run resource, metadata/spec/status.
#include "engine/support.hpp"

using namespace trtest;

TEST_CASE("get_run shows the resource of D5", "[engine][get_run]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin2", 2)});
  if (!e) return;
  auto r = start(*e, "lin2", json::object{{"ticket", "X-1"}});
  const auto run_id = r.at("session").at("runId");
  auto g = call(*e, "get_run", json::object{{"runId", run_id}});
  INFO(json::serialize(g));
  CHECK(g.at("apiVersion") == "tokenrail/v1");
  CHECK(g.at("kind") == "WorkflowRun");
  CHECK(g.at("metadata").at("runId") == run_id);
  CHECK(g.at("metadata").at("sessionId") == r.at("session").at("sessionId"));
  CHECK(str(g.at("metadata"), "createdAt").size() == 24);
  CHECK(g.at("spec").at("workflowId") == "lin2");
  CHECK(g.at("spec").at("workflowHash") == r.at("workflowHash"));
  CHECK(g.at("spec").at("context").at("ticket") == "X-1");
  CHECK_FALSE(g.at("spec").as_object().contains("callbackToken"));
  const auto& st = g.at("status");
  CHECK(st.at("phase") == "Running");
  CHECK(st.at("pendingStepId") == "s1");
  CHECK(st.at("completedAt").is_null());
  CHECK(st.at("output").is_null());
  CHECK(st.at("error").is_null());
  const std::string rid(run_id.as_string());
  CHECK(st.at("tips") == json::array{json::value(rid + "/0")});
  CHECK(st.at("preferredTip") == json::value(rid + "/0"));

  r = advance(*e, r);
  r = advance(*e, r, "final notes");
  g = call(*e, "get_run", json::object{{"runId", run_id}});
  CHECK(g.at("status").at("phase") == "Completed");
  CHECK(g.at("status").at("pendingStepId").is_null());
  CHECK(g.at("status").at("completedAt").is_string());
  CHECK(g.at("status").at("output").at("notesMarkdown") == "final notes");
  // Spec never changes.
  CHECK(g.at("spec").at("context").at("ticket") == "X-1");

  CHECK(error_code(call(*e, "get_run", json::object{{"runId", "run_0000000000000001"}})) == "RUN_NOT_FOUND");
  CHECK(error_code(call(*e, "get_run", json::object{{"runId", "bogus"}})) == "INVALID_REQUEST");
}

TEST_CASE("a run keeps its pinned workflow", "[engine][get_run]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  auto r = start(*e, "lin2");
  std::string hash(r.at("workflowHash").as_string());
  std::string stored;
  e->internals().store->read([&](auto& tx) {
    auto v = tx.get(tokenrail::storage::table::workflows, hash);
    if (v) stored = std::string(*v);
  });
  CHECK(json::parse(stored).at("id") == "lin2");
}

// Scalability (storage operations, not time): a step retried many times
// asynchronously leaves one resolved callback record per attempt under its
// node; get_run must not read them all to find the node's delegations.
TEST_CASE("get_run reads as many records after 40 failed async attempts of the pending step as after 2",
          "[engine][get_run][scale]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  auto reads_after = [&](int attempts) {
    auto r = start(*e, "lin3");
    for (int i = 0; i < attempts; ++i) {
      auto h = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
      auto s = call(*e, "suspend_step", json::object{{"stateToken", h.at("stateToken")}, {"ackToken", h.at("ackToken")}});
      REQUIRE(error_code(s).empty());
      auto c = call(*e, "complete_step", json::object{{"callbackToken", s.at("callbackToken")},
                                                      {"result", json::object{{"status", "error"}, {"errorCode", "4005"}}}});
      REQUIRE(str(c, "kind") == "blocked");
    }
    json::value g;
    const storage_counts n = counted_call(*e, "get_run", json::object{{"runId", r.at("session").at("runId")}}, &g);
    CHECK(g.at("status").at("lastResult").at("status") == "error");
    CHECK(g.at("status").at("phase") == "Running");
    return n;
  };
  const storage_counts few = reads_after(2), many = reads_after(40);
  CHECK(many == few);
  CHECK(few.puts + few.erases == 0);
}
