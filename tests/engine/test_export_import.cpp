// export_session / import_session (issue 8): round trip into a new store,
// idempotent import, continuing imported runs with the importing store's
// tokens, growing a session by a later import, conflicts.
#include "engine/sessions_support.hpp"

#include <chrono>
#include <random>

using namespace trtest;

namespace {

json::value get_run(tokenrail::engine& e, const json::value& run_id) {
  return call(e, "get_run", json::object{{"runId", run_id}});
}

}  // namespace

TEST_CASE("export -> import into a new store: every run's status and DAG are equal", "[sessions][export]") {
  const auto backend = GENERATE(from_range(backends()));
  auto a = make_engine(backend, session_defs());
  if (!a) return;
  build_session(*a, "ses-round");
  auto bundle = export_bundle(*a, "ses-round");
  CHECK(bundle.at("format") == "tokenrail.session/1");
  const auto& events = bundle.at("events").as_array();
  CHECK(bundle.at("manifest").at("eventCount") == events.size());
  CHECK(bundle.at("manifest").at("headHash") == events.back().at("hash"));
  CHECK(events.front().at("prev") == json::value(std::string(64, '0')));
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].at("prev") == events[i - 1].at("hash"));
  CHECK(bundle.at("workflows").as_object().size() == 2);
  // Exporting is deterministic.
  CHECK(json::serialize(export_bundle(*a, "ses-round")) == json::serialize(bundle));

  // The importing store knows neither workflow: the pinned definitions travel.
  const auto backend_b = GENERATE(from_range(backends()));
  auto b = make_engine(backend_b, {});
  if (!b) return;
  auto imp = import_bundle(*b, bundle);
  INFO(json::serialize(imp));
  REQUIRE(error_code(imp).empty());
  CHECK(imp.at("sessionId") == "ses-round");
  const auto& run_ids = imp.at("runIds").as_array();
  REQUIRE(run_ids == bundle.at("manifest").at("runIds").as_array());
  REQUIRE(run_ids.size() == 2);
  for (const auto& rid : run_ids) {
    auto ra = get_run(*a, rid), rb = get_run(*b, rid);
    INFO(json::serialize(ra) << "\n" << json::serialize(rb));
    CHECK(ra == rb);
  }
  // The DAG (every node, edge, checkpoint) is the event log: the store that
  // imported exports exactly the same bundle.
  CHECK(json::serialize(export_bundle(*b, "ses-round")) == json::serialize(bundle));
  CHECK(verify_report_of(*b).ok);

  // Importing again changes nothing.
  const auto before = b->internals().store->stats();
  auto again = import_bundle(*b, bundle);
  CHECK(again == imp);
  CHECK(b->internals().store->stats().entries == before.entries);
  CHECK(verify_report_of(*b).ok);
}

