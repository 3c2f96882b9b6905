// Property test: random sequences of start / advance / replay / rehydrate /
// fork / checkpoint over random workflows, with fixed seeds. Afterwards:
// every recorded response replays byte-identically, no node has two
// children created from the same (node, attempt), and verify (hash chain +
// replay rebuilding the DAG and statuses) matches the stored records. And
// a differential test: a memory engine and an LMDB engine given the same
// random requests give the same answers.
#include "engine/support.hpp"

#include <map>
#include <algorithm>
#include <array>
#include <random>
#include <regex>
#include <set>

using namespace trtest;

namespace {

json::value loop_workflow() {
  return json::parse(R"({
    "id": "prop-loop", "name": "loop", "description": "d", "version": "1",
    "steps": [
      {"id": "a", "title": "A", "prompt": "a {{n}}"},
      {"id": "l", "type": "loop", "title": "L",
       "loop": {"type": "for", "count": 3, "maxIterations": 5},
       "body": [{"id": "b", "title": "B {{currentIteration}}", "prompt": "b"},
                {"id": "c", "title": "C", "prompt": "c", "runCondition": {"var": "skipC", "not_equals": true}}]},
      {"id": "z", "title": "Z", "prompt": "z"}
    ]})");
}

}  // namespace

TEST_CASE("random operation sequences keep every invariant", "[engine][property]") {
  const auto backend = GENERATE(from_range(backends()));
  const std::vector<std::string> workflows = {"p2", "p4", "p7", "prop-loop"};
  auto e = make_engine(backend, {linear_workflow("p2", 2), linear_workflow("p4", 4), linear_workflow("p7", 7), loop_workflow()});
  if (!e) return;
  const std::vector<std::string> notes = {"a", "b", "notes with more text", ""};

  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    std::vector<json::value> known;                           // responses with tokens
    std::map<std::string, std::string> recorded;              // request body -> response text
    for (int i = 0; i < 3; ++i) known.push_back(start(*e, workflows[pick(workflows.size())]));

    for (int step = 0; step < 150; ++step) {
      const auto roll = pick(100);
      const json::value& base = known[pick(known.size())];
      if (roll < 45) {  // advance (or fork, when base already has a child)
        if (!base.as_object().contains("ackToken")) continue;
        json::object req{{"stateToken", base.at("stateToken")}, {"ackToken", base.at("ackToken")}};
        const auto& n = notes[pick(notes.size())];
        if (!n.empty()) req["output"] = json::object{{"notesMarkdown", n}};
        if (pick(4) == 0) req["context"] = json::object{{"n", static_cast<std::int64_t>(pick(5))}, {"skipC", pick(2) == 0}};
        const std::string body = json::serialize(req);
        const std::string text = e->call("continue_workflow", body);
        auto v = json::parse(text);
        const auto code = error_code(v);
        if (code.empty()) {
          CHECK(v.at("kind") == "ok");
          auto it = recorded.find(body);
          if (it != recorded.end()) CHECK(it->second == text);
          recorded[body] = text;
          known.push_back(std::move(v));
        } else {
          INFO(text);
          CHECK(code == "ACK_ALREADY_USED");   // same pair, other body
        }
      } else if (roll < 60) {  // replay something recorded
        if (recorded.empty()) continue;
        auto it = recorded.begin();
        std::advance(it, static_cast<long>(pick(recorded.size())));
        CHECK(e->call("continue_workflow", it->first) == it->second);
      } else if (roll < 80) {  // rehydrate (the ackToken it returns forks when advanced)
        auto h = call(*e, "continue_workflow", json::object{{"stateToken", base.at("stateToken")}});
        REQUIRE(error_code(h).empty());
        known.push_back(std::move(h));
      } else if (roll < 92) {  // checkpoint
        auto c = call(*e, "checkpoint_workflow",
                      json::object{{"checkpointToken", base.at("checkpointToken")}, {"notesMarkdown", notes[pick(3)]}});
        CHECK(error_code(c).empty());
      } else {
        known.push_back(start(*e, workflows[pick(workflows.size())]));
      }
    }
    // Every recorded response replays byte-identically.
    for (const auto& [body, text] : recorded) CHECK(e->call("continue_workflow", body) == text);
  }

  // No node has two children created from the same (node, attempt).
  std::set<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>> origins;
  std::size_t nodes = 0;
  e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    tx.scan(tokenrail::storage::table::nodes, "", [&](std::string_view key, std::string_view value) {
      const auto run = tokenrail::engine_detail::get_be64(key.data());
      const auto seq = tokenrail::engine_detail::get_be32(key.data() + 8);
      auto n = tokenrail::engine_detail::decode_node(value, seq);
      ++nodes;
      if (n.parent != tokenrail::engine_detail::no_node) CHECK(origins.emplace(run, n.parent, n.from_attempt).second);
      return true;
    });
  });
  CHECK(nodes > 100);
  auto rep = verify(*e);
  CHECK(rep.ok);
  CHECK(rep.nodes == nodes);
}

