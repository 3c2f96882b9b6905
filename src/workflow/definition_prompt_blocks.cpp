// promptBlocks -> one prompt: WorkRail's structured prompt (blocks, prompt
// values, prompt parts) rendered as markdown. Kept apart from the step
// parser because it is text rendering, not definition structure.
#include "workflow/definition_prompt_blocks.hpp"

#include "workflow/definition_field_checks.hpp"
#include "workflow/program.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr errc invalid = errc::WORKFLOW_INVALID;

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

}  // namespace

std::string render_prompt_blocks(const json::value& v, const std::string& p, std::vector<warning>& w) {
  const json::object& o = need_object(v, p, "an object {goal, constraints, procedure, outputRequired, verify}");
  for (const auto& m : o) {
    const std::string_view k = m.key();
    if (k != "goal" && k != "constraints" && k != "procedure" && k != "outputRequired" && k != "verify")
      unknown(w, p, k, "promptBlocks");
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> order = {{
      {"goal", "Goal"}, {"constraints", "Constraints"}, {"procedure", "Procedure"},
      {"outputRequired", "Output required"}, {"verify", "Verify"}}};
  std::string out;
  for (const auto& [key, heading] : order)
    if (auto it = o.find(key); it != o.end())
      render_block(out, heading, it->value(), pointer_join(p, key), key == "procedure", key == "outputRequired",
                   key == "goal", w);
  return out;
}

}  // namespace tokenrail::workflow
