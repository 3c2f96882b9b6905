// verify (D7, issue 8): hash chain plus replay, reported per session; a
// damaged event or record is found and named, other sessions stay ok.
#include "engine/sessions_support.hpp"

#include <tokenrail/engine/tool_definitions.hpp>
#include <tokenrail/json_parse.hpp>

#include <map>

using namespace trtest;
namespace ed = tokenrail::engine_detail;

namespace {

const json::object* session_entry(const json::value& r, const std::string& sid) {
  for (const auto& s : r.at("sessions").as_array())
    if (s.at("sessionId") == json::value(sid)) return &s.as_object();
  return nullptr;
}

}  // namespace

TEST_CASE("verify passes on a healthy store and reports every session", "[sessions][verify]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, session_defs());
  if (!e) return;
  auto empty = call(*e, "verify", json::object{});
  INFO(json::serialize(empty));
  CHECK(empty.at("ok") == true);
  CHECK(empty.at("sessions").as_array().empty());
  build_session(*e, "ses-1");
  build_session(*e, "ses-2");
  auto r = call(*e, "verify", json::object{});
  INFO(json::serialize(r));
  CHECK(r.at("ok") == true);
  REQUIRE(r.at("sessions").as_array().size() == 2);
  auto* s1 = session_entry(r, "ses-1");
  REQUIRE(s1);
  CHECK(s1->at("ok") == true);
  CHECK(s1->at("events") == export_bundle(*e, "ses-1").at("events").as_array().size());
  CHECK(r.at("counts").at("runs") == 4);
  auto one = call(*e, "verify", json::object{{"sessionId", "ses-2"}});
  CHECK(one.at("ok") == true);
  REQUIRE(one.at("sessions").as_array().size() == 1);
  CHECK(error_code(call(*e, "verify", json::object{{"sessionId", "nope"}})) == "SESSION_NOT_FOUND");
  CHECK(error_code(call(*e, "verify", json::object{{"x", 1}})) == "INVALID_REQUEST");
}

