// Bad input (D14): every malformed request gets its error as data with the
// field that caused it; nothing crashes and nothing is written.
#include "engine/support.hpp"

#include <tokenrail/token/token.hpp>

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
