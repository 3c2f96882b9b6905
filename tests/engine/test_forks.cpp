// Forks (D5/D6): advancing an older snapshot with a rehydrated ackToken
// branches; tips and preferredTip follow.
#include "engine/support.hpp"

using namespace trtest;

TEST_CASE("advancing a rehydrated ackToken of a node with a child creates a fork", "[engine][forks]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  auto r0 = start(*e, "lin3");
  auto r1 = advance(*e, r0, "first branch");
  auto r2 = advance(*e, r1);
  const auto run_id = r0.at("session").at("runId");
  auto run = call(*e, "get_run", json::object{{"runId", run_id}});
  CHECK(run.at("status").at("nodeCount") == 3);
  CHECK(run.at("status").at("tips").as_array().size() == 1);

  // Rewind: rehydrate the root and advance with other notes.
  auto h = call(*e, "continue_workflow", json::object{{"stateToken", r0.at("stateToken")}});
  auto f = advance(*e, h, "second branch");
  INFO(json::serialize(f));
  REQUIRE(error_code(f).empty());
  CHECK(f.at("pending").at("stepId") == "s2");
  CHECK(f.at("stateToken") != r1.at("stateToken"));
  // Replaying the fork is idempotent too.
  CHECK(advance(*e, h, "second branch") == f);
  run = call(*e, "get_run", json::object{{"runId", run_id}});
  INFO(json::serialize(run));
  const auto& st = run.at("status");
  CHECK(st.at("nodeCount") == 4);
  const std::string rid(run_id.as_string());
  CHECK(st.at("tips") == json::array{json::value(rid + "/2"), json::value(rid + "/3")});
  CHECK(st.at("preferredTip") == json::value(rid + "/3"));
  CHECK(st.at("pendingStepId") == "s2");
  CHECK(st.at("phase") == "Running");

  // The original branch still advances from its own tokens.
  auto r3 = advance(*e, r2);
  CHECK(r3.at("isComplete") == true);
  run = call(*e, "get_run", json::object{{"runId", run_id}});
  CHECK(run.at("status").at("phase") == "Completed");
  CHECK(run.at("status").at("preferredTip") == json::value(rid + "/4"));
  CHECK(run.at("status").at("output").at("notesMarkdown") == "done");

  CHECK(verify(*e).ok);
}
