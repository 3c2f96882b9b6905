// tool_definitions (D6): requests generated from each schema are accepted
// or refused exactly as the schema says, with the JSON pointer.
#include "engine/support.hpp"

#include "engine/request_check.hpp"

#include <tokenrail/engine/tool_definitions.hpp>
#include <tokenrail/json/schema.hpp>

#include <set>

using namespace trtest;

namespace {

/// A value that the property schema `ps` does not allow, judged by its
/// "type" (or enum/pattern: a number is never a member of a string enum).
json::value wrong_value_for(const json::value& ps) {
  const auto& o = ps.as_object();
  std::string type = o.contains("type") && o.at("type").is_string() ? std::string(o.at("type").as_string()) : "";
  if (type == "string" || o.contains("enum") || o.contains("pattern")) return 12345;
  if (type == "object") return "not an object";
  if (type == "array") return json::object{};
  if (type == "boolean") return "true";
  if (type == "integer" || type == "number") return "1";
  return nullptr;
}

/// Minimal valid requests, with real tokens and ids where needed. Operations
/// added by other files (async, sessions) add their row here.
std::optional<json::object> minimal_request(std::string_view op, const json::value& started) {
  if (op == "list_workflows") return json::object{};
  if (op == "inspect_workflow" || op == "start_workflow") return json::object{{"workflowId", "lin2"}};
  if (op == "continue_workflow") return json::object{{"stateToken", started.at("stateToken")}};
  if (op == "checkpoint_workflow") return json::object{{"stateToken", started.at("stateToken")}, {"notesMarkdown", "x"}};
  if (op == "get_run") return json::object{{"runId", started.at("session").at("runId")}};
  if (op == "delete_sessions") return json::object{{"sessionIds", json::array{"no-such-session"}}};
  return std::nullopt;
}

/// Walks the schema's properties (recursing into nested objects present in
/// `base`) and checks wrong types and extra members at every level.
void walk(tokenrail::engine& e, std::string_view op, const json::object& root, const json::object& schema,
          std::vector<std::string> path) {
  auto with = [&](const json::value& v) {
    json::value req = root;
    json::value* at = &req;
    for (auto& p : path) at = &at->as_object()[p];
    return std::pair<json::value, json::value*>(std::move(req), nullptr);
    (void)v;
  };
  (void)with;
  std::string prefix;
  for (auto& p : path) prefix += "/" + p;
  auto target = [&](json::value& req) -> json::object& {
    json::value* at = &req;
    for (auto& p : path) {
      auto& obj = at->as_object();
      if (!obj.contains(p)) obj[p] = json::object{};
      at = &obj[p];
    }
    return at->as_object();
  };
  if (auto* props = schema.if_contains("properties")) {
    for (const auto& kv : props->as_object()) {
      json::value bad = wrong_value_for(kv.value());
      if (bad.is_null()) continue;
      json::value req = root;
      target(req)[kv.key()] = bad;
      auto r = call(e, op, req);
      INFO(op << " wrong type at " << prefix << "/" << std::string(kv.key()) << ": " << json::serialize(r));
      CHECK(error_code(r) == "INVALID_REQUEST");
      CHECK(error_pointer(r) == prefix + "/" + std::string(kv.key()));
      if (kv.value().as_object().contains("properties")) {
        auto next = path;
        next.emplace_back(kv.key());
        walk(e, op, root, kv.value().as_object(), next);
      }
    }
  }
  // A nested object the minimal request lacks may have required members of
  // its own, which the validator reports first; the extra-member check
  // needs a valid base, so it runs at the top level and for nested objects
  // without required members.
  const bool base_valid = path.empty() || !schema.contains("required");
  if (auto* ap = schema.if_contains("additionalProperties"); base_valid && ap && ap->is_bool() && !ap->as_bool()) {
    json::value req = root;
    target(req)["zzUnexpected"] = 1;
    auto r = call(e, op, req);
    INFO(op << " extra member at " << prefix << ": " << json::serialize(r));
    CHECK(error_code(r) == "INVALID_REQUEST");
    CHECK(error_pointer(r) == prefix + "/zzUnexpected");
  }
}

}  // namespace

