// Bad input (D14): every malformed request gets its error as data with the
// field that caused it; nothing crashes and nothing is written.
#include "engine/support.hpp"

#include <tokenrail/token/token.hpp>

#include <cmath>

using namespace trtest;

TEST_CASE("malformed requests are errors as data and write nothing", "[engine][bad]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)}, {},
                       json::object{{"maxRequestBytes", 4096}, {"maxDepth", 16}, {"maxNotesBytes", 100}});
  auto r = start(*e, "lin2");
  auto before = e->internals().store->stats();
  auto code = [&](std::string_view op, std::string_view text) { return error_code(json::parse(e->call(op, text))); };

  CHECK(code("start_workflow", "{") == "INVALID_JSON");
  CHECK(code("start_workflow", "") == "INVALID_JSON");
  CHECK(code("start_workflow", "[1,2]") == "INVALID_REQUEST");
  CHECK(code("start_workflow", "\"x\"") == "INVALID_REQUEST");
  CHECK(code("start_workflow", std::string("{\"workflowId\":\"\xff\"}")) == "INVALID_UTF8");
  CHECK(code("no_such_op", "{}") == "UNKNOWN_OPERATION");
  CHECK(code("", "{}") == "UNKNOWN_OPERATION");
  CHECK(code("start_workflow", "{\"workflowId\":\"" + std::string(5000, 'a') + "\"}") == "PAYLOAD_TOO_LARGE");
  CHECK(code("start_workflow", std::string(40, '[') + std::string(40, ']')) == "NESTING_TOO_DEEP");
  CHECK(code("start_workflow", R"({"workflowId": 5})") == "INVALID_REQUEST");
  CHECK(code("start_workflow", R"({"workflowId": "lin2", "sessionId": "~reserved"})") == "INVALID_REQUEST");
  CHECK(code("start_workflow", R"({"workflowId": "lin2", "sessionId": "has space"})") == "INVALID_REQUEST");
  CHECK(code("start_workflow", R"({"workflowId": "lin2", "labels": {"a": 1}})") == "INVALID_REQUEST");
  // Notes over maxNotesBytes.
  json::object big{{"stateToken", r.at("stateToken")}, {"ackToken", r.at("ackToken")},
                   {"output", json::object{{"notesMarkdown", std::string(200, 'n')}}}};
  auto bigr = call(*e, "continue_workflow", big);
  CHECK(error_code(bigr) == "PAYLOAD_TOO_LARGE");
  CHECK(error_pointer(bigr) == "/output/notesMarkdown");
  auto after = e->internals().store->stats();
  CHECK(after.entries == before.entries);
}

TEST_CASE("tokens of every wrong shape, kind and scope are refused with their field", "[engine][bad]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  auto other = make_engine("memory", {linear_workflow("lin2", 2)});
  auto r = start(*e, "lin2");
  auto foreign = start(*other, "lin2");
  const std::string st(r.at("stateToken").as_string());
  const std::string ak(r.at("ackToken").as_string());
  auto before = e->internals().store->stats();

  auto cont = [&](const json::value& s, const json::value& a) {
    json::object req{{"stateToken", s}};
    if (!a.is_null()) req["ackToken"] = a;
    return call(*e, "continue_workflow", req);
  };
  auto family2 = [](const json::value& resp) {
    return resp.at("error").at("numericCode").as_int64() / 1000 == 2;
  };

  std::string flipped = st;
  flipped[20] = flipped[20] == 'A' ? 'B' : 'A';
  std::vector<std::string> bad_states = {"", "x", "st1_", st.substr(0, 51), st + "A", "st2_" + st.substr(4),
                                         "ST1_" + st.substr(4), flipped, std::string(52, '!'), ak,
                                         std::string(r.at("checkpointToken").as_string()),
                                         std::string(foreign.at("stateToken").as_string())};
  for (const auto& s : bad_states) {
    auto resp = cont(json::value(s), json::value(ak));
    INFO(s << " -> " << json::serialize(resp));
    REQUIRE(resp.as_object().contains("error"));
    CHECK(family2(resp));
    CHECK(resp.at("error").at("retry").at("kind") == "not_retryable");
    CHECK(error_pointer(resp) == "/stateToken");
  }
  CHECK(error_code(cont(json::value(ak), json::value(ak))) == "TOKEN_WRONG_KIND");
  CHECK(error_code(cont(json::value(flipped), json::value(ak))) == "TOKEN_INVALID");
  CHECK(error_code(cont(json::value("st2_" + st.substr(4)), json::value(ak))) == "TOKEN_UNSUPPORTED_VERSION");

  for (const auto& a : std::vector<std::string>{"", "ak1_zz", st, std::string(foreign.at("ackToken").as_string())}) {
    auto resp = cont(json::value(st), json::value(a));
    INFO(a << " -> " << json::serialize(resp));
    REQUIRE(resp.as_object().contains("error"));
    CHECK(family2(resp));
    CHECK(error_pointer(resp) == "/ackToken");
  }
  CHECK(error_code(cont(json::value(st), json::value(st))) == "TOKEN_WRONG_KIND");
  CHECK(e->internals().store->stats().entries == before.entries);
}