TEST_CASE("verify finds a changed event and a changed record, per session", "[sessions][verify]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, session_defs());
  if (!e) return;
  auto r0 = build_session(*e, "ses-bad");
  build_session(*e, "ses-good");
  auto& store = *e->internals().store;

  SECTION("an event's text changed in place") {
    store.write([&](tokenrail::storage::write_transaction& tx) {
      const std::string key = ed::event_key("ses-bad", 3);
      // Same stored hash, other content: the event's canonical text with
      // its time changed (written in the plain canonical form, which every
      // stored-event layout accepts).
      const std::string v(*tx.get(tokenrail::storage::table::events, key));
      std::string text = ed::decode_event(v).canonical;
      auto pos = text.find("\"at\":");
      REQUIRE(pos != std::string::npos);
      text[pos + 6] = text[pos + 6] == '9' ? '8' : '9';
      tx.put(tokenrail::storage::table::events, key, v.substr(0, 32) + text);
    });
    auto r = call(*e, "verify", json::object{});
    INFO(json::serialize(r));
    CHECK(r.at("ok") == false);
    auto* bad = session_entry(r, "ses-bad");
    REQUIRE(bad);
    CHECK(bad->at("ok") == false);
    CHECK(std::string(bad->at("problem").as_string()).find("event 3") != std::string::npos);
    CHECK(session_entry(r, "ses-good")->at("ok") == true);
    CHECK(call(*e, "verify", json::object{{"sessionId", "ses-good"}}).at("ok") == true);
    CHECK(call(*e, "verify", json::object{{"sessionId", "ses-bad"}}).at("ok") == false);
  }
  SECTION("an event inside the record of an advance changed") {
    // An advance writes its events as one record (events.hpp): a changed
    // byte inside it is found and named by the event's own index.
    std::uint64_t index = 0;
    store.write([&](tokenrail::storage::write_transaction& tx) {
      std::string key, value;
      tx.scan(tokenrail::storage::table::events, ed::event_prefix("ses-bad"), [&](std::string_view k, std::string_view v) {
        if (v.find("split the handler") == std::string_view::npos) return true;
        key = k;
        value = v;
        return false;
      });
      REQUIRE(!value.empty());
      REQUIRE(static_cast<unsigned char>(value[32]) == 2);   // a group
      ed::decode_events(value, [&](ed::event&& ev) {
        if (ev.kind == "output_appended") index = ev.index;
      });
      value[value.find("split the handler")] = 'S';
      tx.put(tokenrail::storage::table::events, key, value);
    });
    auto r = call(*e, "verify", json::object{{"sessionId", "ses-bad"}});
    INFO(json::serialize(r));
    CHECK(r.at("ok") == false);
    const std::string problem(r.at("sessions").at(0).at("problem").as_string());
    CHECK(problem.find("event " + std::to_string(index) + ": hash chain broken") != std::string::npos);
    CHECK(call(*e, "verify", json::object{{"sessionId", "ses-good"}}).at("ok") == true);
  }
  SECTION("a record of an advance whose head hash is not its last event's") {
    store.write([&](tokenrail::storage::write_transaction& tx) {
      std::string key, value;
      tx.scan(tokenrail::storage::table::events, ed::event_prefix("ses-bad"), [&](std::string_view k, std::string_view v) {
        if (v.size() <= 32 || static_cast<unsigned char>(v[32]) != 2) return true;
        key = k;
        value = v;
        return false;
      });
      REQUIRE(!value.empty());
      value[0] = static_cast<char>(value[0] ^ 1);
      tx.put(tokenrail::storage::table::events, key, value);
    });
    auto r = call(*e, "verify", json::object{{"sessionId", "ses-bad"}});
    INFO(json::serialize(r));
    CHECK(r.at("ok") == false);
    CHECK(std::string(r.at("sessions").at(0).at("problem").as_string()).find("does not decode") != std::string::npos);
  }
  SECTION("a node record that differs from the replay") {
    auto run = ed::parse_run_id(std::string(r0.at("session").at("runId").as_string()));
    REQUIRE(run);
    store.write([&](tokenrail::storage::write_transaction& tx) {
      auto v = tx.get(tokenrail::storage::table::nodes, ed::node_key(*run, 1));
      REQUIRE(v);
      auto n = ed::decode_node(*v, 1);
      n.step_id = "s3";
      tx.put(tokenrail::storage::table::nodes, ed::node_key(*run, 1), ed::encode_node(n, 1));
    });
    auto r = call(*e, "verify", json::object{});
    INFO(json::serialize(r));
    CHECK(r.at("ok") == false);
    CHECK(session_entry(r, "ses-bad")->at("ok") == false);
    CHECK(std::string(session_entry(r, "ses-bad")->at("problem").as_string()).find("/1") != std::string::npos);
    CHECK(session_entry(r, "ses-good")->at("ok") == true);
  }
  // The leaves but the newest are keys of their own (status_store.hpp).
  SECTION("a leaf's key missing, or a key for a node that has children") {
    auto run = ed::parse_run_id(std::string(r0.at("session").at("runId").as_string()));
    REQUIRE(run);
    const bool drop = GENERATE(true, false);
    store.write([&](tokenrail::storage::write_transaction& tx) {
      std::vector<std::string> keys;
      tx.scan(tokenrail::storage::table::runs, ed::run_tip_prefix(*run), [&](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
      });
      REQUIRE(keys.size() >= 1);   // build_session forks the run
      if (drop) tx.erase(tokenrail::storage::table::runs, keys.front());
      else tx.put(tokenrail::storage::table::runs, ed::run_tip_key(*run, 0), "");   // the root has children
    });
    auto r = call(*e, "verify", json::object{});
    INFO(json::serialize(r));
    CHECK(session_entry(r, "ses-bad")->at("ok") == false);
    CHECK(std::string(session_entry(r, "ses-bad")->at("problem").as_string()).find("tips differ from the replay") !=
          std::string::npos);
    CHECK(session_entry(r, "ses-good")->at("ok") == true);
  }
}

