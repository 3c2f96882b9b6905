// The `loop` object of a loop step (type, maxIterations, condition or
// conditionSource, items/count, variable names) -> loop_spec. Apart from
// the step parser: its rules are about loops alone, not about steps.
#include "workflow/definition_loop_spec.hpp"

#include "workflow/conditions.hpp"
#include "workflow/definition_field_checks.hpp"

#include <cmath>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr std::uint32_t max_iterations_cap = 1'000'000;
constexpr errc invalid = errc::WORKFLOW_INVALID;

bool valid_identifier(std::string_view s) { return is_var_path(s) && s.find('.') == std::string_view::npos; }

/// An integer count as an author may write it: 3, or 3.0 (JSON Schema's
/// "integer" allows a zero fraction, and tools that write JSON from floats
/// produce it). Values past the cap come back as cap + 1; anything else,
/// nullopt.
std::optional<std::int64_t> whole_number(const json::value& v) {
  constexpr auto over = static_cast<std::int64_t>(max_iterations_cap) + 1;
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return over;
  if (v.is_double() && std::isfinite(v.get_double()) && std::trunc(v.get_double()) == v.get_double())
    return std::abs(v.get_double()) > over ? (v.get_double() < 0 ? -over : over) : static_cast<std::int64_t>(v.get_double());
  return std::nullopt;
}

// conditionSource is {kind: "artifact_contract", contractRef, loopId?}
// (the body's loop_control artifact decides), or WorkRail's legacy
// {kind: "context_variable", condition}: loop.condition under another
// name. Returns that condition, or nullptr for an artifact contract.
const json::value* parse_condition_source(loop_spec& l, const json::value& v, const std::string& p,
                                         std::vector<warning>& w) {
  static constexpr std::string_view kinds = "\"artifact_contract\" or \"context_variable\"";
  const json::object& cs = need_object(
      v, p, "an object {kind: \"artifact_contract\", contractRef, loopId?} or {kind: \"context_variable\", condition}");
  need_present(cs, "kind", p, kinds);
  const json::value& kind = cs.at("kind");
  const bool by_context = kind.is_string() && kind.get_string() == "context_variable";
  if (!by_context && !(kind.is_string() && kind.get_string() == "artifact_contract"))
    throw_at(invalid, pointer_join(p, "kind"), kinds);
  if (by_context) need_present(cs, "condition", p, "a condition {var, ...} (the loop's condition)");
  const json::value* condition = nullptr;
  for (const auto& c : cs) {
    const std::string cp = pointer_join(p, c.key());
    if (c.key() == "kind") {
    } else if (by_context && c.key() == "condition") {
      check_condition(c.value(), cp, w);
      condition = &c.value();
    } else if (!by_context && c.key() == "contractRef") {
      l.contract_ref = need_string(c.value(), cp);
    } else if (!by_context && c.key() == "loopId") {
      l.loop_id = need_string(c.value(), cp);
    } else unknown(w, p, c.key(), "conditionSource");
  }
  l.artifact_driven = !by_context;
  return condition;
}

}  // namespace

// WorkRail evaluates an empty condition as true; a loop on one is legal
// but almost never what the author meant, so say what it does.
void warn_if_always_true(const step& s, std::vector<warning>& w) {
  const loop_spec& l = s.loop;
  if (l.artifact_driven || !l.condition.is_object() || !l.condition.get_object().empty()) return;
  if (l.kind == loop_kind::while_loop)
    w.push_back({s.pointer + std::string(l.condition_at),
                 "empty condition {} always holds: this while loop runs until its maxIterations (" +
                     std::to_string(l.max_iterations) + ")"});
  else if (l.kind == loop_kind::until_loop)
    w.push_back({s.pointer + std::string(l.condition_at),
                 "empty condition {} always holds: this until loop runs its body once"});
}

