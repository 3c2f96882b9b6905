// Retention (issue 4 item 5): delete_sessions removes whole sessions (runs,
// nodes, acks, callbacks, indexes, events) in one transaction, by id or by
// age; tokens of deleted runs are refused; linked sessions go together; and
// an LMDB store that keeps creating and deleting sessions stays bounded in
// size because LMDB reuses the freed pages.
#include "durability/store_checks.hpp"

#include <filesystem>

using namespace trdur;
using tokenrail::storage::table;

namespace {

struct fixture {
  std::shared_ptr<std::atomic<std::int64_t>> clock = std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
  std::string dir;
  std::unique_ptr<tokenrail::engine> e;

  explicit fixture(const std::string& backend, const std::string& durability = "relaxed") {
    json::object cfg;
    if (backend == "lmdb") {
      dir = fresh_dir("retention");
      cfg = lmdb_config(dir, durability);
    } else {
      cfg = lmdb_config("unused");
      cfg["store"] = json::object{{"backend", "memory"}};
    }
    auto c = clock;
    auto opened = tokenrail::engine::open(json::value(cfg), [c] { return c->load(); });
    if (!opened) FAIL(json::serialize(opened.error().to_json()));
    e = std::move(*opened);
  }

  json::value call(std::string_view op, const json::value& req) { return json::parse(e->call(op, json::serialize(req))); }

  json::value start(const std::string& session, const std::string& wf = "lin5", json::object extra = {}) {
    json::object req{{"workflowId", wf}, {"sessionId", session}};
    for (auto& kv : extra) req[kv.key()] = kv.value();
    auto r = call("start_workflow", req);
    INFO(json::serialize(r));
    REQUIRE_FALSE(r.as_object().contains("error"));
    return r;
  }
  json::value advance(const json::value& r, const std::string& notes = "n") {
    auto a = json::parse(e->call("continue_workflow", advance_request(r, notes)));
    INFO(json::serialize(a));
    REQUIRE_FALSE(a.as_object().contains("error"));
    return a;
  }
  json::value del(json::object req) { return call("delete_sessions", req); }

  /// Records, per table, whose key mentions the run (its 8 id bytes).
  std::size_t records_of_run(std::uint64_t run) {
    std::string id;
    for (int i = 7; i >= 0; --i) id.push_back(static_cast<char>((run >> (8 * i)) & 0xff));
    std::size_t n = 0;
    e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
      for (std::size_t t = 0; t < tokenrail::storage::table_count; ++t)
        tx.scan(static_cast<table>(t), "", [&](std::string_view key, std::string_view) {
          if (key.find(id) != std::string_view::npos) ++n;
          return true;
        });
    });
    return n;
  }
  std::size_t records_with_prefix(table t, const std::string& prefix) {
    std::size_t n = 0;
    e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
      tx.scan(t, prefix, [&](std::string_view, std::string_view) { return ++n, true; });
    });
    return n;
  }
};

std::uint64_t run_number(const json::value& r) {
  return *tokenrail::engine_detail::parse_run_id(std::string(r.at("session").at("runId").as_string()));
}

json::array ids(std::initializer_list<const char*> l) {
  json::array a;
  for (auto* s : l) a.emplace_back(s);
  return a;
}

}  // namespace