TEST_CASE("tokens minted before a key rotation keep working", "[engine][bad]") {
  auto e = make_engine("memory", {linear_workflow("lin3", 3)});
  auto r = start(*e, "lin3");
  auto rot = call(*e, "rotate_key", json::object{});
  INFO(json::serialize(rot));
  REQUIRE(error_code(rot).empty());
  CHECK(rot.at("keyId") == 2);
  CHECK(rot.at("previousKeyId") == 1);
  auto n = advance(*e, r);
  INFO(json::serialize(n));
  CHECK(n.at("pending").at("stepId") == "s2");
  CHECK(n.at("stateToken") != r.at("stateToken"));
  CHECK(verify(*e).ok);
}

TEST_CASE("invalid configs name the field", "[engine][bad]") {
  auto bad = [](std::string_view cfg) {
    auto e = tokenrail::engine::open(cfg);
    REQUIRE_FALSE(e);
    return std::make_pair(tokenrail::errc_name(e.error().code), json::serialize(e.error().details));
  };
  CHECK(bad("{").first == "INVALID_CONFIG");
  CHECK(bad(R"({"store": {"backend": "paper"}})").second.find("/store/backend") != std::string::npos);
  CHECK(bad(R"({"store": {"durabilty": "relaxed"}})").second.find("/store/durabilty") != std::string::npos);
  CHECK(bad(R"({"limits": {"maxDepth": "deep"}})").second.find("/limits/maxDepth") != std::string::npos);
  // Beyond what the engine can honour: refused up front, not a crash or a
  // record that can no longer be read back later.
  CHECK(bad(R"({"limits": {"maxDepth": 10000}})").second.find("/limits/maxDepth") != std::string::npos);
  CHECK(bad(R"({"limits": {"maxNotesBytes": 1e20}})").second.find("/limits/maxNotesBytes") != std::string::npos);
  CHECK(bad(R"({"limits": {"maxRequestBytes": 18446744073709551615}})").second.find("/limits/maxRequestBytes") !=
        std::string::npos);
  CHECK(bad(R"({"store": {"backend": "lmdb", "path": "/nonexistent/x", "mapSizeBytes": 1e300}})").second.find(
            "/store/mapSizeBytes") != std::string::npos);
  CHECK(bad(R"({"store": {"backend": "lmdb", "path": "/nonexistent/x", "maxMapSizeBytes": 18446744073709551615}})")
            .second.find("/store/maxMapSizeBytes") != std::string::npos);
  CHECK(static_cast<bool>(tokenrail::engine::open(std::string_view(R"({"limits": {"maxDepth": 512}})"))));
  CHECK(bad(R"({"keyring": {"secret": "zz"}})").first == "INVALID_CONFIG");
  CHECK(bad(R"({"keyring": {"secret": ")" + std::string(64, 'g') + R"("}})").second.find("/keyring/secret") != std::string::npos);
  // A host secret shared by two engines: tokens of one verify in the other.
  const std::string cfg = R"({"keyring": {"secret": ")" + std::string(64, 'a') + R"("}, "definitions": [)" +
                          json::serialize(linear_workflow("lin2", 2)) + "]}";
  auto a = tokenrail::engine::open(cfg);
  auto b = tokenrail::engine::open(cfg);
  REQUIRE(a);
  REQUIRE(b);
  auto r = start(**a, "lin2");
  auto x = call(**b, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
  CHECK(error_code(x) == "RUN_NOT_FOUND");   // authentic token, other store
}

TEST_CASE("numbers without a JSON form are refused with their own pointer", "[engine][bad]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  auto before = e->internals().store->stats();
  // 1e400 parses to infinity: written out it would become null (in a
  // context, null deletes the key), so the request is refused, naming it.
  auto r = json::parse(e->call("start_workflow", R"({"workflowId":"lin2","context":{"keep":1,"x":-1e400}})"));
  CHECK(error_code(r) == "INVALID_REQUEST");
  CHECK(error_pointer(r) == "/context/x");
  r = json::parse(e->call("start_workflow", R"({"workflowId":"lin2","context":{"a/b":[0,{"~":1e999}]}})"));
  CHECK(error_pointer(r) == "/context/a~1b/1/~0");
  // The same through call_json, where a C++ host can hand in NaN.
  json::object req{{"workflowId", "lin2"}, {"context", json::object{{"n", std::nan("")}}}};
  r = e->call_json("start_workflow", req);
  CHECK(error_code(r) == "INVALID_REQUEST");
  CHECK(error_pointer(r) == "/context/n");
  auto s = start(*e, "lin2");
  auto mid = e->internals().store->stats();
  CHECK(mid.entries > before.entries);
  r = json::parse(e->call("continue_workflow",
                          R"({"stateToken":")" + str(s, "stateToken") + R"(","ackToken":")" + str(s, "ackToken") +
                              R"(","output":{"artifacts":[{"kind":"x","score":1e309}]}})"));
  CHECK(error_pointer(r) == "/output/artifacts/0/score");
  CHECK(e->internals().store->stats().entries == mid.entries);   // nothing written
  // Tiny numbers are not refused: they round to the nearest double.
  CHECK(error_code(json::parse(e->call("start_workflow", R"({"workflowId":"lin2","context":{"t":1e-400}})"))) == "");
}