void parse_loop_spec(loop_spec& l, const json::value& v, const std::string& p, std::vector<warning>& w) {
  const json::object& o = need_object(v, p, "a loop object {type, maxIterations, ...}");
  need_present(o, "type", p, "\"while\", \"until\", \"for\" or \"forEach\"");
  need_present(o, "maxIterations", p, "a positive integer (at most 1000000)");
  const json::value* source_condition = nullptr;   // from a context_variable conditionSource
  for (const auto& m : o) {
    const std::string_view key = m.key();
    const std::string mp = pointer_join(p, key);
    const json::value& val = m.value();
    if (key == "type") {
      const std::string t = need_string(val, mp, "\"while\", \"until\", \"for\" or \"forEach\"");
      if (t == "while") l.kind = loop_kind::while_loop;
      else if (t == "until") l.kind = loop_kind::until_loop;
      else if (t == "for") l.kind = loop_kind::for_loop;
      else if (t == "forEach") l.kind = loop_kind::for_each_loop;
      else throw_at(invalid, mp, "\"while\", \"until\", \"for\" or \"forEach\"");
    } else if (key == "maxIterations") {
      const std::int64_t n = whole_number(val).value_or(0);
      if (n < 1 || n > max_iterations_cap) throw_at(invalid, mp, "a positive integer (at most 1000000)");
      l.max_iterations = static_cast<std::uint32_t>(n);
    } else if (key == "condition") {
      check_condition(val, mp, w);
      l.condition = val;
    } else if (key == "conditionSource") {
      source_condition = parse_condition_source(l, val, mp, w);
    } else if (key == "items") {
      const std::string items = need_string(val, mp, "the name (or dotted path) of a context variable holding an array");
      if (!is_var_path(items)) throw_at(invalid, mp, "the name (or dotted path) of a context variable holding an array");
      l.items = items;
    } else if (key == "count") {
      if (auto n = whole_number(val); n && *n >= 0) l.count_number = *n;
      else if (val.is_string() && is_var_path(val.get_string())) l.count_var = std::string(val.get_string());
      else throw_at(invalid, mp, "a non-negative integer or the name of a context variable");
    } else if (key == "itemVar" || key == "indexVar" || key == "iterationVar") {
      const std::string name = need_string(val, mp, "a variable name");
      if (!valid_identifier(name)) throw_at(invalid, mp, "a variable name (letters, digits, _)");
      (key == "itemVar" ? l.item_var : key == "indexVar" ? l.index_var : l.iteration_var) = name;
    } else {
      unknown(w, p, key, "loop");
    }
  }
  const bool cond = o.contains("condition"), source = o.contains("conditionSource");
  switch (l.kind) {
    case loop_kind::while_loop:
    case loop_kind::until_loop:
      if (cond && l.artifact_driven)
        throw_at(invalid, pointer_join(p, "conditionSource"), "either condition or conditionSource, not both");
      if (!cond && !source) throw_at(invalid, pointer_join(p, "condition"), "a condition (or a conditionSource) for a while/until loop");
      if (source_condition) {
        // Both spellings of one condition are fine; two different ones
        // leave the loop's meaning open.
        const std::string sp = pointer_join(pointer_join(p, "conditionSource"), "condition");
        if (cond && o.at("condition") != *source_condition)
          throw_at(invalid, sp, "the same condition as " + pointer_join(p, "condition") + " (they differ; give only one)");
        if (!cond) {
          l.condition = *source_condition;
          l.condition_at = "/loop/conditionSource/condition";
        }
      }
      break;
    case loop_kind::for_loop:
      need_present(o, "count", p, "a non-negative integer or the name of a context variable");
      [[fallthrough]];
    case loop_kind::for_each_loop:
      if (l.kind == loop_kind::for_each_loop)
        need_present(o, "items", p, "the name of a context variable holding an array");
      if (source) throw_at(invalid, pointer_join(p, "conditionSource"), "no conditionSource on a for/forEach loop (use while)");
      if (cond) w.push_back({pointer_join(p, "condition"), "condition is ignored on a for/forEach loop"});
      break;
  }
}

}  // namespace tokenrail::workflow