TEST_CASE("retention: delete_sessions by id removes every record of the session", "[durability][retention]") {
  for (const std::string backend : {"memory", "lmdb"}) {
    DYNAMIC_SECTION(backend) {
      fixture f(backend);
      auto a1 = f.start("sess-a", "lin5", json::object{{"idempotencyKey", "idem-a"}});
      auto a2 = f.start("sess-a", "loop40");
      auto a1b = f.advance(f.advance(a1));
      f.advance(a2);
      REQUIRE_FALSE(f.call("checkpoint_workflow", json::object{{"stateToken", a1b.at("stateToken")}, {"notesMarkdown", "cp"}})
                        .as_object().contains("error"));
      // A fork in session a, and a suspended step with a deadline.
      auto re = f.call("continue_workflow", json::object{{"stateToken", a1.at("stateToken")}});
      f.advance(re, "fork");
      auto sus = f.call("suspend_step", json::object{{"stateToken", a1b.at("stateToken")}, {"ackToken", a1b.at("ackToken")},
                                                     {"timeoutMs", 60000}});
      INFO(json::serialize(sus));
      REQUIRE_FALSE(sus.as_object().contains("error"));
      auto b1 = f.start("sess-b");
      auto b1a = f.advance(b1);
      REQUIRE(f.records_of_run(run_number(a1)) > 5);

      auto r = f.del(json::object{{"sessionIds", ids({"sess-a", "nope"})}});
      INFO(json::serialize(r));
      REQUIRE(r.at("deleted") == ids({"sess-a"}));
      CHECK(r.at("notFound") == ids({"nope"}));

      // Nothing of session a is left: runs, nodes, acks, callbacks (records
      // and deadlines), checkpoint and session indexes, events, its head.
      CHECK(f.records_of_run(run_number(a1)) == 0);
      CHECK(f.records_of_run(run_number(a2)) == 0);
      CHECK(f.records_with_prefix(table::events, std::string("sess-a") + '\0') == 0);
      CHECK(f.records_with_prefix(table::sessions, "sess-a") == 0);
      CHECK(f.records_with_prefix(table::indexes, "idem-a") == 0);
      CHECK(f.records_with_prefix(table::indexes, "iidem-a") == 0);
      CHECK(f.records_with_prefix(table::callbacks, "t") == 0);
      // Pinned definitions stay (documented decision).
      CHECK(f.records_with_prefix(table::workflows, "") == 2);

      // Tokens and ids of deleted runs are refused as not found.
      CHECK(error_code(f.e->call("get_run", json::serialize(json::object{{"runId", a1.at("session").at("runId")}}))) ==
            "RUN_NOT_FOUND");
      const std::string stale = error_code(f.e->call("continue_workflow", advance_request(a1b, "late")));
      INFO("stale advance: " << stale);
      CHECK((stale == "RUN_NOT_FOUND" || stale == "NODE_NOT_FOUND"));
      const std::string rehydrate = error_code(f.e->call("continue_workflow", json::serialize(json::object{{"stateToken", a2.at("stateToken")}})));
      CHECK((rehydrate == "RUN_NOT_FOUND" || rehydrate == "NODE_NOT_FOUND"));
      // The idempotency key is free again: a new run, not the deleted one's response.
      auto again = f.start("sess-a2", "lin5", json::object{{"idempotencyKey", "idem-a"}});
      CHECK(again.at("session").at("runId") != a1.at("session").at("runId"));

      // Session b is untouched and verifies; deleting a again is harmless.
      f.advance(b1a);
      CHECK(verify_op(*f.e).at("ok").as_bool());
      auto twice = f.del(json::object{{"sessionIds", ids({"sess-a"})}});
      CHECK(twice.at("deleted").as_array().empty());
      CHECK(twice.at("notFound") == ids({"sess-a"}));
      CHECK(check_dags(*f.e).twice == 0);
    }
  }
}

TEST_CASE("retention: a fresh engine on the store refuses deleted runs' tokens with RUN_NOT_FOUND",
          "[durability][retention]") {
  json::value a;
  std::string dir;
  {
    fixture f("lmdb");
    dir = f.dir;
    a = f.start("gone");
    REQUIRE(f.del(json::object{{"sessionIds", ids({"gone"})}}).at("deleted") == ids({"gone"}));
  }
  auto e = open_engine(dir);   // no cached run facts
  CHECK(error_code(e->call("continue_workflow", advance_request(a, "late"))) == "RUN_NOT_FOUND");
  CHECK(error_code(e->call("continue_workflow", json::serialize(json::object{{"stateToken", a.at("stateToken")}}))) ==
        "RUN_NOT_FOUND");
}

TEST_CASE("retention: an engine that cached a run deleted by another engine answers RUN_NOT_FOUND",
          "[durability][retention]") {
  fixture f("lmdb");
  auto other = open_engine(f.dir);
  auto a = f.start("gone");
  // The other engine advances the run once, so it holds the run's facts in
  // its cache, then the first engine deletes the session.
  auto moved = json::parse(other->call("continue_workflow", advance_request(a, "cached")));
  INFO(json::serialize(moved));
  REQUIRE_FALSE(moved.as_object().contains("error"));
  REQUIRE(f.del(json::object{{"sessionIds", ids({"gone"})}}).at("deleted") == ids({"gone"}));
  CHECK(error_code(other->call("continue_workflow", advance_request(moved, "late"))) == "RUN_NOT_FOUND");
  CHECK(error_code(other->call("checkpoint_workflow",
                               json::serialize(json::object{{"stateToken", moved.at("stateToken")},
                                                            {"notesMarkdown", "late"}}))) == "RUN_NOT_FOUND");
}

