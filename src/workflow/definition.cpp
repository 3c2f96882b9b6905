// Validation of a D2 definition and its compilation into a program.
//
// Checks run in a fixed order so the error names the FIRST bad field: for
// each object, its required members (in the order the spec lists them),
// then every member in document order; steps in order, depth first.
// This file holds the structure (workflow, steps, loops, body references);
// fields with a schema of their own are parsed in the other definition_*.cpp.
#include "workflow/conditions.hpp"
#include "workflow/definition_field_checks.hpp"
#include "workflow/definition_loop_spec.hpp"
#include "workflow/definition_prompt_blocks.hpp"
#include "workflow/definition_step_fields.hpp"
#include "workflow/program.hpp"
#include "workflow/validation.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <map>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr errc invalid = errc::WORKFLOW_INVALID;

std::vector<std::string> need_string_list(const json::value& v, const std::string& p) {
  if (!v.is_array()) throw_at(invalid, p, "an array of strings");
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& item : v.get_array()) out.push_back(need_string(item, pointer_join(p, i++)));
  return out;
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
    for_each_object(v, p, "an array of function definitions (objects)",
                    "a function definition object {name, definition, ...}",
                    [&](const json::object& f, const std::string& ip) {
      need_present(f, "name", ip, "a string");
      need_string(f.at("name"), pointer_join(ip, "name"));
      // D2: unknown fields are reported at every level; these are the
      // members of a function definition in WorkRail's schema.
      for (const auto& m : f)
        if (m.key() != "name" && m.key() != "definition" && m.key() != "parameters" && m.key() != "scope")
          unknown(w_, ip, m.key(), "a function definition");
    });
  }

  // A step's or loop's "id": a valid id, unique in the workflow.
  std::string parse_step_id(const json::value& v, const std::string& p) {
    std::string id = need_string(v, p, "a step id (letters, digits, . _ - :)");
    if (!valid_id(id, 256)) throw_at(invalid, p, "a step id (letters, digits, . _ - :, at most 256 characters)");
    auto [it, fresh] = ids_.emplace(id, p);
    if (!fresh) throw_at(invalid, p, "a step id unique in the workflow (\"" + id + "\" is already used at " + it->second + ")");
    return id;
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
        s.id = parse_step_id(val, mp);
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
        s.prompt += (s.prompt.empty() ? "" : "\n\n") + render_prompt_blocks(val, mp, w_);
      } else if (key == "promptFragments") {
        parse_fragments(s, val, mp, w_);
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
        parse_confirmation(s, val, mp, w_);
      } else if (key == "runCondition") {
        check_condition(val, mp, w_);
        s.run_condition = val;
      } else if (key == "validationCriteria") {
        check_rules(val, mp, w_);
        s.validation = val;
      } else if (key == "outputContract") {
        parse_contract(s, val, mp, w_);
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
        parse_delegations(s, val, mp, w_);
      } else {
        unknown(w_, p, key, "a step");
      }
    }
    return s;
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
        s.id = parse_step_id(val, mp);
      } else if (key == "type") {
      } else if (key == "title") {
        s.title = need_string(val, mp);
      } else if (key == "loop") {
        parse_loop_spec(s.loop, val, mp, w_);
        warn_if_always_true(s, w_);
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