TEST_CASE("imported runs continue with tokens of the importing store", "[sessions][export]") {
  const auto backend = GENERATE(from_range(backends()));
  // Two stores with two different secrets.
  auto a = make_engine_with_secret(backend, session_defs(), std::string(64, '1'));
  auto b = make_engine_with_secret(backend, {}, std::string(64, '2'));
  if (!a || !b) return;
  auto r0 = build_session(*a, "ses-cont");
  auto imp = import_bundle(*b, export_bundle(*a, "ses-cont"));
  REQUIRE(error_code(imp).empty());
  const auto run_id = r0.at("session").at("runId");

  // The exporting store's tokens mean nothing here (another key).
  auto old = call(*b, "continue_workflow", json::object{{"stateToken", r0.at("stateToken")}});
  INFO(json::serialize(old));
  CHECK(!error_code(old).empty());

  // resume_session hands out this store's stateToken for the preferred tip.
  auto res = call(*b, "resume_session", json::object{{"runId", run_id}});
  INFO(json::serialize(res));
  REQUIRE(res.at("candidates").as_array().size() == 1);
  const auto& c = res.at("candidates").at(0);
  CHECK(c.at("pendingStepId") == "s2");
  CHECK(c.at("isComplete") == false);
  auto h = call(*b, "continue_workflow", json::object{{"stateToken", c.at("stateToken")}});
  INFO(json::serialize(h));
  REQUIRE(error_code(h).empty());
  CHECK(h.at("pending").at("stepId") == "s2");
  CHECK(h.at("pending").at("prompt") == "Do step 2 for T-42.");
  auto n = advance(*b, h, "continued after import");
  REQUIRE(error_code(n).empty());
  CHECK(n.at("pending").at("stepId") == "s3");
  auto done = advance(*b, n);
  CHECK(done.at("isComplete") == true);
  auto run = get_run(*b, run_id);
  CHECK(run.at("status").at("phase") == "Completed");
  CHECK(run.at("status").at("nodeCount") == 7);
  // Replaying an advance made here stays byte-identical.
  json::object req{{"stateToken", h.at("stateToken")}, {"ackToken", h.at("ackToken")},
                   {"output", json::object{{"notesMarkdown", "continued after import"}}}};
  CHECK(b->call("continue_workflow", json::serialize(req)) == b->call("continue_workflow", json::serialize(req)));
  CHECK(verify_report_of(*b).ok);

  // The second run of the session continues too.
  auto second = call(*b, "resume_session", json::object{{"runId", imp.at("runIds").at(1)}});
  REQUIRE(second.at("candidates").as_array().size() == 1);
  auto h2 = call(*b, "continue_workflow", json::object{{"stateToken", second.at("candidates").at(0).at("stateToken")}});
  CHECK(h2.at("pending").at("stepId") == "s1");
}

TEST_CASE("with one shared secret, a recorded advance replays byte-identically in the importing store",
          "[sessions][export]") {
  const std::string secret(64, 'a');
  auto a = make_engine_with_secret("memory", session_defs(), secret);
  auto b = make_engine_with_secret("memory", {}, secret);
  auto r0 = start_in(*a, "lin3", "ses-secret");
  json::object req{{"stateToken", r0.at("stateToken")}, {"ackToken", r0.at("ackToken")},
                   {"output", json::object{{"notesMarkdown", "n"}}}};
  const std::string first = a->call("continue_workflow", json::serialize(req));
  REQUIRE(error_code(json::parse(first)).empty());
  REQUIRE(error_code(import_bundle(*b, export_bundle(*a, "ses-secret"))).empty());
  CHECK(b->call("continue_workflow", json::serialize(req)) == first);
  // Same pair, other body: refused with the recorded response, as at home.
  req["output"] = json::object{{"notesMarkdown", "other"}};
  CHECK(error_code(call(*b, "continue_workflow", req)) == "ACK_ALREADY_USED");
}

TEST_CASE("with one shared secret, repeated checkpoints and keyed starts answer as at home",
          "[sessions][export]") {
  const auto backend = GENERATE(from_range(backends()));
  const std::string secret(64, 'd');
  auto a = make_engine_with_secret(backend, session_defs(), secret);
  auto b = make_engine_with_secret(backend, session_defs(), secret);
  if (!a || !b) return;
  const std::string start_req = json::serialize(json::object{
      {"workflowId", "lin3"}, {"sessionId", "ses-keys"}, {"idempotencyKey", "job-7"}, {"context", json::object{{"ticket", "T-7"}}}});
  const std::string started = a->call("start_workflow", start_req);
  auto r0 = json::parse(started);
  REQUIRE(error_code(r0).empty());
  const std::string cp_req = json::serialize(json::object{{"stateToken", r0.at("stateToken")}, {"notesMarkdown", "halfway"}});
  const std::string cp = a->call("checkpoint_workflow", cp_req);
  REQUIRE(error_code(json::parse(cp)).empty());
  auto r1 = advance(*a, r0, "one");
  auto r2 = advance(*a, r1, "two");   // a response with a render warning-free step
  REQUIRE(error_code(r2).empty());
  REQUIRE(error_code(import_bundle(*b, export_bundle(*a, "ses-keys"))).empty());
  const auto before = b->internals().store->stats().entries;
  CHECK(b->call("checkpoint_workflow", cp_req) == cp);
  CHECK(b->call("start_workflow", start_req) == started);
  CHECK(b->internals().store->stats().entries == before);
  // The recorded advances replay with the bytes they had at home.
  json::object adv{{"stateToken", r1.at("stateToken")}, {"ackToken", r1.at("ackToken")},
                   {"output", json::object{{"notesMarkdown", "two"}}}};
  CHECK(b->call("continue_workflow", json::serialize(adv)) == a->call("continue_workflow", json::serialize(adv)));
  CHECK(verify_report_of(*b).ok);
}

