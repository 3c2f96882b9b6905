#include "workflow/conditions.hpp"

#include "workflow/program.hpp"
#include "workflow/safe_regex.hpp"

#include <tokenrail/json/canonical.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace tokenrail::workflow {
namespace json = boost::json;

std::string pointer_join(std::string_view base, std::string_view token) {
  std::string out(base);
  out += '/';
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string pointer_join(std::string_view base, std::size_t index) {
  std::string out(base);
  out += '/';
  out += std::to_string(index);
  return out;
}

void throw_at(errc code, std::string_view pointer, std::string_view expected) {
  throw failure(error::at(code, pointer, expected));
}

namespace {

constexpr std::array<std::string_view, 11> operators = {
    "equals", "not_equals", "gt", "gte", "lt", "lte", "contains", "startsWith", "endsWith", "matches", "in"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '-';
}

std::optional<bool> as_bool(const json::value& v) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string()) {
    const std::string s = lower(trim(v.get_string()));
    if (s == "true" || s == "yes" || s == "1") return true;
    if (s == "false" || s == "no" || s == "0") return false;
    return std::nullopt;
  }
  if (auto n = as_number(v)) {
    if (*n == 1) return true;
    if (*n == 0) return false;
  }
  return std::nullopt;
}

void warn(std::vector<warning>& w, const std::string& pointer, std::string message) {
  w.push_back({pointer, std::move(message)});
}

}  // namespace