TEST_CASE("the deepest request the limits allow is stored and read back whole", "[engine][bad]") {
  // maxDepth at its maximum: a context that deep must survive every record
  // that wraps it (node, events, export bundle), or a write that succeeded
  // would leave records that no longer read back (D14: nothing lost).
  json::parse_options deep_ok;
  deep_ok.max_depth = 4096;   // the responses hold the context too
  for (const auto& backend : backends()) {
    auto e = make_engine(backend, {linear_workflow("lin2", 2)}, {}, json::object{{"maxDepth", 512}});
    if (!e) continue;
    INFO(backend);
    auto op = [&](std::string_view name, const std::string& req) { return json::parse(e->call(name, req), {}, deep_ok); };
    std::string deep = "1";
    for (int i = 0; i < 510; ++i) deep = "[" + deep + "]";   // the request, its context and 510 arrays: 512 levels
    CHECK(error_code(op("start_workflow", R"({"workflowId":"lin2","context":{"d":[)" + deep + "]}}")) ==
          "NESTING_TOO_DEEP");
    auto r = op("start_workflow", R"({"workflowId":"lin2","context":{"d":)" + deep + "}}");
    REQUIRE(error_code(r) == "");
    auto n = op("continue_workflow", R"({"stateToken":")" + str(r, "stateToken") + R"(","ackToken":")" +
                                         str(r, "ackToken") + R"(","context":{"e":)" + deep + "}}");
    REQUIRE(error_code(n) == "");
    CHECK(n.at("pending").at("stepId") == "s2");
    auto run = op("get_run", R"({"runId":")" + str(r.at("session"), "runId") + R"("})");
    CHECK(error_code(run) == "");
    auto ex = op("export_session", R"({"sessionId":")" + str(r.at("session"), "sessionId") + R"("})");
    REQUIRE(error_code(ex) == "");
    CHECK(verify(*e).ok);
    // The bundle carries that context a few levels deeper; an engine with
    // the same limits imports it.
    auto other = make_engine("memory", {linear_workflow("lin2", 2)}, {}, json::object{{"maxDepth", 512}});
    auto im = json::parse(other->call("import_session", json::serialize(json::object{{"bundle", ex.at("bundle")}})), {},
                          deep_ok);
    CHECK(error_code(im) == "");
    CHECK(verify(*other).ok);
  }
}

TEST_CASE("retention refuses an age beyond any clock", "[engine][bad]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  for (const char* age : {"18446744073709551616", "9223372036854775808", "1e300"}) {
    auto r = json::parse(e->call("delete_sessions", std::string(R"({"olderThanMs":)") + age + "}"));
    INFO(age);
    CHECK(error_code(r) == "INVALID_REQUEST");
    CHECK(error_pointer(r) == "/olderThanMs");
  }
}