namespace {

/// An engine on `backend` whose keyring is its own: generated in memory, or
/// the store's keyring file for LMDB (at `path`), so both can rotate keys.
std::unique_ptr<tokenrail::engine> own_key_engine(const std::string& backend, std::vector<json::value> definitions,
                                                  tokenrail::clock_fn clock, const std::string& path = "") {
  json::object store{{"backend", backend}};
  if (backend == "lmdb") {
    store["path"] = path;
    store["durability"] = "relaxed";
  }
  json::array defs;
  for (auto& d : definitions) defs.push_back(std::move(d));
  const std::string fixtures = TOKENRAIL_FIXTURES;
  json::object cfg{{"store", std::move(store)},
                   {"definitions", std::move(defs)},
                   {"workflows", json::array{fixtures + "/workflows", fixtures + "/engine/async"}}};
  auto e = tokenrail::engine::open(json::value(cfg), std::move(clock));
  if (!e) {
    if (backend == "lmdb" && e.error().code == tokenrail::errc::STORAGE_ERROR) return nullptr;
    FAIL("engine::open failed: " << json::serialize(e.error().to_json()));
  }
  return std::move(*e);
}

// Each engine's run ids, session ids, tokens, hashes and fork attempt
// numbers are its own (random ids and attempts, tokens bound to them and
// to its keys): each is replaced by its order of first appearance in that
// engine's answers, "<run#0>", "<st1#3>", ..., so that two engines given
// the same requests in the same order must give the same text.
class id_normalizer {
 public:
  std::string operator()(const std::string& text) {
    static const std::regex ids(
        "(run|ses)_[0-9a-f]{16}|(st1|ak1|ck1|cb1)_[A-Za-z0-9_-]{48}|[0-9a-f]{64}|\"attempt\":[0-9]+");
    std::string out;
    auto last = text.cbegin();
    for (std::sregex_iterator it(text.begin(), text.end(), ids), end; it != end; ++it) {
      out.append(last, (*it)[0].first);
      const std::string id = it->str();
      const std::size_t ordinal = seen_.try_emplace(id, seen_.size()).first->second;
      const std::string kind = id[0] == '"' ? "attempt" : id.size() == 64 ? "hash" : id.substr(0, 3);
      out += "<" + kind + "#" + std::to_string(ordinal) + ">";
      last = (*it)[0].second;
    }
    out.append(last, text.cend());
    return out;
  }

 private:
  std::map<std::string, std::size_t> seen_;
};

/// Lists whose order is each store's own: resume_session ranks runs of
/// equal activity by run id, and get_run lists a run's children by run id;
/// each engine's run ids are random. The ids of such runs (and their
/// tokens) are left out and the entries sorted by what remains, so both
/// engines' answers are compared as the same sets.
void drop_id_order(std::string_view op, json::value& answer) {
  auto sort_without_ids = [](auto first, auto last) {
    for (auto it = first; it != last; ++it) {
      it->as_object().erase("runId");
      it->as_object().erase("stateToken");
    }
    std::sort(first, last, [](const json::value& a, const json::value& b) {
      return json::serialize(a) < json::serialize(b);
    });
  };
  if (op == "get_run") {
    auto* status = answer.as_object().if_contains("status");
    if (auto* children = status ? status->as_object().if_contains("children") : nullptr)
      sort_without_ids(children->as_array().begin(), children->as_array().end());
  } else if (op == "resume_session") {
    auto* list = answer.as_object().if_contains("candidates");
    if (!list) return;
    auto& c = list->as_array();
    auto tie_key = [](const json::value& v) {
      return json::serialize(v.at("lastActivityAt")) + json::serialize(v.at("whyMatched"));
    };
    for (auto i = c.begin(); i != c.end();) {
      auto j = std::next(i);
      while (j != c.end() && tie_key(*j) == tie_key(*i)) ++j;
      if (j - i > 1) sort_without_ids(i, j);
      i = j;
    }
  }
}

}  // namespace