const json::value* scope::lookup(std::string_view path) const {
  if (path.empty()) return nullptr;
  const std::size_t dot = path.find('.');
  const std::string_view head = path.substr(0, dot);
  const json::value* cur = nullptr;
  for (auto it = vars.rbegin(); it != vars.rend(); ++it)
    if (it->name == head) {
      cur = &it->value();
      break;
    }
  if (!cur && context) {
    auto found = context->find(head);
    if (found != context->end()) cur = &found->value();
  }
  if (dot == std::string_view::npos || !cur) return cur;
  std::string_view rest = path.substr(dot + 1);
  while (cur) {
    const std::size_t next = rest.find('.');
    const std::string_view seg = rest.substr(0, next);
    if (cur->is_object()) {
      auto found = cur->get_object().find(seg);
      cur = found == cur->get_object().end() ? nullptr : &found->value();
    } else if (cur->is_array()) {
      std::size_t index = 0;
      auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
      if (ec != std::errc() || p != seg.data() + seg.size() || index >= cur->get_array().size()) return nullptr;
      cur = &cur->get_array()[index];
    } else {
      return nullptr;
    }
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  return cur;
}

bool is_var_path(std::string_view s) noexcept {
  if (s.empty() || s.size() > 512) return false;
  bool seg_start = true;
  for (char c : s) {
    if (c == '.') {
      if (seg_start) return false;
      seg_start = true;
      continue;
    }
    if (!is_ident_char(c)) return false;
    if (seg_start && c == '-') return false;
    seg_start = false;
  }
  return !seg_start;
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  if (v.is_string()) {
    const std::string_view s = trim(v.get_string());
    if (s.empty() || s.size() > 64) return std::nullopt;
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

std::optional<std::string> scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_number()) return tokenrail::json::serialize(v);
  return std::nullopt;
}

bool truthy(const json::value* v) {
  if (!v || v->is_null()) return false;
  if (v->is_bool()) return v->get_bool();
  if (v->is_number()) return as_number(*v).value_or(0) != 0;
  if (v->is_string()) {
    const std::string s = lower(trim(v->get_string()));
    return !(s.empty() || s == "false" || s == "no" || s == "0");
  }
  if (v->is_array()) return !v->get_array().empty();
  return !v->get_object().empty();
}

bool lenient_equals(const json::value* a, const json::value& b) {
  static const json::value null_value;
  const json::value& x = a ? *a : null_value;
  if (x.is_null() || b.is_null()) return x.is_null() && b.is_null();
  const auto nx = as_number(x), ny = as_number(b);
  if (nx && ny) return *nx == *ny;
  if (x.is_bool() || b.is_bool()) {
    const auto bx = as_bool(x), by = as_bool(b);
    return bx && by && *bx == *by;
  }
  if (x.is_string() && b.is_string()) return lower(trim(x.get_string())) == lower(trim(b.get_string()));
  if (x.is_structured() || b.is_structured()) return x == b;
  return false;
}

void check_condition(const json::value& c, const std::string& pointer, std::vector<warning>& warnings,
                     int depth) {
  static constexpr std::string_view shape =
      "a condition: {var, <operator>?: value}, {and: [...]}, {or: [...]} or {not: condition}";
  if (depth > max_condition_depth)
    throw_at(errc::WORKFLOW_INVALID, pointer, "conditions nested at most 32 deep");
  if (!c.is_object()) throw_at(errc::WORKFLOW_INVALID, pointer, shape);
  const json::object& o = c.get_object();
  // WorkRail's evaluator treats {} as "no condition": it holds. Its files
  // write `runCondition: {}`, so it loads. Nested inside and/or/not it is
  // more likely a slip, so it is reported; at the top, the caller decides
  // (a loop says what an always-true condition means for it).
  if (o.empty()) {
    if (depth > 0) warnings.push_back({pointer, "empty condition {} always holds (counted as true)"});
    return;
  }
  const int heads = int(o.contains("var")) + int(o.contains("and")) + int(o.contains("or")) + int(o.contains("not"));
  if (heads != 1) throw_at(errc::WORKFLOW_INVALID, pointer, shape);
  int ops = 0;
  for (const auto& member : o) {
    const std::string_view key = member.key();
    const json::value& v = member.value();
    const std::string p = pointer_join(pointer, key);
    if (key == "var") {
      if (!v.is_string() || !is_var_path(v.get_string()))
        throw_at(errc::WORKFLOW_INVALID, p, "a variable name or dotted path (e.g. \"review.status\")");
    } else if (key == "and" || key == "or") {
      if (!v.is_array()) throw_at(errc::WORKFLOW_INVALID, p, "an array of conditions");
      std::size_t i = 0;
      for (const auto& item : v.get_array()) check_condition(item, pointer_join(p, i++), warnings, depth + 1);
    } else if (key == "not") {
      check_condition(v, p, warnings, depth + 1);
    } else if (std::find(operators.begin(), operators.end(), key) != operators.end()) {
      if (!o.contains("var")) throw_at(errc::WORKFLOW_INVALID, p, "an operator only next to \"var\"");
      if (++ops > 1) throw_at(errc::WORKFLOW_INVALID, p, "at most one operator per condition");
      if (key == "in" && !v.is_array()) throw_at(errc::WORKFLOW_INVALID, p, "an array of values");
      if (key == "matches") {
        if (!v.is_string()) throw_at(errc::WORKFLOW_INVALID, p, "a regular expression string");
        if (auto problem = regex_problem(v.get_string())) throw_at(errc::WORKFLOW_INVALID, p, *problem);
      }
      if ((key == "gt" || key == "gte" || key == "lt" || key == "lte") && !v.is_number() && !v.is_string())
        throw_at(errc::WORKFLOW_INVALID, p, "a number (or a string to compare with)");
      if ((key == "startsWith" || key == "endsWith") && !scalar_text(v))
        throw_at(errc::WORKFLOW_INVALID, p, "a string");
    } else {
      warnings.push_back({p, "unknown condition field \"" + std::string(key) + "\" (ignored)"});
    }
  }
}

namespace {

// Ordering: numbers (and numeric strings) as numbers, two strings by their
// trimmed lower-case text (ISO dates compare correctly); otherwise unevaluable.
std::optional<int> compare(const json::value& a, const json::value& b) {
  const auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na < *nb ? -1 : (*na > *nb ? 1 : 0);
  if (a.is_string() && b.is_string()) {
    const std::string x = lower(trim(a.get_string())), y = lower(trim(b.get_string()));
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  return std::nullopt;
}

}  // namespace

namespace {

// A JSON pointer built only when a warning needs it.
struct lazy_pointer {
  static constexpr std::size_t no_index = static_cast<std::size_t>(-1);
  std::string_view base, suffix;
  const lazy_pointer* parent = nullptr;
  std::string_view key;
  std::size_t index = no_index;
  lazy_pointer(std::string_view b, std::string_view s) : base(b), suffix(s) {}
  lazy_pointer(const lazy_pointer* p, std::string_view k) : parent(p), key(k) {}
  lazy_pointer(const lazy_pointer* p, std::size_t i) : parent(p), index(i) {}
  std::string str() const {
    if (!parent) return std::string(base) + std::string(suffix);
    std::string p = parent->str();
    return index == no_index ? pointer_join(p, key) : pointer_join(p, index);
  }
};

// Three-valued (Kleene) logic: nullopt is "could not be evaluated". Only
// the whole condition counts it as false (D2). Inside, it stays unknown, so
// {not: <unevaluable>} is unknown too, not true: a condition that cannot be
// evaluated never starts a step or keeps a loop going through a `not`.
// `and` is false as soon as one part is false, `or` true as soon as one is
// true, whatever the others are.
using tri = std::optional<bool>;

tri eval(const json::value& c, const scope& s, std::vector<warning>& warnings, const lazy_pointer& pointer,
         int depth) {
  if (depth > max_condition_depth || !c.is_object()) {
    warn(warnings, pointer.str(), "condition could not be evaluated (malformed); counted as false");
    return std::nullopt;
  }
  const json::object& o = c.get_object();
  if (o.empty()) return true;   // {}: no condition (as in WorkRail)
  if (auto it = o.find("and"); it != o.end()) {
    if (!it->value().is_array()) return false;
    const lazy_pointer list{&pointer, "and"};
    std::size_t i = 0;
    tri all = true;
    for (const auto& item : it->value().get_array()) {
      const tri v = eval(item, s, warnings, lazy_pointer{&list, i++}, depth + 1);
      if (v == false) return false;
      if (!v) all = std::nullopt;
    }
    return all;
  }
  if (auto it = o.find("or"); it != o.end()) {
    if (!it->value().is_array()) return false;
    const lazy_pointer list{&pointer, "or"};
    std::size_t i = 0;
    tri any = false;
    for (const auto& item : it->value().get_array()) {
      const tri v = eval(item, s, warnings, lazy_pointer{&list, i++}, depth + 1);
      if (v == true) return true;
      if (!v) any = std::nullopt;
    }
    return any;
  }
  if (auto it = o.find("not"); it != o.end()) {
    const tri v = eval(it->value(), s, warnings, lazy_pointer{&pointer, "not"}, depth + 1);
    return v ? tri(!*v) : std::nullopt;
  }

  auto var_it = o.find("var");
  if (var_it == o.end() || !var_it->value().is_string()) {
    warn(warnings, pointer.str(), "condition could not be evaluated (no var); counted as false");
    return std::nullopt;
  }
  const std::string_view var = var_it->value().get_string();
  const json::value* actual = s.lookup(var);
  for (const auto& member : o) {
    const std::string_view op = member.key();
    if (std::find(operators.begin(), operators.end(), op) == operators.end()) continue;
    const json::value& expected = member.value();
    auto unevaluable = [&](std::string why) {
      warn(warnings, pointer_join(pointer.str(), op), "condition on \"" + std::string(var) + "\" could not be evaluated (" + why + "); counted as false");
      return tri();
    };
    if (op == "equals") return lenient_equals(actual, expected);
    if (op == "not_equals") return !lenient_equals(actual, expected);
    if (!actual || actual->is_null()) {
      if (op == "gt" || op == "gte" || op == "lt" || op == "lte") return unevaluable("the variable is not set");
      return false;
    }
    if (op == "gt" || op == "gte" || op == "lt" || op == "lte") {
      auto cmp = compare(*actual, expected);
      if (!cmp) return unevaluable("values are not comparable");
      if (op == "gt") return *cmp > 0;
      if (op == "gte") return *cmp >= 0;
      if (op == "lt") return *cmp < 0;
      return *cmp <= 0;
    }
    if (op == "in") {
      if (!expected.is_array()) return unevaluable("\"in\" needs an array");
      for (const auto& candidate : expected.get_array())
        if (lenient_equals(actual, candidate)) return true;
      return false;
    }
    if (op == "contains" && actual->is_array()) {
      for (const auto& element : actual->get_array())
        if (lenient_equals(&element, expected)) return true;
      return false;
    }
    const auto text = scalar_text(*actual);
    if (!text) return unevaluable("the variable is not a string");
    if (op == "matches") {
      // As WorkRail: new RegExp(pattern, "i").test(String(value).trim()).
      if (!expected.is_string()) return unevaluable("the pattern is not a string");
      auto found = regex_search(trim(*text), expected.get_string(), true);
      if (!found) return unevaluable("the regular expression could not be matched");
      return *found;
    }
    const auto needle_text = scalar_text(expected);
    if (!needle_text) return unevaluable("the operand is not a string");
    const std::string hay = lower(trim(*text));
    const std::string needle = lower(trim(*needle_text));   // both sides trimmed, as WorkRail does
    if (op == "contains") return hay.find(needle) != std::string::npos;
    if (op == "startsWith") return hay.starts_with(needle);
    return hay.ends_with(needle);  // endsWith
  }
  return truthy(actual);
}

}  // namespace

bool eval_condition(const json::value& c, const scope& s, std::vector<warning>& warnings, std::string_view base,
                    std::string_view suffix) {
  return eval(c, s, warnings, lazy_pointer{base, suffix}, 0).value_or(false);
}

}  // namespace tokenrail::workflow
