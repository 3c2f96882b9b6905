#include "workflow/validation.hpp"

#include "workflow/program.hpp"
#include "workflow/safe_regex.hpp"

#include <tokenrail/json/schema.hpp>

#include <fmt/format.h>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr errc invalid = errc::WORKFLOW_INVALID;

void optional_message(const json::object& o, const std::string& p) {
  if (auto it = o.find("message"); it != o.end() && !it->value().is_string())
    throw_at(invalid, pointer_join(p, "message"), "a string");
}

std::int64_t non_negative(const json::value& v, const std::string& p) {
  if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
  if (v.is_uint64()) return INT64_MAX;
  throw_at(invalid, p, "a non-negative integer");
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::string_view last_segment(std::string_view s) {
  const auto dot = s.rfind('.');
  return dot == std::string_view::npos ? s : s.substr(dot + 1);
}

struct failed {
  std::string pointer, message, fix;
};

std::string message_or(const json::object& rule, std::string fallback) {
  if (auto it = rule.find("message"); it != rule.end() && it->value().is_string())
    return std::string(it->value().get_string());
  return fallback;
}

std::string short_text(std::string_view s) {
  if (s.size() <= 80) return std::string(s);
  return std::string(s.substr(0, 77)) + "...";
}

class evaluator {
 public:
  evaluator(const json::object& output, const scope& s, std::vector<warning>& w)
      : output_(output), scope_(s), w_(w) {
    if (auto it = output.find("notesMarkdown"); it != output.end() && it->value().is_string())
      notes_ = it->value().get_string();
  }

  std::optional<failed> eval(const json::value& v, const std::string& p, int depth) {
    if (depth > max_condition_depth || !v.is_object()) return failed{"/output", "validation rule is malformed", ""};
    const json::object& rule = v.get_object();
    if (auto c = rule.find("condition"); c != rule.end())
      if (!eval_condition(c->value(), scope_, w_, pointer_join(p, "condition"))) return std::nullopt;
    if (auto it = rule.find("and"); it != rule.end() && it->value().is_array()) {
      std::size_t i = 0;
      for (const auto& child : it->value().get_array())
        if (auto f = eval(child, pointer_join(pointer_join(p, "and"), i++), depth + 1)) {
          f->message = message_or(rule, f->message);
          return f;
        }
      return std::nullopt;
    }
    if (auto it = rule.find("or"); it != rule.end() && it->value().is_array()) {
      std::optional<failed> first;
      std::string all;
      std::size_t i = 0;
      for (const auto& child : it->value().get_array()) {
        auto f = eval(child, pointer_join(pointer_join(p, "or"), i++), depth + 1);
        if (!f) return std::nullopt;
        all += (all.empty() ? "" : "; or ") + f->message;
        if (!first) first = std::move(f);
      }
      if (!first) return std::nullopt;   // an empty or: nothing to satisfy
      first->message = message_or(rule, "none of the alternatives holds: " + all);
      first->fix = "Satisfy at least one of the alternatives.";
      return first;
    }
    if (auto it = rule.find("not"); it != rule.end()) {
      if (eval(it->value(), pointer_join(p, "not"), depth + 1)) return std::nullopt;
      return failed{"/output/notesMarkdown", message_or(rule, "the output satisfies a rule it must not satisfy"),
                    "Revise the output so the excluded pattern no longer applies."};
    }
    const auto type_it = rule.find("type");
    if (type_it == rule.end() || !type_it->value().is_string()) return failed{"/output", "validation rule is malformed", ""};
    const std::string_view type = type_it->value().get_string();
    if (type == "contains") {
      const auto& value = rule.at("value");
      const std::string needle = value.is_string() ? std::string(value.get_string()) : "";
      if (notes_.find(needle) != std::string_view::npos) return std::nullopt;
      return failed{"/output/notesMarkdown", message_or(rule, fmt::format("notesMarkdown must contain \"{}\"", short_text(needle))),
                    fmt::format("Include \"{}\" in notesMarkdown.", short_text(needle))};
    }
    if (type == "regex") {
      const auto& pattern = rule.at("pattern");
      bool icase = false;
      if (auto f = rule.find("flags"); f != rule.end() && f->value().is_string())
        icase = f->value().get_string().find('i') != json::string::npos;
      const std::string_view pat = pattern.is_string() ? std::string_view(pattern.get_string()) : std::string_view();
      auto found = regex_search(notes_, pat, icase);
      if (found && *found) return std::nullopt;
      if (!found) w_.push_back({pointer_join(p, "pattern"), "regex rule could not be evaluated (match too complex); counted as failed"});
      return failed{"/output/notesMarkdown",
                    message_or(rule, fmt::format("notesMarkdown must match /{}/", short_text(pat))),
                    found ? fmt::format("Write notesMarkdown so that it matches /{}/.", short_text(pat))
                          : std::string("The text could not be checked against the pattern; shorten or simplify it.")};
    }
    if (type == "length") {
      const std::size_t n = code_points(notes_);
      std::optional<std::int64_t> min, max;
      if (auto it = rule.find("min"); it != rule.end() && it->value().is_int64()) min = it->value().get_int64();
      if (auto it = rule.find("max"); it != rule.end() && it->value().is_int64()) max = it->value().get_int64();
      if (min && static_cast<std::int64_t>(n) < *min)
        return failed{"/output/notesMarkdown", message_or(rule, fmt::format("notesMarkdown must be at least {} characters (it has {})", *min, n)),
                      fmt::format("Expand notesMarkdown to at least {} characters.", *min)};
      if (max && static_cast<std::int64_t>(n) > *max)
        return failed{"/output/notesMarkdown", message_or(rule, fmt::format("notesMarkdown must be at most {} characters (it has {})", *max, n)),
                      fmt::format("Shorten notesMarkdown to at most {} characters.", *max)};
      return std::nullopt;
    }
    if (type == "schema") {
      const json::value* subject = nullptr;
      json::value whole = output_;
      std::string base = "/output";
      if (auto k = rule.find("artifactKind"); k != rule.end() && k->value().is_string()) {
        const std::string_view kind = k->value().get_string();
        if (auto a = output_.find("artifacts"); a != output_.end() && a->value().is_array()) {
          std::size_t i = 0;
          for (const auto& art : a->value().get_array()) {
            if (art.is_object())
              if (auto ak = art.get_object().find("kind"); ak != art.get_object().end() && ak->value().is_string() &&
                                                           kind_matches(ak->value().get_string(), kind)) {
                subject = &art;
                base = pointer_join("/output/artifacts", i);
                break;
              }
            ++i;
          }
        }
        if (!subject)
          return failed{"/output/artifacts", message_or(rule, fmt::format("an artifact of kind \"{}\" is required", kind)),
                        fmt::format("Add an artifact {{\"kind\": \"{}\", ...}} to output.artifacts.", kind)};
      } else {
        subject = &whole;
      }
      auto violation = tokenrail::json::validate(rule.at("schema"), *subject);
      if (!violation) return std::nullopt;
      const std::string where = base + violation->pointer;
      return failed{where, message_or(rule, fmt::format("{}: expected {}", where, violation->expected)),
                    fmt::format("Make {} {}.", where, violation->expected)};
    }
    return failed{"/output", "validation rule is malformed", ""};
  }

 private:
  const json::object& output_;
  const scope& scope_;
  std::vector<warning>& w_;
  std::string_view notes_;
};

}  // namespace