TEST_CASE("the session operations accept what their tool definitions allow and refuse the rest with the pointer",
          "[sessions][tools]") {
  auto e = make_engine("memory", session_defs());
  auto r0 = build_session(*e, "ses-tools");
  const auto bundle = export_bundle(*e, "ses-tools");
  const std::map<std::string, json::object> minimal = {
      {"resume_session", {}},
      {"export_session", {{"sessionId", "ses-tools"}}},
      {"import_session", {{"bundle", bundle}}},
      {"verify", {}},
  };
  for (const auto& [op, req] : minimal) {
    const auto* def = tokenrail::find_tool_definition(op);
    REQUIRE(def);
    INFO(op);
    CHECK(error_code(call(*e, op, req)).empty());
    const auto& schema = def->input_schema().as_object();
    for (const auto& p : schema.at("properties").as_object()) {
      // A value of the wrong type for every property: a number for
      // strings and objects, a string where an object or a number is
      // expected.
      const auto& ps = p.value().as_object();
      const bool wants_number = ps.contains("type") && (ps.at("type") == "object" || ps.at("type") == "integer");
      json::object bad = req;
      bad[p.key()] = wants_number ? json::value("x") : json::value(3);
      auto r = call(*e, op, bad);
      INFO(json::serialize(r));
      CHECK(error_code(r) == "INVALID_REQUEST");
      CHECK(error_pointer(r) == "/" + std::string(p.key()));
    }
    if (auto* required = schema.if_contains("required")) {
      for (const auto& name : required->as_array()) {
        json::object missing = req;
        missing.erase(name.as_string());
        auto r = call(*e, op, missing);
        CHECK(error_code(r) == "INVALID_REQUEST");
        CHECK(error_pointer(r) == "/" + std::string(name.as_string()));
      }
    }
    json::object unknown = req;
    unknown["zzz"] = 1;
    CHECK(error_pointer(call(*e, op, unknown)) == "/zzz");
  }
  // Valid values of every optional field are accepted.
  CHECK(error_code(call(*e, "resume_session", json::object{{"query", "auth"}, {"sessionId", "ses-tools"},
                                                           {"runId", r0.at("session").at("runId")},
                                                           {"workflowId", "lin3"}}))
            .empty());
  CHECK(error_code(call(*e, "export_session", json::object{{"sessionId", "ses-tools"}, {"format", "markdown"}})).empty());
  CHECK(error_code(call(*e, "verify", json::object{{"sessionId", "ses-tools"}})).empty());
}

TEST_CASE("numbers keep every bit through the store, the responses and verify", "[sessions][verify]") {
  // Each of these decimals came out one bit off with Boost.JSON 1.81's own
  // parser; the engine must echo it unchanged and verify its events.
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, session_defs());
  if (!e) return;
  const std::string start_text = e->call(
      "start_workflow", R"({"workflowId":"lin3","sessionId":"ses-num","context":{"ratio":11143.938825400413}})");
  INFO(start_text);
  auto r0 = json::parse(start_text);
  REQUIRE(error_code(r0).empty());
  const std::string body = R"({"stateToken":")" + std::string(r0.at("stateToken").as_string()) +
                           R"(","ackToken":")" + std::string(r0.at("ackToken").as_string()) +
                           R"(","context":{"score":1893.0204142085095},)"
                           R"("output":{"notesMarkdown":"n","artifacts":[{"kind":"m","v":0.011962827571952765}]}})";
  const std::string r1 = e->call("continue_workflow", body);
  INFO(r1);
  REQUIRE(error_code(json::parse(r1)).empty());
  CHECK(e->call("continue_workflow", body) == r1);   // the replay: same digest, same bytes

  // Read back with the engine's own parser and compared bit for bit; and
  // written as JavaScript prints them (not Boost.JSON's 1.1143938825400413E4).
  const std::string run = R"({"runId":")" + std::string(r0.at("session").at("runId").as_string()) + R"("})";
  const std::string got = e->call("get_run", run);
  INFO(got);
  CHECK(tokenrail::parse_json_text(got).at("spec").at("context").at("ratio") == json::value(11143.938825400413));
  CHECK(got.find(R"("ratio":11143.938825400413)") != std::string::npos);
  const std::string exported = e->call("export_session", R"({"sessionId":"ses-num"})");
  CHECK(exported.find(R"("score":1893.0204142085095)") != std::string::npos);
  CHECK(exported.find(R"("v":0.011962827571952765)") != std::string::npos);

  auto v = call(*e, "verify", json::object{{"sessionId", "ses-num"}});
  INFO(json::serialize(v));
  CHECK(v.at("ok") == true);
}
