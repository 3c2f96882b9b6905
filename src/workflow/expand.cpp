#include "workflow/expand.hpp"

#include "workflow/program.hpp"

#include <tokenrail/json/canonical.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr int max_walk_depth = 128;

bool has_template_call(const json::value& steps, int depth) {
  if (depth > max_walk_depth || !steps.is_array()) return false;
  for (const auto& s : steps.get_array()) {
    if (!s.is_object()) continue;
    const auto& o = s.get_object();
    if (o.contains("templateCall")) return true;
    if (auto b = o.find("body"); b != o.end() && has_template_call(b->value(), depth + 1)) return true;
  }
  return false;
}

void collect_ids(const json::value& steps, std::set<std::string, std::less<>>& ids, int depth) {
  if (depth > max_walk_depth || !steps.is_array()) return;
  for (const auto& s : steps.get_array()) {
    if (!s.is_object()) continue;
    const auto& o = s.get_object();
    if (auto id = o.find("id"); id != o.end() && id->value().is_string()) ids.emplace(id->value().get_string());
    if (auto b = o.find("body"); b != o.end()) collect_ids(b->value(), ids, depth + 1);
  }
}

// Whole-value placeholders filled during one routine's expansion: `at` is
// relative to the routine's steps array ("/0/loop/maxIterations"),
// `source` the pointer of the arg in the caller's file.
struct placed_arg {
  std::string at, source;
};

// Fields of a step that hold text for the agent (D2), whole or as lists
// (guidance, promptBlocks' parts): strings there are always text.
bool is_prose_key(std::string_view key) {
  constexpr std::string_view prose[] = {"title",   "prompt",      "text",        "agentRole", "message",
                                        "guidance", "goal",       "constraints", "procedure", "outputRequired",
                                        "verify",   "description", "name"};
  return std::find(std::begin(prose), std::end(prose), key) != std::end(prose);
}

class substituter {
 public:
  substituter(const json::object& args, std::string args_pointer, std::string routine_id)
      : args_(args), args_pointer_(std::move(args_pointer)), routine_id_(std::move(routine_id)) {}

  std::string fill(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c != '{') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '{') {   // {{var}}: run time, copy verbatim
        const std::size_t close = text.find("}}", i + 2);
        const std::size_t end = close == std::string_view::npos ? text.size() : close + 2;
        out.append(text.substr(i, end - i));
        i = end;
        continue;
      }
      std::size_t j = i + 1;
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      if (j == i + 1 || j >= text.size() || text[j] != '}' || std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
        out += c;   // not {identifier}: JSON examples, code, ... stay as written
        ++i;
        continue;
      }
      const json::value& arg = value_of(text.substr(i + 1, j - i - 1));
      if (arg.is_string()) out.append(arg.get_string());
      else out += tokenrail::json::serialize(arg);
      i = j + 1;
    }
    return out;
  }

  // A string that is exactly "{name}" becomes the arg's value as it is (the
  // number 3, a bool, an array, a condition object): that is how a routine
  // takes maxIterations, count, requireConfirmation or a condition from its
  // caller. In prose (`prose`: under a key is_prose_key names) and inside
  // longer strings, placeholders are filled in as text, so "title": "{n}"
  // with n = 5 stays the text "5".
  // `at`: v's pointer relative to what walk() was first called on.
  json::value walk(const json::value& v, int depth, const std::string& at = {}, bool prose = false) {
    if (depth > max_walk_depth) throw_at(errc::WORKFLOW_INVALID, args_pointer_, "a routine nested at most 128 levels deep");
    if (v.is_string()) {
      if (auto name = whole_placeholder(v.get_string()); name && !prose) {
        const json::value& arg = value_of(*name);
        placed_.push_back({at, pointer_join(args_pointer_, *name)});
        return arg;
      }
      return json::value(fill(v.get_string()));
    }
    if (v.is_array()) {
      json::array out;
      std::size_t i = 0;
      for (const auto& item : v.get_array()) out.push_back(walk(item, depth + 1, pointer_join(at, i++), prose));
      return out;
    }
    if (v.is_object()) {
      json::object out;
      for (const auto& m : v.get_object())
        out[m.key()] = walk(m.value(), depth + 1, pointer_join(at, m.key()), prose || is_prose_key(m.key()));
      return out;
    }
    return v;
  }

  std::vector<placed_arg>& placed() { return placed_; }

 private:
  const json::value& value_of(std::string_view name) const {
    auto it = args_.find(name);
    if (it == args_.end()) {
      error e = error::at(errc::TEMPLATE_ARG_MISSING, args_pointer_,
                          "a value for \"" + std::string(name) + "\" (routine " + routine_id_ + " uses {" +
                              std::string(name) + "})");
      e.details.as_object()["arg"] = name;
      e.details.as_object()["routine"] = routine_id_;
      throw failure(std::move(e));
    }
    return it->value();
  }

  const json::object& args_;
  std::string args_pointer_;
  std::string routine_id_;
  std::vector<placed_arg> placed_;
};

