// Validation of a D2 definition and its compilation into a program.
//
// Checks run in a fixed order so the error names the FIRST bad field: for
// each object, its required members (in the order the spec lists them),
// then every member in document order; steps in order, depth first.
#include "workflow/conditions.hpp"
#include "workflow/program.hpp"
#include "workflow/validation.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr std::uint32_t max_iterations_cap = 1'000'000;
constexpr errc invalid = errc::WORKFLOW_INVALID;

bool valid_id(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  if (!std::isalnum(static_cast<unsigned char>(s.front())) && s.front() != '_') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

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

const json::object& need_object(const json::value& v, const std::string& p, std::string_view what) {
  if (!v.is_object()) throw_at(invalid, p, what);
  return v.get_object();
}

std::string need_string(const json::value& v, const std::string& p, std::string_view what = "a string") {
  if (!v.is_string()) throw_at(invalid, p, what);
  return std::string(v.get_string());
}

std::vector<std::string> need_string_list(const json::value& v, const std::string& p) {
  if (!v.is_array()) throw_at(invalid, p, "an array of strings");
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& item : v.get_array()) out.push_back(need_string(item, pointer_join(p, i++)));
  return out;
}

void need_present(const json::object& o, std::string_view key, const std::string& p, std::string_view what) {
  if (!o.contains(key)) throw_at(invalid, pointer_join(p, key), what);
}

void unknown(std::vector<warning>& w, const std::string& p, std::string_view key, std::string_view where) {
  w.push_back({pointer_join(p, key), "unknown field \"" + std::string(key) + "\" in " + std::string(where) +
                                         " (kept, ignored)"});
}

// True if a procedure item already starts with its own number ("1. ",
// "2) "): WorkRail's files number their procedure items themselves, and
// "1. 1. Look at..." helps nobody.
bool self_numbered(std::string_view item) {
  std::size_t i = 0;
  while (i < item.size() && i < 4 && std::isdigit(static_cast<unsigned char>(item[i]))) ++i;
  return i > 0 && i + 1 < item.size() && (item[i] == '.' || item[i] == ')') && item[i + 1] == ' ';
}

constexpr std::string_view prompt_value_shape =
    "a string, or an array of prompt parts {kind: \"text\", text} / {kind: \"ref\", refId}";

// One part of a WorkRail "prompt value" (prompt-blocks.ts): {kind: "text",
// text} or {kind: "ref", refId}. A ref names a snippet in WorkRail's own
// closed registry, which this engine does not have: it renders as a visible
// marker, with a warning, instead of failing a file WorkRail accepts (as
// templating leaves an unknown {{var}} visible). A plain string counts as
// text.
std::string prompt_part(const json::value& v, const std::string& p, std::vector<warning>& w) {
  if (v.is_string()) return std::string(v.get_string());
  const json::object& o = need_object(v, p, "a prompt part {kind: \"text\", text} or {kind: \"ref\", refId}");
  need_present(o, "kind", p, "\"text\" or \"ref\"");
  const json::value& kind = o.at("kind");
  const bool text = kind.is_string() && kind.get_string() == "text";
  if (!text && !(kind.is_string() && kind.get_string() == "ref"))
    throw_at(invalid, pointer_join(p, "kind"), "\"text\" or \"ref\"");
  const std::string_view field = text ? "text" : "refId";
  need_present(o, field, p, text ? "a string" : "a reference id (e.g. \"wr.refs.notes_first_durability\")");
  std::string value;
  for (const auto& m : o) {
    if (m.key() == "kind") continue;
    if (m.key() == field) value = need_string(m.value(), pointer_join(p, field));
    else unknown(w, p, m.key(), "a prompt part");
  }
  if (text) return value;
  w.push_back({p, "prompt reference \"" + value + "\" names a WorkRail snippet this engine does not have; "
                  "the prompt shows [ref: " + value + "] in its place"});
  return "[ref: " + value + "]";
}

// A prompt value: a string, or an array of parts joined without separators.
std::string prompt_value(const json::value& v, const std::string& p, std::vector<warning>& w) {
  if (v.is_string()) return std::string(v.get_string());
  if (!v.is_array()) throw_at(invalid, p, prompt_value_shape);
  std::string out;
  std::size_t i = 0;
  for (const auto& part : v.get_array()) out += prompt_part(part, pointer_join(p, i++), w);
  return out;
}