TEST_CASE("a later export of a grown session extends an earlier import, a diverged one is refused",
          "[sessions][export]") {
  const auto backend = GENERATE(from_range(backends()));
  auto a = make_engine(backend, session_defs());
  auto b = make_engine(backend, {});
  if (!a || !b) return;
  auto r0 = start_in(*a, "lin3", "ses-grow");
  REQUIRE(error_code(import_bundle(*b, export_bundle(*a, "ses-grow"))).empty());
  auto r1 = advance(*a, r0, "more work at home");
  REQUIRE(error_code(r1).empty());
  auto bundle = export_bundle(*a, "ses-grow");
  auto imp = import_bundle(*b, bundle);
  INFO(json::serialize(imp));
  REQUIRE(error_code(imp).empty());
  CHECK(imp.at("eventCount") == bundle.at("events").as_array().size());
  CHECK(json::serialize(export_bundle(*b, "ses-grow")) == json::serialize(bundle));
  CHECK(verify_report_of(*b).ok);

  // Both stores go on separately: the histories diverge.
  auto c = make_engine(backend, {});
  if (!c) return;
  REQUIRE(error_code(import_bundle(*c, bundle)).empty());
  auto res = call(*c, "resume_session", json::object{{"sessionId", "ses-grow"}});
  auto h = call(*c, "continue_workflow", json::object{{"stateToken", res.at("candidates").at(0).at("stateToken")}});
  REQUIRE(error_code(advance(*c, h, "work in the other store")).empty());
  REQUIRE(error_code(advance(*a, r1, "work at home")).empty());
  auto diverged = import_bundle(*c, export_bundle(*a, "ses-grow"));
  INFO(json::serialize(diverged));
  CHECK(error_code(diverged) == "INVALID_BUNDLE");
  CHECK(details_position(diverged) == static_cast<std::int64_t>(bundle.at("events").as_array().size()));
  // An older bundle than what the store holds is refused too, and nothing changed.
  CHECK(error_code(import_bundle(*c, bundle)) == "INVALID_BUNDLE");
  CHECK(verify_report_of(*c).ok);
}

TEST_CASE("export_session and import_session refuse bad requests", "[sessions][export]") {
  auto e = make_engine("memory", session_defs());
  CHECK(error_code(call(*e, "export_session", json::object{{"sessionId", "nope"}})) == "SESSION_NOT_FOUND");
  CHECK(error_code(call(*e, "export_session", json::object{})) == "INVALID_REQUEST");
  CHECK(error_code(call(*e, "export_session", json::object{{"sessionId", "a b"}})) == "INVALID_REQUEST");
  CHECK(error_code(call(*e, "import_session", json::object{{"bundle", 3}})) == "INVALID_REQUEST");
  CHECK(error_code(call(*e, "import_session", json::object{{"bundle", json::object{}}})) == "INVALID_BUNDLE");
  auto r = call(*e, "import_session", json::object{{"bundle", json::object{{"format", "other/1"}}}});
  CHECK(error_code(r) == "INVALID_BUNDLE");
  CHECK(error_pointer(r) == "/bundle/format");
}