// The backends are interchangeable from the engine's point of view: the
// same requests in the same order get the same answers from a memory
// engine and an LMDB engine, through every kind of operation, successes
// and refusals alike, once each engine's own ids and tokens are named by
// their order of appearance (and the two lists ordered by random run ids
// are compared as sets). A difference means one backend orders, loses or
// keeps something the other does not.
TEST_CASE("the memory and LMDB backends give the same answers to the same requests", "[engine][property]") {
  auto defs = [] {
    return std::vector<json::value>{linear_workflow("p3", 3), linear_workflow("p5", 5), loop_workflow()};
  };
  const std::string lmdb_path = fresh_dir("lmdb-equivalence");
  const tokenrail::clock_fn lmdb_clock = test_clock();  // kept across reopening
  auto mem = own_key_engine("memory", defs(), test_clock());
  auto lmdb = own_key_engine("lmdb", defs(), lmdb_clock, lmdb_path);
  if (!lmdb) return;
  // Ours, and the fixtures': loops of every kind, conditions, output
  // contracts, validation, routines, delegations and child runs.
  const std::vector<std::string> workflows = {
      "p3", "p5", "prop-loop", "refine-artifact-loop", "poll-body-by-id", "release-conditions", "perf-passes-for",
      "file-review-foreach", "design-doc-until", "bug-fix-while", "migration-nested", "test-plan-contract",
      "api-design-blocks", "feature-with-review", "incident-report-validated", "async-parent", "async-fanout",
      "async-fanout-nested", "async-self", "async-validated"};
  const std::vector<json::value> contexts = {
      json::parse(R"({"skipC":true})"),
      json::parse(R"({"env":"prod","changes":12,"coverage":85,"labels":["security"],"branch":"hotfix/x"})"),
      json::parse(R"({"files":[{"name":"a","risky":true},{"name":"b","risky":false}]})"),
      json::parse(R"({"bugsRemaining":0,"approved":true,"done":true})"),
      json::parse(R"({"bugsRemaining":2,"summary":"BREAKING change"})")};
  const std::vector<std::string> statuses = {"success", "error", "timeout", "cancelled"};
  id_normalizer name_mem, name_lmdb;

  // One request to both engines, each built from that engine's own earlier
  // answers by `make` (0: memory, 1: LMDB); the answers must agree.
  using pair = std::array<json::value, 2>;
  std::size_t compared = 0, refused = 0, reopened = 0;
  auto both = [&](std::string_view op, auto make) {
    pair out;
    std::string text[2];
    for (int k = 0; k < 2; ++k) {
      const json::value req = make(k);
      text[k] = (k == 0 ? mem : lmdb)->call(op, json::serialize(req));
      out[static_cast<std::size_t>(k)] = json::parse(text[k]);
      if (op == "resume_session" || op == "get_run") {
        drop_id_order(op, out[static_cast<std::size_t>(k)]);
        text[k] = json::serialize(out[static_cast<std::size_t>(k)]);
      }
    }
    INFO(op << " " << text[0]);
    REQUIRE(name_mem(text[0]) == name_lmdb(text[1]));
    ++compared;
    if (!error_code(out[0]).empty()) ++refused;
    return out;
  };

  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    std::vector<pair> known;      // answers that carry tokens
    std::vector<pair> callbacks;  // suspend_step answers (callbackToken)
    std::vector<pair> sessions;   // answers that name a session
    auto start_one = [&] {
      json::object req{{"workflowId", workflows[pick(workflows.size())]}};
      // A session of the host's own naming sometimes (the same id on both).
      if (pick(2) == 0) req["sessionId"] = "host-" + std::to_string(seed) + "-" + std::to_string(pick(3));
      auto r = both("start_workflow", [&](int) { return req; });
      if (error_code(r[0]).empty()) {
        sessions.push_back(r);
        known.push_back(std::move(r));
      }
    };
    auto session_of = [](const json::value& r) { return r.at("session").at("sessionId"); };
    auto run_of = [](const json::value& r) { return r.at("session").at("runId"); };
    for (int i = 0; i < 8; ++i) start_one();

    for (int step = 0; step < 150; ++step) {
      const auto roll = pick(100);
      const pair& base = known[pick(known.size())];
      auto b = [&](int k) -> const json::object& { return base[static_cast<std::size_t>(k)].as_object(); };
      if (roll < 35) {  // advance, fork, or a refused reuse of an ack
        if (!b(0).contains("ackToken")) continue;
        const std::string notes = "notes " + std::to_string(pick(4));
        const std::size_t ctx = pick(contexts.size() * 3);  // a context delta one time in three
        auto r = both("continue_workflow", [&](int k) {
          json::object req{{"stateToken", b(k).at("stateToken")}, {"ackToken", b(k).at("ackToken")},
                           {"output", json::object{{"notesMarkdown", notes}}}};
          if (ctx < contexts.size()) req["context"] = contexts[ctx];
          return req;
        });
        if (error_code(r[0]).empty()) known.push_back(std::move(r));
      } else if (roll < 45) {  // rehydrate
        auto r = both("continue_workflow", [&](int k) { return json::object{{"stateToken", b(k).at("stateToken")}}; });
        if (error_code(r[0]).empty()) known.push_back(std::move(r));
      } else if (roll < 52) {
        if (!b(0).contains("checkpointToken")) continue;
        both("checkpoint_workflow", [&](int k) {
          return json::object{{"checkpointToken", b(k).at("checkpointToken")}, {"notesMarkdown", "cp"}};
        });
      } else if (roll < 60) {
        if (!b(0).contains("session")) continue;
        both("get_run", [&](int k) { return json::object{{"runId", run_of(base[static_cast<std::size_t>(k)])}}; });
      } else if (roll < 68) {  // hand the step to something else
        if (!b(0).contains("ackToken")) continue;
        const auto timeout = static_cast<std::int64_t>(pick(3) * 1000);
        auto r = both("suspend_step", [&](int k) {
          return json::object{{"stateToken", b(k).at("stateToken")}, {"ackToken", b(k).at("ackToken")},
                              {"timeoutMs", timeout}};
        });
        if (error_code(r[0]).empty()) callbacks.push_back(std::move(r));
      } else if (roll < 78) {  // complete (or repeat the completion of) a suspended step
        if (callbacks.empty()) continue;
        const pair& cb = callbacks[pick(callbacks.size())];
        const std::string status = statuses[pick(statuses.size())];
        auto r = both("complete_step", [&](int k) {
          json::object result{{"status", status}};
          if (status == "success") result["output"] = json::object{{"notesMarkdown", "from elsewhere"}};
          return json::object{{"callbackToken", cb[static_cast<std::size_t>(k)].at("callbackToken")},
                              {"result", std::move(result)}};
        });
        if (error_code(r[0]).empty() && r[0].as_object().contains("ackToken")) known.push_back(std::move(r));
      } else if (roll < 81) {
        const auto now = static_cast<std::int64_t>(1'700'000'000'000 + pick(10'000));
        both("expire_callbacks", [&](int) { return json::object{{"now", now}}; });
      } else if (roll < 84) {
        if (!b(0).contains("session")) continue;
        both("cancel_run", [&](int k) { return json::object{{"runId", run_of(base[static_cast<std::size_t>(k)])}}; });
      } else if (roll < 91) {
        const pair& s = sessions[pick(sessions.size())];
        const char* op = roll < 88 ? "resume_session" : "export_session";
        // A limit above the session's run count: runs tied on activity are
        // cut by run id, which differs between the engines.
        both(op, [&](int k) {
          json::object req{{"sessionId", session_of(s[static_cast<std::size_t>(k)])}};
          if (op == std::string_view("resume_session")) req["limit"] = 50;
          return req;
        });
      } else if (roll < 94) {  // a session exported, deleted, then imported back
        const pair& s = sessions[pick(sessions.size())];
        auto id = [&](int k) { return session_of(s[static_cast<std::size_t>(k)]); };
        auto ex = both("export_session", [&](int k) { return json::object{{"sessionId", id(k)}}; });
        if (!error_code(ex[0]).empty()) continue;
        both("delete_sessions", [&](int k) { return json::object{{"sessionIds", json::array{id(k)}}}; });
        both("import_session", [&](int k) { return json::object{{"bundle", ex[static_cast<std::size_t>(k)].at("bundle")}}; });
      } else if (roll < 95) {
        both("rotate_key", [](int) { return json::object{}; });
      } else if (roll < 97) {
        // The LMDB engine closed and opened again: nothing it answers may
        // depend on what it only kept in memory.
        lmdb.reset();
        lmdb = own_key_engine("lmdb", defs(), lmdb_clock, lmdb_path);
        REQUIRE(lmdb);
        ++reopened;
      } else if (roll < 98) {  // a child run that completes a suspended step when it completes
        if (callbacks.empty()) continue;
        const pair& cb = callbacks[pick(callbacks.size())];
        auto r = both("start_workflow", [&](int k) {
          return json::object{{"workflowId", "async-child"},
                              {"parent", json::object{{"callbackToken", cb[static_cast<std::size_t>(k)].at("callbackToken")}}}};
        });
        if (error_code(r[0]).empty()) known.push_back(std::move(r));
      } else {
        start_one();
      }
    }
    // verify lists sessions in key order, and generated session ids are
    // random: the same entries, in an order of each store's own.
    std::multiset<std::string> entries[2];
    json::value counts[2];
    for (int k = 0; k < 2; ++k) {
      auto& name = k == 0 ? name_mem : name_lmdb;
      auto v = json::parse((k == 0 ? mem : lmdb)->call("verify", "{}"));
      INFO(json::serialize(v));
      REQUIRE(v.at("ok") == true);
      for (const auto& s : v.at("sessions").as_array()) entries[k].insert(name(json::serialize(s)));
      counts[k] = v.at("counts");
    }
    CHECK(entries[0] == entries[1]);
    CHECK(counts[0] == counts[1]);
  }
  INFO("compared " << compared << ", refused " << refused << ", reopened " << reopened);
  CHECK(compared > 500);
  CHECK(refused > 0);             // refusals were compared too
  CHECK(refused < compared / 2);  // and most requests did something
  CHECK(reopened > 0);
}