bool has_part_objects(const json::value& v) {
  return v.is_array() && std::any_of(v.get_array().begin(), v.get_array().end(),
                                     [](const json::value& e) { return e.is_object(); });
}

// The prompt of promptBlocks, rendered as headed markdown sections.
// `keyed`: the block may also be an object {output: description}, the shape
// WorkRail's authoring reference gives outputRequired
// ({"notesMarkdown": "Short recap"}); real files use it, so it must load.
// `single`: the block (goal) is one prompt value, so an array of parts is
// joined into one paragraph; an array of strings stays a bullet list.
// List items are prompt values too (WorkRail's constraints/procedure/verify
// are arrays of them).
void render_block(std::string& out, std::string_view heading, const json::value& v, const std::string& p,
                  bool numbered, bool keyed, bool single, std::vector<warning>& w) {
  if (!out.empty()) out += "\n\n";
  out += "## ";
  out += heading;
  out += '\n';
  if (v.is_string()) {
    out.append(v.get_string());
    return;
  }
  if (single && has_part_objects(v)) {
    out += prompt_value(v, p, w);
    return;
  }
  if (keyed && v.is_object()) {
    bool first = true;
    for (const auto& m : v.get_object()) {
      const std::string text = need_string(m.value(), pointer_join(p, m.key()), "a string (what this output must contain)");
      if (!first) out += '\n';
      first = false;
      out += "- ";
      out.append(m.key());
      out += ": ";
      out += text;
    }
    return;
  }
  if (!v.is_array())
    throw_at(invalid, p, keyed ? "a string, an array of strings, or an object {output: description}"
                               : "a string or an array of strings (or of prompt values)");
  std::size_t i = 0;
  for (const auto& item : v.get_array()) {
    const std::string text = prompt_value(item, pointer_join(p, i), w);
    if (i) out += '\n';
    if (!numbered) out += "- ";
    else if (!self_numbered(text)) out += std::to_string(i + 1) + ". ";
    out += text;
    ++i;
  }
}

struct body_ref {
  // where the loop step is: in `top` (block == npos) or in blocks[block]
  std::size_t block, index;
  std::size_t owner_top;   // the top-level step that contains the loop
  std::string target, pointer;
};

class parser {
 public:
  explicit parser(std::vector<warning>& w) : w_(w) {}