TEST_CASE("a suspended step (D8) survives export/import and completes in the importing store",
          "[sessions][export]") {
  const auto backend = GENERATE(from_range(backends()));
  const std::string secret(64, '5');
  auto a = make_engine_with_secret(backend, session_defs(), secret);
  auto b = make_engine_with_secret(backend, {}, secret);
  if (!a || !b) return;
  auto r0 = start_in(*a, "lin2", "ses-wait");
  auto s = call(*a, "suspend_step", json::object{{"stateToken", r0.at("stateToken")}, {"ackToken", r0.at("ackToken")}});
  INFO(json::serialize(s));
  REQUIRE(error_code(s).empty());
  auto imp = import_bundle(*b, export_bundle(*a, "ses-wait"));
  INFO(json::serialize(imp));
  REQUIRE(error_code(imp).empty());
  const auto run_id = r0.at("session").at("runId");
  auto ra = call(*a, "get_run", json::object{{"runId", run_id}});
  auto rb = call(*b, "get_run", json::object{{"runId", run_id}});
  CHECK(rb.at("status").at("phase") == "Waiting");
  CHECK(ra == rb);
  CHECK(verify_report_of(*b).ok);
  // The worker's callback completes the step in the importing store.
  json::object done{{"callbackToken", s.at("callbackToken")},
                    {"result", json::object{{"status", "success"}, {"output", json::object{{"notesMarkdown", "worker done"}}}}}};
  auto c = call(*b, "complete_step", done);
  INFO(json::serialize(c));
  REQUIRE(error_code(c).empty());
  CHECK(c.at("pending").at("stepId") == "s2");
  CHECK(call(*b, "get_run", json::object{{"runId", run_id}}).at("status").at("phase") == "Running");
  CHECK(verify_report_of(*b).ok);
}

TEST_CASE("random sessions with loops, forks, context and checkpoints round-trip exactly", "[sessions][export]") {
  const auto backend = GENERATE(from_range(backends()));
  const std::vector<std::string> dirs = {std::string(TOKENRAIL_FIXTURES) + "/workflows"};
  auto a = make_engine(backend, session_defs(), dirs);
  if (!a) return;
  const std::vector<std::pair<std::string, json::object>> starts = {
      {"lin3", {{"ticket", "T-1"}}},
      {"migration-nested", {{"modules", json::array{"auth", "db"}}, {"leftovers", 1}}},
      {"bug-fix-while", {{"bugsRemaining", 2}}},
  };
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    const std::string sid = "ses-rand-" + std::to_string(seed);
    std::vector<json::value> open;   // responses with an ackToken
    for (int i = 0; i < 2; ++i) {
      const auto& [wf, ctx] = starts[pick(starts.size())];
      auto r = start_in(*a, wf, sid, ctx);
      INFO(json::serialize(r));
      REQUIRE(error_code(r).empty());
      open.push_back(r);
    }
    for (int op = 0; op < 40 && !open.empty(); ++op) {
      const std::size_t k = pick(open.size());
      const json::value r = open[k];
      switch (pick(4)) {
        case 0: {   // rewind: rehydrate and branch
          auto h = call(*a, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
          REQUIRE(error_code(h).empty());
          if (!h.at("isComplete").as_bool()) open.push_back(h);
          break;
        }
        case 1:
          REQUIRE(error_code(checkpoint(*a, r, "checkpoint " + std::to_string(op))).empty());
          break;
        default: {  // advance, sometimes with a context delta
          json::object req{{"stateToken", r.at("stateToken")}, {"ackToken", r.at("ackToken")},
                           {"output", json::object{{"notesMarkdown", "op " + std::to_string(op)}}}};
          if (pick(2)) req["context"] = json::object{{"leftovers", 0}, {"bugsRemaining", 0}, {"n", op}};
          auto n = call(*a, "continue_workflow", req);
          INFO(json::serialize(n));
          if (error_code(n) == "ACK_ALREADY_USED") break;   // that pair was advanced with another body
          REQUIRE(error_code(n).empty());
          if (n.at("kind") == "ok" && !n.at("isComplete").as_bool()) open.push_back(n);
        }
      }
    }
    auto bundle = export_bundle(*a, sid);
    auto b = make_engine(backend, {});
    REQUIRE(b);
    auto imp = import_bundle(*b, bundle);
    INFO(json::serialize(imp));
    REQUIRE(error_code(imp).empty());
    for (const auto& rid : imp.at("runIds").as_array())
      CHECK(call(*a, "get_run", json::object{{"runId", rid}}) == call(*b, "get_run", json::object{{"runId", rid}}));
    CHECK(json::serialize(export_bundle(*b, sid)) == json::serialize(bundle));
    CHECK(verify_report_of(*b).ok);
    // Every run continues in the importing store from its preferred tip.
    for (const auto& rid : imp.at("runIds").as_array()) {
      auto c = call(*b, "resume_session", json::object{{"runId", rid}});
      auto h = call(*b, "continue_workflow", json::object{{"stateToken", c.at("candidates").at(0).at("stateToken")}});
      REQUIRE(error_code(h).empty());
      if (h.at("isComplete").as_bool()) continue;
      auto n = advance(*b, h, "after import");
      INFO(json::serialize(n));
      CHECK(error_code(n).empty());
    }
    CHECK(verify_report_of(*b).ok);
  }
}

