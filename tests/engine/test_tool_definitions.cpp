// tool_definitions (D6): requests generated from each schema are accepted
// or refused exactly as the schema says, with the JSON pointer.
#include "engine/support.hpp"

#include <tokenrail/engine/tool_definitions.hpp>

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