TEST_CASE("every operation has one tool definition and vice versa", "[engine][tools]") {
  std::set<std::string> ops, defs;
  for (auto op : tokenrail::engine::operations()) ops.emplace(op);
  for (const auto& d : tokenrail::tool_definitions()) {
    defs.emplace(d.name);
    CHECK(d.description.size() > 40);
    CHECK(d.input_schema().is_object());
    CHECK(d.input_schema().at("type") == "object");
    CHECK(tokenrail::find_tool_definition(d.name) == &d);
  }
  CHECK(ops == defs);
  // MCP clients pass these schemas on to model APIs, which refuse a
  // combinator at the root of an input schema (Anthropic: "input_schema
  // does not support oneOf, allOf, or anyOf at the top level").
  for (const auto& d : tokenrail::tool_definitions())
    for (const char* kw : {"anyOf", "oneOf", "allOf", "if", "then", "else"}) {
      INFO(d.name << " " << kw);
      CHECK_FALSE(d.input_schema().as_object().contains(kw));
    }
  std::set<std::string> agent;
  for (const auto& d : tokenrail::tool_definitions())
    if (d.agent_facing) agent.emplace(d.name);
  for (const char* name : {"list_workflows", "inspect_workflow", "start_workflow", "continue_workflow",
                           "checkpoint_workflow"})
    CHECK(agent.count(name) == 1);
  CHECK(agent.count("get_run") == 0);
  CHECK(agent.count("rotate_key") == 0);
}

TEST_CASE("requests generated from the schemas are accepted or refused with the pointer", "[engine][tools]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  auto started = start(*e, "lin2");
  for (const auto& d : tokenrail::tool_definitions()) {
    if (d.name == "rotate_key") continue;   // valid requests change the keyring; covered below
    const auto minimal_opt = minimal_request(d.name, started);
    if (!minimal_opt) {
      WARN("no minimal request for " << d.name << " in this test; schema walk skipped");
      continue;
    }
    const json::object& minimal = *minimal_opt;
    {
      auto r = call(*e, d.name, minimal);
      INFO(d.name << " minimal: " << json::serialize(r));
      CHECK(error_code(r).empty());
    }
    const auto& schema = d.input_schema().as_object();
    if (auto* req = schema.if_contains("required")) {
      for (const auto& name : req->as_array()) {
        json::object r0 = minimal;
        r0.erase(name.as_string());
        auto r = call(*e, d.name, r0);
        INFO(d.name << " without " << json::serialize(name) << ": " << json::serialize(r));
        CHECK(error_code(r) == "INVALID_REQUEST");
        CHECK(error_pointer(r) == "/" + std::string(name.as_string()));
      }
    }
    walk(*e, d.name, minimal, schema, {});
    // The request itself must be an object.
    auto r = call(*e, d.name, json::array{1});
    CHECK(error_code(r) == "INVALID_REQUEST");
    CHECK(error_pointer(r) == "");
  }
  // rotate_key: {} accepted, anything else refused.
  CHECK(error_code(call(*e, "rotate_key", json::object{})).empty());
  CHECK(error_pointer(call(*e, "rotate_key", json::object{{"x", 1}})) == "/x");
}

// ---- the hand-written checks of the hot operations (src/engine/request_check.hpp)