// Prefixes step ids, body references and conditionSource.loopId that name
// routine steps.
void prefix_ids(json::value& steps, const std::string& prefix, const std::set<std::string, std::less<>>& ids,
                int depth) {
  if (depth > max_walk_depth || !steps.is_array()) return;
  auto renamed = [&](json::value& v) {
    if (v.is_string() && ids.count(v.get_string())) v = json::value(prefix + std::string(v.get_string()));
  };
  for (auto& s : steps.get_array()) {
    if (!s.is_object()) continue;
    auto& o = s.get_object();
    if (auto id = o.find("id"); id != o.end()) renamed(id->value());
    if (auto loop = o.find("loop"); loop != o.end() && loop->value().is_object())
      if (auto cs = loop->value().get_object().find("conditionSource");
          cs != loop->value().get_object().end() && cs->value().is_object())
        if (auto lid = cs->value().get_object().find("loopId"); lid != cs->value().get_object().end())
          renamed(lid->value());
    if (auto b = o.find("body"); b != o.end()) {
      if (b->value().is_string()) renamed(b->value());
      else prefix_ids(b->value(), prefix, ids, depth + 1);
    }
  }
}

class expander {
 public:
  expander(const routine_resolver& r, std::vector<pointer_origin>* origins, std::vector<warning>* warnings)
      : routines_(r), origins_(origins), warnings_(warnings) {}

  // `p`: the array's pointer in the file; `q`: in the expanded definition.
  json::value steps(const json::value& in, const std::string& p, const std::string& q, int depth) {
    if (depth > max_walk_depth || !in.is_array()) return in;   // validation reports the shape
    json::array out;
    std::size_t i = 0;
    auto origin = [&](const std::string& source) {
      if (origins_) origins_->push_back({pointer_join(q, out.size()), source});
    };
    for (const auto& s : in.get_array()) {
      const std::string sp = pointer_join(p, i++);
      if (!s.is_object()) {
        origin(sp);
        out.push_back(s);
        continue;
      }
      const auto& o = s.get_object();
      if (o.contains("templateCall")) {
        std::vector<placed_arg> placed;
        json::array expanded = call(o, sp, placed);
        for (std::size_t k = 0; k < expanded.size(); ++k) {
          const std::string here = pointer_join(q, out.size());
          origin(pointer_join(sp, "templateCall"));
          // A field that took an arg's value whole: its errors name the arg.
          const std::string rel = pointer_join("", k);
          if (origins_)
            for (const auto& a : placed)
              if (pointer_at_or_under(a.at, rel)) origins_->push_back({here + a.at.substr(rel.size()), a.source});
          out.push_back(std::move(expanded[k]));
        }
        continue;
      }
      if (auto b = o.find("body"); b != o.end() && b->value().is_array()) {
        const std::string here = pointer_join(q, out.size());
        origin(sp);
        json::object copy = o;
        copy["body"] = steps(b->value(), pointer_join(sp, "body"), pointer_join(here, "body"), depth + 1);
        out.push_back(std::move(copy));
        continue;
      }
      origin(sp);
      out.push_back(s);
    }
    return out;
  }