// Not a timed test (hidden tag): prints how long export, import, verify and
// resume_session take on a bigger session.  Run with
//   test_sessions "[.perf]"
TEST_CASE("sizes and times of a 2,000-advance session", "[.perf][sessions]") {
  const auto backend = GENERATE(from_range(backends()));
  auto a = make_engine(backend, {linear_workflow("lin10", 10)});
  // A bundle this size is over the default request limit (1 MiB).
  auto b = make_engine(backend, {}, {}, json::object{{"maxRequestBytes", 64 << 20}});
  if (!a || !b) return;
  const std::string notes(200, 'n');
  for (int run = 0; run < 200; ++run) {
    auto r = start_in(*a, "lin10", "ses-big");
    for (int i = 0; i < 10; ++i) r = advance(*a, r, notes + " run " + std::to_string(run));
    REQUIRE(r.at("isComplete") == true);
  }
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  auto t0 = clock::now();
  const std::string exported = a->call("export_session", R"({"sessionId":"ses-big"})");
  auto t1 = clock::now();
  auto bundle = json::parse(exported).at("bundle");
  const std::string req = json::serialize(json::object{{"bundle", bundle}});
  auto t2 = clock::now();
  auto imp = json::parse(b->call("import_session", req));
  auto t3 = clock::now();
  INFO(error_code(imp));
  REQUIRE(error_code(imp).empty());
  auto t4 = clock::now();
  auto v = call(*b, "verify", json::object{});
  auto t5 = clock::now();
  CHECK(v.at("ok") == true);
  auto res = call(*b, "resume_session", json::object{{"query", "run 117"}});
  auto t6 = clock::now();
  CHECK(res.at("candidates").at(0).at("whyMatched") == "notes: 'run 117'");
  WARN(backend << ": " << bundle.at("events").as_array().size() << " events, bundle " << exported.size() / 1024
               << " KiB; export " << ms(t1 - t0) << " ms, import " << ms(t3 - t2) << " ms, verify " << ms(t5 - t4)
               << " ms, resume_session with a query " << ms(t6 - t5) << " ms");
}

namespace {

std::size_t records_with_prefix(tokenrail::engine& e, tokenrail::storage::table t, std::string_view prefix) {
  std::size_t n = 0;
  e.internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    tx.scan(t, prefix, [&](std::string_view, std::string_view) { return ++n, true; });
  });
  return n;
}

/// In session `sid`: a run whose pending step is suspended with a deadline,
/// and a child run linked to that callback (start_workflow with parent).
void suspended_with_child(tokenrail::engine& e, const std::string& sid) {
  auto r = start_in(e, "lin3", sid);
  auto s = call(e, "suspend_step", json::object{{"stateToken", r.at("stateToken")}, {"ackToken", r.at("ackToken")},
                                                {"timeoutMs", 60000}});
  REQUIRE(error_code(s).empty());
  auto c = call(e, "start_workflow", json::object{{"workflowId", "lin2"}, {"sessionId", sid},
                                                  {"parent", json::object{{"callbackToken", s.at("callbackToken")}}}});
  REQUIRE(error_code(c).empty());
}

}  // namespace