namespace {

/// The requests the schema walk above sends (wrong types at every level,
/// extra members, each required member missing, a non-object), generated
/// here as values so that both checks can judge each one.
void generate(const json::value& base, const json::object& schema, std::vector<std::string> path,
              std::vector<json::value>& out) {
  auto at = [&](json::value& req) -> json::object& {
    json::value* v = &req;
    for (auto& p : path) {
      auto& obj = v->as_object();
      if (!obj.contains(p)) obj[p] = json::object{};
      v = &obj[p];
    }
    return v->as_object();
  };
  if (auto* props = schema.if_contains("properties")) {
    for (const auto& kv : props->as_object()) {
      json::value bad = wrong_value_for(kv.value());
      json::value req = base;
      at(req)[kv.key()] = bad.is_null() ? json::value(json::array{}) : bad;
      out.push_back(std::move(req));
      if (kv.value().as_object().contains("properties")) {
        auto next = path;
        next.emplace_back(kv.key());
        generate(base, kv.value().as_object(), next, out);
      }
    }
  }
  json::value extra = base;
  at(extra)["zzUnexpected"] = 1;
  out.push_back(std::move(extra));
  if (auto* req = schema.if_contains("required")) {
    for (const auto& name : req->as_array()) {
      json::value r = base;
      at(r).erase(name.as_string());
      out.push_back(std::move(r));
    }
  }
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("the fast request checks give the schema's verdict on generated requests", "[engine][tools]") {
  using tokenrail::engine_detail::fast_request_check;
  using tokenrail::engine_detail::fast_request_check_enabled;
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  auto started = start(*e, "lin2");
  const std::string st(started.at("stateToken").as_string()), ak(started.at("ackToken").as_string());

  for (std::string_view op : {"continue_workflow", "start_workflow"}) {
    INFO(op);
    // Off when the schema was edited: update request_check.cpp with it.
    REQUIRE(fast_request_check_enabled(op));
    const json::value& schema = tokenrail::find_tool_definition(op)->input_schema();
    std::vector<json::value> reqs{json::array{1}, "text", nullptr, json::object{}};
    const json::value minimal = *minimal_request(op, started);
    reqs.push_back(minimal);
    generate(minimal, schema.as_object(), {}, reqs);
    if (op == "continue_workflow") {
      const json::object full{{"stateToken", st}, {"ackToken", ak}, {"context", json::object{{"a", 1}}},
                              {"output", json::object{{"notesMarkdown", "n"}, {"artifacts", json::array{json::object{}}}}}};
      reqs.push_back(full);
      generate(full, schema.as_object(), {}, reqs);
      for (const json::value& v : {json::value(json::array{1}), json::value(json::array{}), json::value("x")}) {
        json::value r = full;
        r.as_object()["output"].as_object()["artifacts"] = v;
        reqs.push_back(r);
      }
      for (const std::string& t : {repeat("a", 256), repeat("a", 257), repeat("\xC3\xA9", 256), repeat("\xC3\xA9", 257), std::string()})
        for (const char* field : {"stateToken", "ackToken"}) {
          json::value r = full;
          r.as_object()[field] = t;
          reqs.push_back(r);
        }
      reqs.push_back(json::object{{"stateToken", st}, {"context", nullptr}});
      reqs.push_back(json::object{{"stateToken", st}, {"output", json::object{}}});
      reqs.push_back(json::object{{"stateToken", st}, {"output", json::object{{"notesMarkdown", 1}}}});
    } else {
      const json::object full{{"workflowId", "lin2"},
                              {"context", json::object{{"a", 1}}},
                              {"sessionId", "s-1"},
                              {"labels", json::object{{"team", "x"}}},
                              {"idempotencyKey", "k"},
                              {"correlation", json::object{{"traceId", "t"}, {"flowId", "f"}, {"tenantId", "n"}}},
                              {"parent", json::object{{"callbackToken", "cb1_x"}}}};
      reqs.push_back(full);
      generate(full, schema.as_object(), {}, reqs);
      auto with = [&](const char* field, json::value v) {
        json::value r = full;
        r.as_object()[field] = std::move(v);
        reqs.push_back(std::move(r));
      };
      for (const std::string& s : {std::string("a"), std::string("~a"), std::string("a~"), std::string("}"),
                                   repeat("a", 128), repeat("a", 129), std::string("a b"), std::string(),
                                   std::string("\xC3\xA9"), std::string("a\"\\")})
        with("sessionId", json::string(s));
      for (const std::string& s : {std::string(), repeat("w", 256), repeat("w", 257), repeat("\xC3\xA9", 256),
                                   repeat("\xC3\xA9", 257)}) {
        with("workflowId", json::string(s));
        with("idempotencyKey", json::string(s));
      }
      with("labels", json::object{{"a", 1}});
      with("labels", json::object{{"a", repeat("l", 1024)}});
      with("labels", json::object{{"a", repeat("l", 1025)}});
      with("labels", json::object{});
      with("correlation", json::object{{"other", "x"}});
      with("correlation", json::object{{"traceId", repeat("t", 257)}});
      with("correlation", json::object{});
      with("parent", json::object{});
      with("parent", json::object{{"callbackToken", "x"}, {"y", 1}});
      with("parent", json::object{{"callbackToken", 1}});
      with("parent", json::object{{"callbackToken", repeat("c", 257)}});
    }
    std::size_t valid = 0;
    for (const auto& r : reqs) {
      INFO(json::serialize(r));
      const bool schema_ok = !tokenrail::json::validate(schema, r).has_value();
      const auto fast = fast_request_check(op, r);
      REQUIRE(fast.has_value());
      CHECK(*fast == schema_ok);
      valid += schema_ok;
    }
    // Both verdicts occur, many times over.
    CHECK(valid >= 5);
    CHECK(reqs.size() - valid >= 15);
  }
}
