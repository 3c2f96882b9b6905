// Fast request checks; see request_check.hpp for why and how they stay in
// step with the schemas.
#include "engine/request_check.hpp"

#include <tokenrail/engine/tool_definitions.hpp>
#include <tokenrail/json/canonical.hpp>

#include <boost/json/object.hpp>

namespace tokenrail::engine_detail {

namespace {

namespace bj = boost::json;

// The schemas the checks below were written for: canonical JSON (RFC 8785)
// of the tool schema with every "description" annotation removed.
constexpr std::string_view continue_schema =
    R"({"additionalProperties":false,"properties":{"ackToken":{"maxLength":256,"type":"string"},)"
    R"("context":{"type":"object"},"output":{"additionalProperties":false,"properties":{"artifacts":)"
    R"({"items":{"type":"object"},"type":"array"},"notesMarkdown":{"type":"string"}},"type":"object"},)"
    R"("stateToken":{"maxLength":256,"type":"string"}},"required":["stateToken"],"type":"object"})";
constexpr std::string_view start_schema =
    R"({"additionalProperties":false,"properties":{"context":{"type":"object"},"correlation":)"
    R"({"additionalProperties":false,"properties":{"flowId":{"maxLength":256,"type":"string"},)"
    R"("tenantId":{"maxLength":256,"type":"string"},"traceId":{"maxLength":256,"type":"string"}},)"
    R"("type":"object"},"idempotencyKey":{"maxLength":256,"minLength":1,"type":"string"},"labels":)"
    R"({"additionalProperties":{"maxLength":1024,"type":"string"},"type":"object"},"parent":)"
    R"({"additionalProperties":false,"properties":{"callbackToken":{"maxLength":256,"type":"string"}},)"
    R"("required":["callbackToken"],"type":"object"},"sessionId":{"pattern":"^[!-}][!-~]{0,127}$",)"
    R"("type":"string"},"workflowId":{"maxLength":256,"minLength":1,"type":"string"}},)"
    R"("required":["workflowId"],"type":"object"})";

bj::value strip_descriptions(const bj::value& v) {
  if (v.is_object()) {
    bj::object out;
    for (const auto& kv : v.get_object())
      if (!(kv.key() == "description" && kv.value().is_string())) out[kv.key()] = strip_descriptions(kv.value());
    return out;
  }
  if (v.is_array()) {
    bj::array out;
    for (const auto& x : v.get_array()) out.push_back(strip_descriptions(x));
    return out;
  }
  return v;
}

bool schema_is(std::string_view operation, std::string_view expected) {
  const tool_definition* def = find_tool_definition(operation);
  return def && json::canonicalize(strip_descriptions(def->input_schema())) == expected;
}

// maxLength / minLength count code points, like the generic validator
// (bytes that are not UTF-8 continuation bytes).
bool string_at_most(const bj::value& v, std::size_t max) {
  if (!v.is_string()) return false;
  const auto& s = v.get_string();
  if (s.size() <= max) return true;   // never more code points than bytes
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n <= max;
}

bool string_between(const bj::value& v, std::size_t min, std::size_t max) {
  if (!string_at_most(v, max)) return false;
  const auto& s = v.get_string();
  if (s.size() < min) return false;   // fewer bytes: fewer code points
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++n >= min) return true;
  return n >= min;
}

bool check_continue(const bj::value& v) {
  if (!v.is_object()) return false;
  bool has_state = false;
  for (const auto& kv : v.get_object()) {
    const std::string_view k = kv.key();
    const bj::value& x = kv.value();
    if (k == "stateToken") {
      if (!string_at_most(x, 256)) return false;
      has_state = true;
    } else if (k == "ackToken") {
      if (!string_at_most(x, 256)) return false;
    } else if (k == "context") {
      if (!x.is_object()) return false;
    } else if (k == "output") {
      if (!x.is_object()) return false;
      for (const auto& o : x.get_object()) {
        if (o.key() == "notesMarkdown") {
          if (!o.value().is_string()) return false;
        } else if (o.key() == "artifacts") {
          if (!o.value().is_array()) return false;
          for (const auto& a : o.value().get_array())
            if (!a.is_object()) return false;
        } else {
          return false;
        }
      }
    } else {
      return false;
    }
  }
  return has_state;
}

// "^[!-}][!-~]{0,127}$": 1..128 bytes, the first in '!'..'}', the rest in '!'..'~'.
bool session_id_ok(const bj::value& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_string();
  if (s.empty() || s.size() > 128 || s[0] < '!' || s[0] > '}') return false;
  for (char c : s)
    if (c < '!' || c > '~') return false;
  return true;
}

bool check_start(const bj::value& v) {
  if (!v.is_object()) return false;
  bool has_workflow = false;
  for (const auto& kv : v.get_object()) {
    const std::string_view k = kv.key();
    const bj::value& x = kv.value();
    if (k == "workflowId") {
      if (!string_between(x, 1, 256)) return false;
      has_workflow = true;
    } else if (k == "context") {
      if (!x.is_object()) return false;
    } else if (k == "sessionId") {
      if (!session_id_ok(x)) return false;
    } else if (k == "labels") {
      if (!x.is_object()) return false;
      for (const auto& l : x.get_object())
        if (!string_at_most(l.value(), 1024)) return false;
    } else if (k == "idempotencyKey") {
      if (!string_between(x, 1, 256)) return false;
    } else if (k == "correlation") {
      if (!x.is_object()) return false;
      for (const auto& c : x.get_object()) {
        if (c.key() != "traceId" && c.key() != "flowId" && c.key() != "tenantId") return false;
        if (!string_at_most(c.value(), 256)) return false;
      }
    } else if (k == "parent") {
      if (!x.is_object()) return false;
      const auto& p = x.get_object();
      if (p.size() != 1) return false;
      auto* cb = p.if_contains("callbackToken");
      if (!cb || !string_at_most(*cb, 256)) return false;
    } else {
      return false;
    }
  }
  return has_workflow;
}

struct checks {
  bool continue_on = schema_is("continue_workflow", continue_schema);
  bool start_on = schema_is("start_workflow", start_schema);
};

const checks& enabled() {
  static const checks c;
  return c;
}

}  // namespace

std::optional<bool> fast_request_check(std::string_view operation, const boost::json::value& request) {
  const checks& c = enabled();
  if (operation == "continue_workflow" && c.continue_on) return check_continue(request);
  if (operation == "start_workflow" && c.start_on) return check_start(request);
  return std::nullopt;
}

bool fast_request_check_enabled(std::string_view operation) {
  if (operation == "continue_workflow") return enabled().continue_on;
  if (operation == "start_workflow") return enabled().start_on;
  return false;
}

}  // namespace tokenrail::engine_detail