// Scalability (storage operations, not time): deleting a session reads that
// session's records; the other sessions' deadlines ('t' index) and child
// links ('c') are not scanned, once per deleted session or at all.
TEST_CASE("delete_sessions reads as many records in a store of 40 other sessions as in one of 2",
          "[sessions][delete][scale]") {
  const auto backend = GENERATE(from_range(backends()));
  auto deleting_with_others = [&](int others) {
    auto e = make_engine(backend, session_defs());
    if (!e) return storage_counts{};
    for (int i = 0; i < others; ++i) suspended_with_child(*e, "other-" + std::to_string(i));
    suspended_with_child(*e, "x");
    suspended_with_child(*e, "y");
    json::value r;
    const storage_counts n = counted_call(*e, "delete_sessions", json::object{{"sessionIds", json::array{"x", "y"}}}, &r);
    CHECK(r.at("deleted") == json::array{"x", "y"});
    // Every deadline and link of x and y went, the others' stayed.
    using tokenrail::storage::table;
    CHECK(records_with_prefix(*e, table::callbacks, "t") == std::size_t(others));
    CHECK(records_with_prefix(*e, table::callbacks, "c") == std::size_t(others));
    CHECK(call(*e, "expire_callbacks", json::object{{"now", std::int64_t(1) << 50}}).at("expired").as_array().size() ==
          std::size_t(others));
    CHECK(verify(*e).ok);
    return n;
  };
  const storage_counts few = deleting_with_others(2), many = deleting_with_others(40);
  CHECK(many == few);
}

// The links of a run whose parent token this store cannot verify (a
// delegation child imported from a store with another key) still go.
TEST_CASE("delete_sessions removes the child links of imported delegations", "[sessions][delete]") {
  const auto backend = GENERATE(from_range(backends()));
  const std::string fixtures = std::string(TOKENRAIL_FIXTURES) + "/engine/async";
  auto a = make_engine(backend, {}, {fixtures});
  auto b = make_engine("memory", {}, {fixtures});   // another key
  if (!a) return;
  auto p = start_in(*a, "async-fanout", "fan", json::object{{"area", "caching"}});
  REQUIRE(error_code(p).empty());
  auto f = advance(*a, p, "prepared");
  REQUIRE(f.at("pending").at("delegations").as_array().size() == 3);
  REQUIRE(error_code(import_bundle(*b, export_bundle(*a, "fan"))).empty());
  using tokenrail::storage::table;
  for (auto* e : {a.get(), b.get()}) {
    REQUIRE(records_with_prefix(*e, table::callbacks, "c") == 3);
    auto r = call(*e, "delete_sessions", json::object{{"sessionIds", json::array{"fan"}}});
    INFO(json::serialize(r));
    CHECK(r.at("deleted") == json::array{"fan"});
    CHECK(records_with_prefix(*e, table::callbacks, "") == 0);
    CHECK(verify(*e).ok);
  }
}

// The leaves but the newest are keys of their own (status_store.hpp): a
// later import of a grown session replaces them, so a leaf that got a child
// at home stops being one here too.
TEST_CASE("a grown session's import replaces the leaves of the earlier one", "[sessions][export][forks]") {
  const auto backend = GENERATE(from_range(backends()));
  auto a = make_engine(backend, session_defs());
  auto b = make_engine(backend, {});
  if (!a || !b) return;
  auto r0 = start_in(*a, "lin3", "ses-leaves");
  auto r1 = advance(*a, r0, "one");                                                               // node 1
  auto h = call(*a, "continue_workflow", json::object{{"stateToken", r0.at("stateToken")}});
  REQUIRE(error_code(advance(*a, h, "fork")).empty());                                           // node 2
  REQUIRE(error_code(import_bundle(*b, export_bundle(*a, "ses-leaves"))).empty());
  const auto run = r0.at("session").at("runId");
  const std::string rid(run.as_string());
  CHECK(get_run(*b, run).at("status").at("tips") == json::array{json::value(rid + "/1"), json::value(rid + "/2")});
  // Node 1, an older leaf, gets a child at home; the session is imported again.
  REQUIRE(error_code(advance(*a, r1, "two")).empty());                                          // node 3
  REQUIRE(error_code(import_bundle(*b, export_bundle(*a, "ses-leaves"))).empty());
  CHECK(get_run(*b, run).at("status").at("tips") == json::array{json::value(rid + "/2"), json::value(rid + "/3")});
  CHECK(get_run(*b, run) == get_run(*a, run));
  CHECK(verify_report_of(*b).ok);
}