TEST_CASE("retention: delete_sessions by age uses each session's last activity", "[durability][retention]") {
  fixture f("memory");
  auto old1 = f.start("old-1");             // t0
  f.clock->fetch_add(10'000);
  auto old2 = f.start("old-2");             // t0 + 10 s
  f.clock->fetch_add(10'000);
  auto fresh = f.start("fresh");            // t0 + 20 s
  f.clock->fetch_add(10'000);
  f.advance(old1);                          // old-1 active again at t0 + 30 s
  REQUIRE_FALSE(f.call("rotate_key", json::object{}).as_object().contains("error"));   // the store log
  f.clock->fetch_add(15'000);               // now t0 + 45 s

  // Older than 30 s: only old-2 (last active at t0+10 s); old-1 was active at t0+30 s.
  auto r = f.del(json::object{{"olderThanMs", 30'000}});
  INFO(json::serialize(r));
  CHECK(r.at("deleted") == ids({"old-2"}));
  // Both filters: listed AND old enough.
  auto both = f.del(json::object{{"sessionIds", ids({"old-1", "fresh"})}, {"olderThanMs", 20'000}});
  INFO(json::serialize(both));
  CHECK(both.at("deleted") == ids({"fresh"}));
  // Everything older than 0 ms: the rest, but never the store log (~store).
  auto all = f.del(json::object{{"olderThanMs", 0}});
  CHECK(all.at("deleted") == ids({"old-1"}));
  CHECK(f.records_with_prefix(table::sessions, "~store") == 1);
  CHECK(verify_op(*f.e).at("ok").as_bool());
  (void)fresh;
}

TEST_CASE("retention: bad delete_sessions requests are INVALID_REQUEST with the field", "[durability][retention]") {
  fixture f("memory");
  auto r = f.e->call("delete_sessions", "{}");
  CHECK(error_code(r) == "INVALID_REQUEST");
  CHECK(error_code(f.e->call("delete_sessions", R"({"olderThanMs": -1})")) == "INVALID_REQUEST");
  CHECK(error_code(f.e->call("delete_sessions", R"({"sessionIds": "a"})")) == "INVALID_REQUEST");
  CHECK(error_code(f.e->call("delete_sessions", R"({"sessionIds": ["~store"]})")) == "INVALID_REQUEST");
  CHECK(error_code(f.e->call("delete_sessions", R"({"sessionIds": [], "extra": 1})")) == "INVALID_REQUEST");
}

TEST_CASE("retention: sessions linked by parent/child runs are deleted together", "[durability][retention]") {
  fixture f("lmdb");
  auto parent = f.start("parents");
  auto sus = f.call("suspend_step", json::object{{"stateToken", parent.at("stateToken")}, {"ackToken", parent.at("ackToken")}});
  INFO(json::serialize(sus));
  REQUIRE_FALSE(sus.as_object().contains("error"));
  auto child = f.start("children", "lin5", json::object{{"parent", json::object{{"callbackToken", sus.at("callbackToken")}}}});
  f.start("loner");

  // Alone, either side is refused and nothing is deleted.
  auto refused = f.e->call("delete_sessions", json::serialize(json::object{{"sessionIds", ids({"parents"})}}));
  INFO(refused);
  CHECK(error_code(refused) == "INVALID_REQUEST");
  CHECK(json::parse(refused).at("error").at("details").at("linkedSessions") == ids({"children"}));
  const std::string refused_child = f.e->call("delete_sessions", json::serialize(json::object{{"sessionIds", ids({"children"})}}));
  INFO(refused_child);
  CHECK(error_code(refused_child) == "INVALID_REQUEST");
  CHECK(f.records_with_prefix(table::sessions, "parents") == 1);
  // By age, a linked session is skipped while its partner is not old enough.
  f.clock->fetch_add(60'000);
  f.advance(child);                          // children active now; parents and loner are a minute old
  auto by_age = f.del(json::object{{"olderThanMs", 30'000}});
  INFO(json::serialize(by_age));
  CHECK(by_age.at("deleted") == ids({"loner"}));
  REQUIRE(by_age.as_object().contains("skipped"));
  CHECK(by_age.at("skipped").at(0).at("sessionId") == "parents");
  CHECK(by_age.at("skipped").at(0).at("linkedSessions") == ids({"children"}));
  // Listed together, both go, links included.
  auto r = f.del(json::object{{"sessionIds", ids({"parents", "children"})}});
  INFO(json::serialize(r));
  CHECK(r.at("deleted").as_array().size() == 2);
  CHECK(f.records_of_run(run_number(parent)) == 0);
  CHECK(f.records_of_run(run_number(child)) == 0);
  CHECK(f.records_with_prefix(table::callbacks, "c") == 0);
  CHECK(verify_op(*f.e).at("ok").as_bool());
}

TEST_CASE("retention: an LMDB store that keeps creating and deleting sessions stays bounded",
          "[durability][retention]") {
  fixture f("lmdb", "relaxed");
  const std::string file = f.dir + "/data.mdb";
  const std::string notes(400, 'x');
  const auto baseline_entries = f.e->internals().store->stats().entries;
  std::vector<std::uintmax_t> sizes;
  for (int cycle = 0; cycle < 12; ++cycle) {
    json::array mine;
    for (int s = 0; s < 20; ++s) {
      const std::string sid = "c" + std::to_string(cycle) + "-" + std::to_string(s);
      auto r = f.start(sid, "loop40");
      for (int i = 0; i < 10; ++i) r = f.advance(r, notes);
      mine.emplace_back(sid);
    }
    auto d = f.del(json::object{{"sessionIds", mine}});
    REQUIRE(d.at("deleted").as_array().size() == 20);
    sizes.push_back(std::filesystem::file_size(file));
  }
  std::string trace;
  for (auto s : sizes) trace += std::to_string(s / 1024) + " KiB ";
  INFO("data.mdb after each cycle: " << trace);
  // Everything created was deleted (the pinned definitions and the format
  // marker stay), and later cycles reuse the pages earlier ones freed: the
  // file does not keep growing with the number of cycles.
  CHECK(f.e->internals().store->stats().entries <= baseline_entries + 2);
  CHECK(sizes.back() <= sizes[2] + sizes[2] / 4);
  WARN("retention: data.mdb after each of 12 create/delete cycles (20 sessions x 11 nodes): " << trace);
  CHECK(verify_op(*f.e).at("ok").as_bool());
}