 private:
  // `placed` receives the whole-value placeholders filled in, relative to
  // the returned array.
  json::array call(const json::object& caller, const std::string& p, std::vector<placed_arg>& placed) {
    const std::string tp = pointer_join(p, "templateCall");
    const json::value& tc = caller.at("templateCall");
    if (!tc.is_object()) throw_at(errc::WORKFLOW_INVALID, tp, "an object {templateId, args?}");
    const auto& tco = tc.get_object();
    const auto tid = tco.find("templateId");
    if (tid == tco.end() || !tid->value().is_string() || tid->value().get_string().empty())
      throw_at(errc::WORKFLOW_INVALID, pointer_join(tp, "templateId"), "a routine name (e.g. \"wr.templates.routine.code-review\")");
    static const json::object no_args;
    const json::object* args = &no_args;
    if (auto a = tco.find("args"); a != tco.end()) {
      if (!a->value().is_object()) throw_at(errc::WORKFLOW_INVALID, pointer_join(tp, "args"), "an object of arguments");
      args = &a->value().get_object();
    }
    const auto id = caller.find("id");
    if (id == caller.end() || !id->value().is_string() || id->value().get_string().empty())
      throw_at(errc::WORKFLOW_INVALID, pointer_join(p, "id"), "a step id (the prefix of the routine's step ids)");
    const std::string template_id(tid->value().get_string());
    const json::value* routine = nullptr;
    std::string routine_id;
    const auto candidates = routine_candidates(template_id);
    if (routines_)
      for (const auto& c : candidates)
        if ((routine = routines_(c))) {
          routine_id = c;
          break;
        }
    if (!routine) {
      std::string tried;
      for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c;
      throw_at(errc::WORKFLOW_DANGLING_REF, pointer_join(tp, "templateId"), "the name of a known routine (tried " + tried + ")");
    }
    const json::value* rsteps = nullptr;
    if (routine->is_object())
      if (auto rs = routine->get_object().find("steps"); rs != routine->get_object().end() && rs->value().is_array() &&
                                                           !rs->value().get_array().empty())
        rsteps = &rs->value();
    if (!rsteps)
      throw_at(errc::WORKFLOW_INVALID, pointer_join(tp, "templateId"), "a routine with a non-empty steps array (" + routine_id + ")");
    if (has_template_call(*rsteps, 0))
      throw_at(errc::WORKFLOW_INVALID, pointer_join(tp, "templateId"),
               "a routine without templateCall of its own (" + routine_id + " calls another routine)");

    report_dropped(caller, tco, p, tp);
    substituter sub(*args, pointer_join(tp, "args"), routine_id);
    json::value filled = sub.walk(*rsteps, 0);
    placed = std::move(sub.placed());
    std::set<std::string, std::less<>> ids;
    collect_ids(filled, ids, 0);
    prefix_ids(filled, std::string(id->value().get_string()) + std::string(routine_id_separator), ids, 0);

    json::array out = std::move(filled.get_array());
    if (auto rc = caller.find("runCondition"); rc != caller.end())
      for (std::size_t k = 0; k < out.size(); ++k) {
        if (!out[k].is_object()) continue;
        auto& so = out[k].get_object();
        if (auto own = so.find("runCondition"); own != so.end()) {
          own->value() = json::object{{"and", json::array{rc->value(), own->value()}}};
          // the step's own condition moved to .../runCondition/and/1
          const std::string moved = pointer_join(pointer_join("", k), "runCondition");
          for (auto& a : placed)
            if (pointer_at_or_under(a.at, moved)) a.at.insert(moved.size(), "/and/1");
        } else {
          so["runCondition"] = rc->value();
        }
      }
    return out;
  }

  // D2: unknown fields are reported, never dropped silently. The calling
  // step and its templateCall are gone from the pinned definition, so what
  // the validator would have reported there is reported here, at the
  // pointers of the file.
  void report_dropped(const json::object& caller, const json::object& call, const std::string& p,
                      const std::string& tp) {
    if (!warnings_) return;
    for (const auto& m : call)
      if (m.key() != "templateId" && m.key() != "args")
        warnings_->push_back({pointer_join(tp, m.key()),
                              "unknown field \"" + std::string(m.key()) + "\" in templateCall (ignored)"});
    for (const auto& m : caller)
      if (m.key() != "id" && m.key() != "title" && m.key() != "type" && m.key() != "templateCall" &&
          m.key() != "runCondition")
        warnings_->push_back({pointer_join(p, m.key()),
                              "field \"" + std::string(m.key()) +
                                  "\" of a templateCall step is ignored (the step is replaced by the routine's steps)"});
  }

  const routine_resolver& routines_;
  std::vector<pointer_origin>* origins_;
  std::vector<warning>* warnings_;
};

}  // namespace

std::optional<std::string_view> whole_placeholder(std::string_view text) {
  // The placeholder grammar of substituter::fill: {identifier}, not {{...}},
  // not starting with a digit.
  if (text.size() < 3 || text.front() != '{' || text.back() != '}') return std::nullopt;
  const std::string_view name = text.substr(1, text.size() - 2);
  if (std::isdigit(static_cast<unsigned char>(name.front()))) return std::nullopt;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
  return name;
}

std::vector<std::string> routine_candidates(std::string_view template_id) {
  constexpr std::string_view prefix = "wr.templates.routine.";
  if (template_id.starts_with(prefix)) {
    const std::string name(template_id.substr(prefix.size()));
    return {"wr.routine-" + name, "routine-" + name, name};
  }
  return {std::string(template_id)};
}

json::value expand_templates(const json::value& definition, const routine_resolver& routines,
                             std::vector<pointer_origin>* origins, std::vector<warning>* warnings) {
  if (!definition.is_object()) return definition;
  const auto& o = definition.get_object();
  auto s = o.find("steps");
  if (s == o.end() || !has_template_call(s->value(), 0)) return definition;
  expander e(routines, origins, warnings);
  json::object out = o;
  out["steps"] = e.steps(s->value(), "/steps", "/steps", 0);
  return out;
}

std::string source_pointer(const std::vector<pointer_origin>& origins, std::string_view expanded) {
  const pointer_origin* best = nullptr;
  for (const auto& o : origins) {
    const bool covers = expanded.starts_with(o.expanded) &&
                        (expanded.size() == o.expanded.size() || expanded[o.expanded.size()] == '/');
    if (covers && (!best || o.expanded.size() > best->expanded.size())) best = &o;
  }
  if (!best) return std::string(expanded);
  // Inside a routine's step the rest of the path is the routine's, not the file's.
  if (best->source.ends_with("/templateCall")) return best->source;
  return best->source + std::string(expanded.substr(best->expanded.size()));
}

}  // namespace tokenrail::workflow
