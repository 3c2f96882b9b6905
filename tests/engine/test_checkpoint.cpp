// checkpoint_workflow (D6): records without advancing; idempotent per
// (node, content); accepts stateToken or checkpointToken.
#include "engine/support.hpp"

using namespace trtest;

TEST_CASE("checkpoints record without advancing and are idempotent per node and content", "[engine][checkpoint]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin2", 2)});
  if (!e) return;
  auto r = start(*e, "lin2");
  const std::string req = json::serialize(json::object{{"stateToken", r.at("stateToken")}, {"notesMarkdown", "progress A"}});
  const std::string a = e->call("checkpoint_workflow", req);
  INFO(a);
  auto av = json::parse(a);
  REQUIRE(error_code(av).empty());
  CHECK(av.at("stateToken") == r.at("stateToken"));
  CHECK(av.at("checkpointToken") == r.at("checkpointToken"));
  auto before = e->internals().store->stats();
  CHECK(e->call("checkpoint_workflow", req) == a);
  CHECK(e->internals().store->stats().entries == before.entries);
  // Through the checkpointToken: same node, same content -> same response.
  const std::string via_ck =
      e->call("checkpoint_workflow", json::serialize(json::object{{"checkpointToken", r.at("checkpointToken")}, {"notesMarkdown", "progress A"}}));
  CHECK(via_ck == a);
  // Neither token: refused, saying what is wanted.
  auto neither = call(*e, "checkpoint_workflow", json::object{{"notesMarkdown", "progress A"}});
  CHECK(error_code(neither) == "INVALID_REQUEST");
  CHECK(neither.at("error").at("details").at("expected") == "a stateToken or a checkpointToken");
  // Other content: recorded anew.
  auto b = call(*e, "checkpoint_workflow", json::object{{"checkpointToken", r.at("checkpointToken")}, {"notesMarkdown", "progress B"}});
  CHECK(error_code(b).empty());
  CHECK(json::serialize(b) != a);
  CHECK(e->internals().store->stats().entries > before.entries);
  // The run did not advance: the ackToken still advances node 0.
  auto n = advance(*e, r);
  CHECK(n.at("pending").at("stepId") == "s2");
  // Mismatched tokens.
  auto m = call(*e, "checkpoint_workflow", json::object{{"stateToken", n.at("stateToken")}, {"checkpointToken", r.at("checkpointToken")}, {"notesMarkdown", "x"}});
  CHECK(error_code(m) == "TOKEN_SCOPE_MISMATCH");
  // Neither token.
  auto none = call(*e, "checkpoint_workflow", json::object{{"notesMarkdown", "x"}});
  CHECK(error_code(neither) == "INVALID_REQUEST");
  // A checkpoint after completion works too.
  auto done = advance(*e, n);
  REQUIRE(done.at("isComplete") == true);
  auto after = call(*e, "checkpoint_workflow", json::object{{"checkpointToken", done.at("checkpointToken")}, {"notesMarkdown", "post-run notes"}});
  CHECK(error_code(after).empty());

  CHECK(verify(*e).ok);
}
