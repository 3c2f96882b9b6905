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

TEST_CASE("forks from old stateTokens inside loops keep their iteration", "[engine][forks][loops]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {}, {std::string(TOKENRAIL_FIXTURES) + "/workflows"});
  if (!e) return;
  auto r0 = start(*e, "perf-passes-for", json::object{{"passCount", 3}});
  REQUIRE(error_code(r0) == "");
  auto r1 = advance(*e, r0, "m1");   // warm-up iteration 2
  REQUIRE(str(r1.at("pending"), "title") == "Measure (run 2)");
  auto r2 = advance(*e, r1, "m2");   // pass 1
  auto r3 = advance(*e, r2, "o1");   // pass 2
  REQUIRE(str(r3.at("pending"), "title") == "Optimization pass 2 of 3");
  auto r4 = advance(*e, r3, "o2");
  auto r5 = advance(*e, r4, "o3");
  REQUIRE(r5.at("pending").at("stepId") == "report");
  REQUIRE(advance(*e, r5, "rep").at("isComplete") == true);

  // Rewind to warm-up iteration 2: same prompt, and the branch goes on to pass 1.
  auto h1 = call(*e, "continue_workflow", json::object{{"stateToken", r1.at("stateToken")}});
  CHECK(h1.at("pending") == r1.at("pending"));
  auto f1 = advance(*e, h1, "m2 again");
  CHECK(f1.at("pending") == r2.at("pending"));
  // Rewind to pass 2: the fork continues with pass 3, as the original did.
  auto h3 = call(*e, "continue_workflow", json::object{{"stateToken", r3.at("stateToken")}});
  CHECK(h3.at("pending") == r3.at("pending"));
  auto f3 = advance(*e, h3, "o2 again");
  INFO(json::serialize(f3));
  CHECK(f3.at("pending") == r4.at("pending"));
  // The original branch's nodes are untouched: its old pair still replays.
  CHECK(advance(*e, r3, "o2") == r4);
  auto g = call(*e, "get_run", json::object{{"runId", r0.at("session").at("runId")}});
  CHECK(g.at("status").at("tips").as_array().size() == 3);
  CHECK(g.at("status").at("pendingStepId") == "optimize");   // the newest branch
  CHECK(verify(*e).ok);
}

TEST_CASE("forks from a completed run and from its final node", "[engine][forks]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin2", 2)});
  if (!e) return;
  auto r0 = start(*e, "lin2");
  auto r1 = advance(*e, r0);
  auto end = advance(*e, r1, "final");
  REQUIRE(end.at("isComplete") == true);
  const auto run = r0.at("session").at("runId");
  // The final node: rehydrate says complete; there is nothing to acknowledge.
  auto h = call(*e, "continue_workflow", json::object{{"stateToken", end.at("stateToken")}});
  CHECK(h.at("isComplete") == true);
  CHECK(h.at("nextIntent") == "complete");
  CHECK_FALSE(h.as_object().contains("ackToken"));
  // An ackToken for it (minted white-box) is refused: nothing to acknowledge.
  const auto rid = tokenrail::engine_detail::parse_run_id(std::string(run.as_string()));
  REQUIRE(rid);
  const auto ak = e->internals().codec()->mint(tokenrail::token::kind::ack, {*rid, 2, 7});
  json::object ack{{"stateToken", end.at("stateToken")}, {"ackToken", ak}};
  CHECK(error_code(call(*e, "continue_workflow", ack)) == "RUN_COMPLETE");
  // An old node of the completed run still forks, and that branch completes too.
  auto h1 = call(*e, "continue_workflow", json::object{{"stateToken", r1.at("stateToken")}});
  auto f = advance(*e, h1, "other final");
  CHECK(f.at("isComplete") == true);
  auto g = call(*e, "get_run", json::object{{"runId", run}});
  INFO(json::serialize(g));
  CHECK(g.at("status").at("phase") == "Completed");
  CHECK(g.at("status").at("output").at("notesMarkdown") == "other final");
  CHECK(g.at("status").at("tips").as_array().size() == 2);
  CHECK(verify(*e).ok);
}

// A run forked from every kind of node (the newest, an older leaf, an inner
// node) has exactly the leaves a model of its DAG has, and its status
// record does not grow with them: the leaves but the newest are keys of
// their own (status_store.hpp), so an advance never rewrites all of them.
TEST_CASE("tips follow every kind of fork, and the status record does not grow with them",
          "[engine][forks][scale]") {
  namespace ed = tokenrail::engine_detail;
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin40", 40)});
  if (!e) return;
  std::vector<json::value> at{start(*e, "lin40")};   // the response that created each node
  std::vector<std::uint32_t> parent{ed::no_node};
  std::vector<int> depth{0};
  const auto run_id = at[0].at("session").at("runId");
  const std::string rid(run_id.as_string());
  const std::uint64_t run = *ed::parse_run_id(rid);
  auto status_size = [&] {
    std::size_t n = 0;
    e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
      n = tx.get(tokenrail::storage::table::runs, ed::run_status_key(run))->size();
    });
    return n;
  };
  std::size_t first_fork_size = 0;
  for (std::uint32_t i = 0; i < 300; ++i) {
    const auto newest = static_cast<std::uint32_t>(at.size() - 1);
    // Mostly the newest node (a linear stretch), else an older node: every
    // 3rd step the newest node's grandparent (inner), others a spread.
    std::uint32_t from = newest;
    if (i % 3 == 1 && parent[newest] != ed::no_node && parent[parent[newest]] != ed::no_node) from = parent[parent[newest]];
    if (i % 7 == 2) from = (i * 37) % newest;
    while (depth[from] >= 38) from = parent[from];   // keep a pending step to acknowledge
    const auto h = call(*e, "continue_workflow", json::object{{"stateToken", at[from].at("stateToken")}});
    auto r = advance(*e, h, "step " + std::to_string(i));
    REQUIRE(error_code(r).empty());
    at.push_back(std::move(r));
    parent.push_back(from);
    depth.push_back(depth[from] + 1);
    if (i == 2) first_fork_size = status_size();
  }
  std::vector<bool> has_child(at.size(), false);
  for (auto p : parent)
    if (p != ed::no_node) has_child[p] = true;
  json::array expected;
  for (std::uint32_t n = 0; n < at.size(); ++n)
    if (!has_child[n]) expected.emplace_back(rid + "/" + std::to_string(n));
  auto g = call(*e, "get_run", json::object{{"runId", run_id}});
  INFO(json::serialize(g.at("status")));
  REQUIRE(expected.size() > 50);
  CHECK(g.at("status").at("tips") == expected);
  CHECK(g.at("status").at("preferredTip") == json::value(rid + "/" + std::to_string(at.size() - 1)));
  // The node count and the newest node's number take a byte more each.
  CHECK(status_size() <= first_fork_size + 2);
  CHECK(verify(*e).ok);
  // Deleting the session takes the leaves' keys with it.
  const auto session = at[0].at("session").at("sessionId");
  CHECK(call(*e, "delete_sessions", json::object{{"sessionIds", json::array{session}}}).at("deleted") ==
        json::array{session});
  std::size_t run_records = 0;
  e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    tx.scan(tokenrail::storage::table::runs, "", [&](std::string_view, std::string_view) { return ++run_records, true; });
  });
  CHECK(run_records == 0);
}
