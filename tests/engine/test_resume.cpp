// resume_session (D6, issue 8): ranking by query text (notes, checkpoints,
// context, workflow id, session id) and recency; filters; fresh tokens.
#include "engine/sessions_support.hpp"

using namespace trtest;

namespace {

json::array candidates(const json::value& r) {
  INFO(json::serialize(r));
  REQUIRE(error_code(r).empty());
  return r.at("candidates").as_array();
}

json::value resume(tokenrail::engine& e, json::object req) { return call(e, "resume_session", req); }

/// Several sessions, each findable by one kind of text.
struct store_with_sessions {
  std::unique_ptr<tokenrail::engine> e;
  json::value auth, db, ui, bug, old;

  explicit store_with_sessions(const std::string& backend) {
    json::value triage = linear_workflow("bug-triage", 2);
    std::vector<json::value> defs = session_defs();
    defs.push_back(triage);
    e = make_engine(backend, defs);
    if (!e) return;
    old = start_in(*e, "lin2", "ses-old", json::object{{"topic", "auth middleware"}});   // matches by context
    auth = start_in(*e, "lin3", "ses-auth");
    auth = advance(*e, auth, "Refactored the **auth middleware** to check scopes.");
    db = start_in(*e, "lin3", "ses-db");
    REQUIRE(error_code(checkpoint(*e, db, "Wrote the database migration plan")).empty());
    ui = start_in(*e, "lin2", "ses-ui", json::object{{"component", "navbar"}, {"sizes", json::array{12, 14}}});
    bug = start_in(*e, "bug-triage", "ses-bug");
  }
};

}  // namespace

TEST_CASE("resume_session ranks the run whose text matches the query first", "[sessions][resume]") {
  const auto backend = GENERATE(from_range(backends()));
  store_with_sessions s(backend);
  if (!s.e) return;
  auto& e = *s.e;

  SECTION("notes: the exact phrase beats a context with the same words") {
    const auto c = candidates(resume(e, {{"query", "auth middleware"}}));
    REQUIRE(c.size() == 2);
    CHECK(c[0].at("sessionId") == "ses-auth");
    CHECK(c[0].at("whyMatched") == "notes: 'auth middleware'");
    CHECK(c[0].at("pendingStepId") == "s2");
    CHECK(c[0].at("isComplete") == false);
    CHECK(c[0].at("workflowId") == "lin3");
    CHECK(c[0].at("runId") == s.auth.at("session").at("runId"));
    CHECK(c[1].at("sessionId") == "ses-old");
    CHECK(c[1].at("whyMatched") == "context: 'auth middleware'");
  }
  SECTION("checkpoint text, case-insensitive, word prefixes") {
    const auto c = candidates(resume(e, {{"query", "MIGRAT"}}));
    REQUIRE(c.size() == 1);
    CHECK(c[0].at("sessionId") == "ses-db");
    CHECK(c[0].at("whyMatched") == "checkpoint: 'migrat'");
  }
  SECTION("context values, numbers included") {
    CHECK(candidates(resume(e, {{"query", "navbar"}}))[0].at("sessionId") == "ses-ui");
    CHECK(candidates(resume(e, {{"query", "14"}}))[0].at("sessionId") == "ses-ui");
  }
  SECTION("workflow id and session id") {
    const auto c = candidates(resume(e, {{"query", "triage"}}));
    REQUIRE(c.size() == 1);
    CHECK(c[0].at("sessionId") == "ses-bug");
    CHECK(c[0].at("whyMatched") == "workflowId: 'triage'");
    CHECK(candidates(resume(e, {{"query", "ses-db"}}))[0].at("sessionId") == "ses-db");
  }
  SECTION("nothing matches: no candidates") {
    CHECK(candidates(resume(e, {{"query", "kubernetes"}})).empty());
  }
  SECTION("no query: most recent activity first, at most 5") {
    const auto c = candidates(resume(e, {}));
    REQUIRE(c.size() == 5);
    CHECK(c[0].at("sessionId") == "ses-bug");
    CHECK(c[1].at("sessionId") == "ses-ui");
    CHECK(c[2].at("sessionId") == "ses-db");
    CHECK(c[0].at("whyMatched") == "most recent activity");
    // A checkpoint is activity: the old session comes back to the top.
    REQUIRE(error_code(checkpoint(e, s.old, "picked this up again")).empty());
    CHECK(candidates(resume(e, {}))[0].at("sessionId") == "ses-old");
    start_in(e, "lin2", "ses-six");
    CHECK(candidates(resume(e, {})).size() == 5);
  }
  SECTION("filters: sessionId, runId, workflowId") {
    const auto by_session = candidates(resume(e, {{"sessionId", "ses-ui"}}));
    REQUIRE(by_session.size() == 1);
    CHECK(by_session[0].at("sessionId") == "ses-ui");
    const auto by_run = candidates(resume(e, {{"runId", s.db.at("session").at("runId")}}));
    REQUIRE(by_run.size() == 1);
    CHECK(by_run[0].at("sessionId") == "ses-db");
    const auto by_wf = candidates(resume(e, {{"workflowId", "lin3"}}));
    CHECK(by_wf.size() == 2);
    for (const auto& c : by_wf) CHECK(c.at("workflowId") == "lin3");
    CHECK(candidates(resume(e, {{"workflowId", "lin3"}, {"query", "migration"}}))[0].at("sessionId") == "ses-db");
    CHECK(candidates(resume(e, {{"sessionId", "ses-ui"}, {"query", "migration"}})).empty());
    CHECK(error_code(resume(e, {{"sessionId", "ses-none"}})) == "SESSION_NOT_FOUND");
    CHECK(error_code(resume(e, {{"runId", "run_00000000000000ff"}})) == "RUN_NOT_FOUND");
    CHECK(error_code(resume(e, {{"runId", "nope"}})) == "INVALID_REQUEST");
    CHECK(error_code(resume(e, {{"query", 3}})) == "INVALID_REQUEST");
    CHECK(error_code(resume(e, {{"other", 3}})) == "INVALID_REQUEST");
  }
  SECTION("the stateToken rehydrates the run's pending step") {
    const auto c = candidates(resume(e, {{"query", "auth middleware"}}));
    auto h = call(e, "continue_workflow", json::object{{"stateToken", c[0].at("stateToken")}});
    INFO(json::serialize(h));
    CHECK(h.at("pending").at("stepId") == c[0].at("pendingStepId"));
    CHECK(h.at("stateToken") == s.auth.at("stateToken"));
  }
}