  std::shared_ptr<const program> run(const json::value& def, definition_meta& meta) {
    const json::object& o = need_object(def, "", "a workflow definition object");
    const std::string root;
    static constexpr std::array<std::string_view, 5> required = {"id", "name", "description", "version", "steps"};
    for (auto key : required)
      need_present(o, key, root, key == "steps" ? "a non-empty array of steps" : "a string");
    prog_ = std::make_shared<program>();
    prog_->blocks.emplace_back();   // block 0: filled at the end
    for (const auto& m : o) {
      const std::string_view key = m.key();
      const std::string p = pointer_join(root, key);
      const json::value& v = m.value();
      if (key == "id") {
        meta.id = need_string(v, p, "a workflow id (letters, digits, . _ - :, at most 128 characters)");
        if (!valid_id(meta.id, 128)) throw_at(invalid, p, "a workflow id (letters, digits, . _ - :, at most 128 characters)");
      } else if (key == "name") {
        meta.name = need_string(v, p);
      } else if (key == "description") {
        meta.description = need_string(v, p);
      } else if (key == "version") {
        meta.version = need_string(v, p, "a version string (e.g. \"1.0.0\")");
      } else if (key == "steps") {
        if (!v.is_array() || v.get_array().empty()) throw_at(invalid, p, "a non-empty array of steps");
        std::size_t i = 0;
        for (const auto& s : v.get_array()) {
          current_top_ = i;
          top_.push_back(parse_step(s, pointer_join(p, i), 0, npos, i));
          ++i;
        }
      } else if (key == "preconditions" || key == "metaGuidance" || key == "clarificationPrompts") {
        need_string_list(v, p);
      } else if (key == "functionDefinitions") {
        check_function_definitions(v, p);
      } else if (key == "recommendedPreferences") {
        need_object(v, p, "an object");
      } else if (key == "about") {
        need_string(v, p);
      } else if (key == "examples") {
        if (!v.is_array()) throw_at(invalid, p, "an array");
      } else {
        unknown(w_, root, key, "the workflow");
      }
    }
    resolve_refs();
    return prog_;
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  void check_function_definitions(const json::value& v, const std::string& p) {
    if (!v.is_array()) throw_at(invalid, p, "an array of function definitions (objects)");
    std::size_t i = 0;
    for (const auto& item : v.get_array()) {
      const std::string ip = pointer_join(p, i++);
      const json::object& f = need_object(item, ip, "a function definition object {name, definition, ...}");
      need_present(f, "name", ip, "a string");
      need_string(f.at("name"), pointer_join(ip, "name"));
      // D2: unknown fields are reported at every level; these are the
      // members of a function definition in WorkRail's schema.
      for (const auto& m : f)
        if (m.key() != "name" && m.key() != "definition" && m.key() != "parameters" && m.key() != "scope")
          unknown(w_, ip, m.key(), "a function definition");
    }
  }

  void claim_id(const std::string& id, const std::string& p) {
    auto [it, fresh] = ids_.emplace(id, p);
    if (!fresh) throw_at(invalid, p, "a step id unique in the workflow (\"" + id + "\" is already used at " + it->second + ")");
  }

  // Parses one step. `block`/`index`: where it will live (block == npos: top_).
  step parse_step(const json::value& v, const std::string& p, int depth, std::size_t block, std::size_t index) {
    const json::object& o = need_object(v, p, "a step object");
    if (auto t = o.find("type"); t != o.end()) {
      if (!t->value().is_string()) throw_at(invalid, pointer_join(p, "type"), "\"loop\" (or no type for a standard step)");
      if (t->value().get_string() == "loop") return parse_loop(o, p, depth, block, index);
    }
    step s;
    s.pointer = p;
    need_present(o, "id", p, "a step id (letters, digits, . _ - :)");
    need_present(o, "title", p, "a string");
    for (const auto& m : o) {
      const std::string_view key = m.key();
      const std::string mp = pointer_join(p, key);
      const json::value& val = m.value();
      if (key == "id") {
        s.id = need_string(val, mp, "a step id (letters, digits, . _ - :)");
        if (!valid_id(s.id, 256)) throw_at(invalid, mp, "a step id (letters, digits, . _ - :, at most 256 characters)");
        claim_id(s.id, mp);
      } else if (key == "type") {
        // Only "loop" means something in D2; any other type (WorkRail writes
        // "parallel" on delegation steps) is an unknown value on a standard
        // step: kept, ignored, reported - never a reason to refuse the file.
        if (val.get_string() != "step" && val.get_string() != "standard")
          w_.push_back({mp, "step type \"" + std::string(val.get_string()) +
                                "\" is not one D2 defines; the step runs as a standard step"});
      } else if (key == "title") {
        s.title = need_string(val, mp);
      } else if (key == "prompt") {
        std::string text = need_string(val, mp);
        s.prompt = s.prompt.empty() ? std::move(text) : text + "\n\n" + s.prompt;
      } else if (key == "promptBlocks") {
        s.prompt += (s.prompt.empty() ? "" : "\n\n") + render_prompt_blocks(val, mp);
      } else if (key == "promptFragments") {
        parse_fragments(s, val, mp);
      } else if (key == "agentRole") {
        s.agent_role = need_string(val, mp);
      } else if (key == "guidance") {
        s.guidance = need_string_list(val, mp);
      } else if (key == "askForFiles") {
        if (!val.is_bool()) throw_at(invalid, mp, "true or false");
        s.extras["askForFiles"] = val;
      } else if (key == "notesOptional" || key == "hasValidation") {
        // WorkRail step flags that change nothing here: notes are never
        // required by this engine, and validationCriteria alone decide
        // whether output is checked. Known fields, so no "unknown" warning.
        if (!val.is_bool()) throw_at(invalid, mp, "true or false");
      } else if (key == "requireConfirmation") {
        parse_confirmation(s, val, mp);
      } else if (key == "runCondition") {
        check_condition(val, mp, w_);
        s.run_condition = val;
      } else if (key == "validationCriteria") {
        check_rules(val, mp, w_);
        s.validation = val;
      } else if (key == "outputContract") {
        parse_contract(s, val, mp);
      } else if (key == "functionDefinitions") {
        check_function_definitions(val, mp);
        s.extras["functionDefinitions"] = val;
      } else if (key == "functionReferences") {
        need_string_list(val, mp);
        s.extras["functionReferences"] = val;
      } else if (key == "templateCall") {
        // expanded before parsing; reaching here means it was not resolvable
        throw_at(errc::WORKFLOW_DANGLING_REF, mp, "a templateCall whose routine is known");
      } else if (key == "parallelDelegations") {
        parse_delegations(s, val, mp);
      } else {
        unknown(w_, p, key, "a step");
      }
    }
    return s;
  }

  std::string render_prompt_blocks(const json::value& v, const std::string& p) {
    const json::object& o = need_object(v, p, "an object {goal, constraints, procedure, outputRequired, verify}");
    for (const auto& m : o) {
      const std::string_view k = m.key();
      if (k != "goal" && k != "constraints" && k != "procedure" && k != "outputRequired" && k != "verify")
        unknown(w_, p, k, "promptBlocks");
    }
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> order = {{
        {"goal", "Goal"}, {"constraints", "Constraints"}, {"procedure", "Procedure"},
        {"outputRequired", "Output required"}, {"verify", "Verify"}}};
    std::string out;
    for (const auto& [key, heading] : order)
      if (auto it = o.find(key); it != o.end())
        render_block(out, heading, it->value(), pointer_join(p, key), key == "procedure", key == "outputRequired",
                     key == "goal", w_);
    return out;
  }

  void parse_fragments(step& s, const json::value& v, const std::string& p) {
    if (!v.is_array()) throw_at(invalid, p, "an array of {id, when?, text}");
    std::size_t i = 0;
    for (const auto& item : v.get_array()) {
      const std::string ip = pointer_join(p, i++);
      const json::object& o = need_object(item, ip, "a prompt fragment {id, when?, text}");
      need_present(o, "id", ip, "a string");
      need_present(o, "text", ip, "a string");
      fragment f;
      for (const auto& m : o) {
        const std::string mp = pointer_join(ip, m.key());
        if (m.key() == "id") f.id = need_string(m.value(), mp);
        else if (m.key() == "text") f.text = need_string(m.value(), mp);
        else if (m.key() == "when") {
          check_condition(m.value(), mp, w_);
          f.when = m.value();
        } else unknown(w_, ip, m.key(), "a prompt fragment");
      }
      s.fragments.push_back(std::move(f));
    }
  }

  void parse_confirmation(step& s, const json::value& v, const std::string& p) {
    if (v.is_bool()) {
      s.confirm.kind = v.get_bool() ? confirmation::mode::always : confirmation::mode::never;
      return;
    }
    const json::object& o = need_object(v, p, "true, false, a condition, or {message, when?}");
    if (o.empty()) {   // an empty condition, which holds (as in WorkRail): say what that means here
      s.confirm.kind = confirmation::mode::always;
      w_.push_back({p, "requireConfirmation {} is an empty condition, which always holds: confirmation is always required"});
      return;
    }
    if (o.contains("var") || o.contains("and") || o.contains("or") || o.contains("not")) {
      check_condition(v, p, w_);
      s.confirm.kind = confirmation::mode::when;
      s.confirm.when = v;
      return;
    }
    // {message, when?}. WorkRail renders requireConfirmation as
    // Boolean(value), so any other object (real files use
    // {"kind": "human_approval"}) means "confirm": accept it as that and
    // warn about the fields we do not understand, instead of rejecting it.
    if (o.contains("when")) need_present(o, "message", p, "a string (or give a condition instead)");
    s.confirm.kind = confirmation::mode::always;
    for (const auto& m : o) {
      const std::string mp = pointer_join(p, m.key());
      if (m.key() == "message") s.confirm.message = need_string(m.value(), mp);
      else if (m.key() == "when") {
        check_condition(m.value(), mp, w_);
        s.confirm.kind = confirmation::mode::when;
        s.confirm.when = m.value();
      } else unknown(w_, p, m.key(), "requireConfirmation");
    }
    if (!o.contains("message"))
      w_.push_back({p, "requireConfirmation is an object with neither a condition nor {message, when}: "
                       "like WorkRail, which treats any object as true, confirmation is always required"});
  }

  void parse_contract(step& s, const json::value& v, const std::string& p) {
    const json::object& o = need_object(v, p, "an object {contractRef, required?}");
    need_present(o, "contractRef", p, "a non-empty string");
    s.contract_required = true;   // declaring a contract means it is required unless said otherwise
    for (const auto& m : o) {
      const std::string mp = pointer_join(p, m.key());
      if (m.key() == "contractRef") {
        s.contract_ref = need_string(m.value(), mp, "a non-empty string");
        if (s.contract_ref.empty()) throw_at(invalid, mp, "a non-empty string");
      } else if (m.key() == "required") {
        if (!m.value().is_bool()) throw_at(invalid, mp, "true or false");
        s.contract_required = m.value().get_bool();
      } else unknown(w_, p, m.key(), "outputContract");
    }
    s.extras["outputContract"] = v;
  }

  void parse_delegations(step& s, const json::value& v, const std::string& p) {
    if (!v.is_array()) throw_at(invalid, p, "an array of {workflowId, args?}");
    std::size_t i = 0;
    for (const auto& item : v.get_array()) {
      const std::string ip = pointer_join(p, i++);
      const json::object& o = need_object(item, ip, "a delegation {workflowId, args?}");
      need_present(o, "workflowId", ip, "a workflow id");
      delegation d;
      for (const auto& m : o) {
        const std::string mp = pointer_join(ip, m.key());
        if (m.key() == "workflowId") {
          d.workflow_id = need_string(m.value(), mp, "a workflow id");
          if (!valid_id(d.workflow_id, 128)) throw_at(invalid, mp, "a workflow id");
        } else if (m.key() == "args") {
          need_object(m.value(), mp, "an object");
          d.args = m.value();
        } else unknown(w_, ip, m.key(), "a delegation");
      }
      s.delegations.push_back(std::move(d));
    }
  }

  step parse_loop(const json::object& o, const std::string& p, int depth, std::size_t block, std::size_t index) {
    if (depth >= max_loop_depth) throw_at(invalid, p, "loops nested at most 32 deep");
    step s;
    s.is_loop = true;
    s.pointer = p;
    need_present(o, "id", p, "a step id (letters, digits, . _ - :)");
    need_present(o, "title", p, "a string");
    need_present(o, "loop", p, "a loop object {type, maxIterations, ...}");
    need_present(o, "body", p, "a non-empty array of steps, or the id of a top-level step");
    for (const auto& m : o) {
      const std::string_view key = m.key();
      const std::string mp = pointer_join(p, key);
      const json::value& val = m.value();
      if (key == "id") {
        s.id = need_string(val, mp, "a step id (letters, digits, . _ - :)");
        if (!valid_id(s.id, 256)) throw_at(invalid, mp, "a step id (letters, digits, . _ - :, at most 256 characters)");
        claim_id(s.id, mp);
      } else if (key == "type") {
      } else if (key == "title") {
        s.title = need_string(val, mp);
      } else if (key == "loop") {
        parse_loop_spec(s.loop, val, mp);
        warn_if_always_true(s);
      } else if (key == "body") {
        if (val.is_string()) {
          if (val.get_string().empty()) throw_at(invalid, mp, "a non-empty array of steps, or the id of a top-level step");
          refs_.push_back({block, index, current_top_, std::string(val.get_string()), mp});
        } else if (val.is_array() && !val.get_array().empty()) {
          const std::size_t b = prog_->blocks.size();
          prog_->blocks.emplace_back();
          s.loop.body = static_cast<std::uint32_t>(b);
          std::size_t i = 0;
          std::vector<step> body;
          for (const auto& item : val.get_array()) {
            body.push_back(parse_step(item, pointer_join(mp, i), depth + 1, b, i));
            ++i;
          }
          prog_->blocks[b].steps = std::move(body);
        } else {
          throw_at(invalid, mp, "a non-empty array of steps, or the id of a top-level step");
        }
      } else if (key == "runCondition") {
        check_condition(val, mp, w_);
        s.run_condition = val;
      } else if (key == "functionDefinitions") {
        check_function_definitions(val, mp);
      } else if (key == "requireConfirmation") {
        // WorkRail's schema allows it on a loop, but a loop renders no prompt
        // of its own, so there is nothing to confirm: say where it belongs.
        w_.push_back({mp, "requireConfirmation on a loop step has no effect (the loop shows no prompt of its own); "
                          "put it on the steps of its body"});
      } else {
        unknown(w_, p, key, "a loop step");
      }
    }
    return s;
  }

  // WorkRail evaluates an empty condition as true; a loop on one is legal
  // but almost never what the author meant, so say what it does.
  void warn_if_always_true(const step& s) {
    const loop_spec& l = s.loop;
    if (l.artifact_driven || !l.condition.is_object() || !l.condition.get_object().empty()) return;
    if (l.kind == loop_kind::while_loop)
      w_.push_back({s.pointer + std::string(l.condition_at),
                    "empty condition {} always holds: this while loop runs until its maxIterations (" +
                        std::to_string(l.max_iterations) + ")"});
    else if (l.kind == loop_kind::until_loop)
      w_.push_back({s.pointer + std::string(l.condition_at),
                    "empty condition {} always holds: this until loop runs its body once"});
  }

  // conditionSource is {kind: "artifact_contract", contractRef, loopId?}
  // (the body's loop_control artifact decides), or WorkRail's legacy
  // {kind: "context_variable", condition}: loop.condition under another
  // name. Returns that condition, or nullptr for an artifact contract.
  const json::value* parse_condition_source(loop_spec& l, const json::value& v, const std::string& p) {
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
        check_condition(c.value(), cp, w_);
        condition = &c.value();
      } else if (!by_context && c.key() == "contractRef") {
        l.contract_ref = need_string(c.value(), cp);
      } else if (!by_context && c.key() == "loopId") {
        l.loop_id = need_string(c.value(), cp);
      } else unknown(w_, p, c.key(), "conditionSource");
    }
    l.artifact_driven = !by_context;
    return condition;
  }

  void parse_loop_spec(loop_spec& l, const json::value& v, const std::string& p) {
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
        check_condition(val, mp, w_);
        l.condition = val;
      } else if (key == "conditionSource") {
        source_condition = parse_condition_source(l, val, mp);
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
        unknown(w_, p, key, "loop");
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
        if (cond) w_.push_back({pointer_join(p, "condition"), "condition is ignored on a for/forEach loop"});
        break;
    }
  }

  // Resolves body ids: dangling and recursive references, then moves every
  // referenced top-level step into a block of its own.
  void resolve_refs() {
    std::map<std::string, std::size_t, std::less<>> top_index;
    for (std::size_t i = 0; i < top_.size(); ++i) top_index.emplace(top_[i].id, i);
    std::vector<std::vector<std::size_t>> edges(top_.size());
    std::vector<std::size_t> targets;
    for (const auto& r : refs_) {
      auto it = top_index.find(r.target);
      if (it == top_index.end())
        throw_at(errc::WORKFLOW_DANGLING_REF, r.pointer,
                 "the id of a top-level step (\"" + r.target + "\" is not one)");
      edges[r.owner_top].push_back(it->second);
      targets.push_back(it->second);
    }
    auto reaches = [&](std::size_t from, std::size_t to) {
      std::vector<char> seen(top_.size(), 0);
      std::vector<std::size_t> stack{from};
      while (!stack.empty()) {
        const std::size_t n = stack.back();
        stack.pop_back();
        if (n == to) return true;
        if (seen[n]) continue;
        seen[n] = 1;
        for (std::size_t e : edges[n]) stack.push_back(e);
      }
      return false;
    };
    for (std::size_t k = 0; k < refs_.size(); ++k)
      if (reaches(targets[k], refs_[k].owner_top))
        throw_at(errc::WORKFLOW_RECURSIVE, refs_[k].pointer,
                 "a body that does not contain its own loop (\"" + refs_[k].target + "\" leads back to \"" +
                     top_[refs_[k].owner_top].id + "\")");
    std::map<std::size_t, std::uint32_t> block_of;
    for (std::size_t t : targets)
      if (!block_of.count(t)) {
        block_of[t] = static_cast<std::uint32_t>(prog_->blocks.size());
        prog_->blocks.emplace_back();
      }
    for (std::size_t k = 0; k < refs_.size(); ++k) {
      const body_ref& r = refs_[k];
      step& loop = r.block == npos ? top_[r.index] : prog_->blocks[r.block].steps[r.index];
      loop.loop.body = block_of[targets[k]];
    }
    for (std::size_t i = 0; i < top_.size(); ++i) {
      auto it = block_of.find(i);
      if (it == block_of.end()) prog_->blocks[0].steps.push_back(std::move(top_[i]));
      else prog_->blocks[it->second].steps.push_back(std::move(top_[i]));
    }
    if (prog_->blocks[0].steps.empty())
      throw_at(invalid, "/steps", "at least one step that is not only a loop body");
  }

  std::vector<warning>& w_;
  std::shared_ptr<program> prog_;
  std::vector<step> top_;
  std::vector<body_ref> refs_;
  std::map<std::string, std::string, std::less<>> ids_;
  std::size_t current_top_ = 0;
};

}  // namespace

std::shared_ptr<const program> parse_definition(const json::value& definition, definition_meta& meta,
                                                std::vector<warning>& warnings) {
  parser p(warnings);
  return p.run(definition, meta);
}

}  // namespace tokenrail::workflow