bool kind_matches(std::string_view kind, std::string_view ref) noexcept {
  return kind == ref || (!kind.empty() && last_segment(kind) == last_segment(ref));
}

void check_rules(const json::value& rules, const std::string& p, std::vector<warning>& w, int depth) {
  static constexpr std::string_view shape =
      "a validation rule {type: contains|regex|length|schema, ...}, {and|or: [rules]}, {not: rule}, or an array of them";
  if (depth > max_condition_depth) throw_at(invalid, p, "validation rules nested at most 32 deep");
  if (rules.is_array()) {
    if (depth > 0) throw_at(invalid, p, "a rule (arrays only at the top of validationCriteria; use {and: [...]})");
    std::size_t i = 0;
    for (const auto& r : rules.get_array()) check_rules(r, pointer_join(p, i++), w, depth + 1);
    return;
  }
  if (!rules.is_object()) throw_at(invalid, p, shape);
  const json::object& o = rules.get_object();
  optional_message(o, p);
  if (auto c = o.find("condition"); c != o.end()) check_condition(c->value(), pointer_join(p, "condition"), w);
  const int heads = int(o.contains("and")) + int(o.contains("or")) + int(o.contains("not")) + int(o.contains("type"));
  if (heads != 1) throw_at(invalid, p, shape);
  std::string_view type;
  for (const auto& m : o) {
    const std::string_view key = m.key();
    const std::string mp = pointer_join(p, key);
    const json::value& v = m.value();
    if (key == "message" || key == "condition") continue;
    if (key == "and" || key == "or") {
      if (!v.is_array()) throw_at(invalid, mp, "an array of rules");
      std::size_t i = 0;
      for (const auto& r : v.get_array()) check_rules(r, pointer_join(mp, i++), w, depth + 1);
    } else if (key == "not") {
      if (v.is_array()) throw_at(invalid, mp, "a rule");
      check_rules(v, mp, w, depth + 1);
    } else if (key == "type") {
      if (!v.is_string()) throw_at(invalid, mp, "\"contains\", \"regex\", \"length\" or \"schema\"");
      type = v.get_string();
      if (type == "contains") {
        if (!o.contains("value")) throw_at(invalid, pointer_join(p, "value"), "the string the notes must contain");
      } else if (type == "regex") {
        if (!o.contains("pattern")) throw_at(invalid, pointer_join(p, "pattern"), "a regular expression string");
      } else if (type == "length") {
        if (!o.contains("min") && !o.contains("max")) throw_at(invalid, pointer_join(p, "min"), "min and/or max (non-negative integers)");
      } else if (type == "schema") {
        if (!o.contains("schema")) throw_at(invalid, pointer_join(p, "schema"), "a JSON Schema (object or boolean)");
      } else {
        throw_at(invalid, mp, "\"contains\", \"regex\", \"length\" or \"schema\"");
      }
    } else if (key == "value" && o.contains("type")) {
      if (!v.is_string() || v.get_string().empty()) throw_at(invalid, mp, "a non-empty string");
    } else if (key == "pattern" && o.contains("type")) {
      if (!v.is_string()) throw_at(invalid, mp, "a regular expression string");
      if (auto problem = regex_problem(v.get_string())) throw_at(invalid, mp, *problem);
    } else if (key == "flags" && o.contains("type")) {
      if (!v.is_string() || v.get_string().find_first_not_of("gimsuy") != json::string::npos)
        throw_at(invalid, mp, "regex flags (a string of g i m s u y; only i changes matching)");
    } else if ((key == "min" || key == "max") && o.contains("type")) {
      non_negative(v, mp);
    } else if (key == "schema" && o.contains("type")) {
      if (!v.is_object() && !v.is_bool()) throw_at(invalid, mp, "a JSON Schema (object or boolean)");
      if (auto problem = tokenrail::json::check_schema(v)) throw_at(invalid, mp, "a valid JSON Schema (" + *problem + ")");
    } else if (key == "artifactKind" && o.contains("type")) {
      if (!v.is_string()) throw_at(invalid, mp, "an artifact kind string");
    } else {
      w.push_back({mp, "unknown field \"" + std::string(key) + "\" in a validation rule (kept, ignored)"});
    }
  }
  if (type == "length")
    if (auto mn = o.find("min"), mx = o.find("max"); mn != o.end() && mx != o.end() &&
                                                      non_negative(mn->value(), p) > non_negative(mx->value(), p))
      throw_at(invalid, pointer_join(p, "max"), "max at least min");
}

void apply_rules(const json::value& rules, const json::object& output, const scope& s, std::vector<blocker>& out,
                 std::vector<warning>& warnings, const std::string& pointer) {
  evaluator e(output, s, warnings);
  auto one = [&](const json::value& rule, const std::string& p) {
    if (auto f = e.eval(rule, p, 0)) out.push_back({"VALIDATION_FAILED", f->pointer, f->message, f->fix});
  };
  if (rules.is_array()) {
    std::size_t i = 0;
    for (const auto& r : rules.get_array()) one(r, pointer_join(pointer, i++));
  } else {
    one(rules, pointer);
  }
}

}  // namespace tokenrail::workflow