TEST_CASE("resume_session points at the preferred tip of a forked run, and at completed runs",
          "[sessions][resume]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, session_defs());
  if (!e) return;
  auto r0 = build_session(*e, "ses-fork");
  const auto c = candidates(call(*e, "resume_session", json::object{{"runId", r0.at("session").at("runId")}}));
  REQUIRE(c.size() == 1);
  CHECK(c[0].at("pendingStepId") == "s2");   // the fork (newest leaf), not the completed branch
  auto h = call(*e, "continue_workflow", json::object{{"stateToken", c[0].at("stateToken")}});
  CHECK(h.at("isComplete") == false);
  // "second try" is the fork's notes; "split the handler" the first branch's.
  const auto f = candidates(call(*e, "resume_session", json::object{{"query", "split handler"}}));
  REQUIRE(f.size() == 1);
  CHECK(f[0].at("whyMatched") == "notes: 'split handler'");
  // A completed run is a candidate with isComplete and no pending step.
  auto l = start_in(*e, "lin2", "ses-done");
  l = advance(*e, advance(*e, l), "wrapped up the release notes");
  const auto d = candidates(call(*e, "resume_session", json::object{{"query", "release notes"}}));
  REQUIRE(d.size() == 1);
  CHECK(d[0].at("isComplete") == true);
  CHECK(d[0].at("pendingStepId").is_null());
  CHECK(d[0].at("phase") == "Completed");
}

TEST_CASE("resume_session keeps the best five among many runs", "[sessions][resume]") {
  auto e = make_engine("memory", session_defs());
  std::vector<json::value> runs;
  for (int i = 0; i < 150; ++i) runs.push_back(start_in(*e, "lin2", "ses-" + std::to_string(i % 7)));
  const auto c = candidates(resume(*e, {}));
  REQUIRE(c.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) CHECK(c[i].at("runId") == runs[149 - i].at("session").at("runId"));
  // One of them found by its notes, wherever it sits in the scan.
  REQUIRE(error_code(advance(*e, runs[42], "the needle in the haystack")).empty());
  const auto n = candidates(resume(*e, {{"query", "needle"}}));
  REQUIRE(n.size() == 1);
  CHECK(n[0].at("runId") == runs[42].at("session").at("runId"));
  // A host listing the store asks for more; the order stays the same.
  const auto many = candidates(resume(*e, {{"limit", 120}}));
  REQUIRE(many.size() == 120);
  CHECK(many[0].at("runId") == runs[42].at("session").at("runId"));   // its advance is the newest activity
  for (std::size_t i = 1; i < 120; ++i)
    CHECK(many[i - 1].at("lastActivityAt").as_string() >= many[i].at("lastActivityAt").as_string());
  CHECK(candidates(resume(*e, {{"limit", 1000}})).size() == 150);
  CHECK(error_pointer(resume(*e, {{"limit", 0}})) == "/limit");
  CHECK(error_pointer(resume(*e, {{"limit", 1001}})) == "/limit");
}

// Scalability (storage operations, not time): with runId the lookup reads
// that run, not every run of its session.
TEST_CASE("resume_session with runId reads as many records in a session of 40 runs as in one of 2",
          "[sessions][resume][scale]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, session_defs());
  if (!e) return;
  auto reads_in_session_of = [&](const std::string& sid, int runs) {
    json::value first;
    for (int i = 0; i < runs; ++i) {
      auto r = start_in(*e, "lin3", sid, json::object{{"ticket", "T-" + std::to_string(i)}});
      REQUIRE(error_code(r).empty());
      if (i == 0) first = advance(*e, r, "the first run's notes");
    }
    json::value found;
    const storage_counts n =
        counted_call(*e, "resume_session", json::object{{"runId", first.at("session").at("runId")}}, &found);
    const auto& c = found.at("candidates").as_array();
    REQUIRE(c.size() == 1);
    CHECK(c[0].at("runId") == first.at("session").at("runId"));
    CHECK(str(c[0], "sessionId") == sid);
    CHECK(c[0].at("pendingStepId") == "s2");
    // The same run in the same session, or none when the session differs.
    CHECK(candidates(resume(*e, json::object{{"runId", first.at("session").at("runId")}, {"sessionId", sid}})).size() == 1);
    CHECK(candidates(resume(*e, json::object{{"runId", first.at("session").at("runId")}, {"sessionId", "other"}})).empty());
    return n;
  };
  const storage_counts few = reads_in_session_of("ses-few", 2), many = reads_in_session_of("ses-many", 40);
  CHECK(many == few);
}
