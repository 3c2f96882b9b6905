// Markdown rendering of a session bundle (see session_markdown.hpp).
#include "engine/session_markdown.hpp"

#include "engine/context.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/workflow/interpreter.hpp>
#include <tokenrail/workflow/library.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

namespace tokenrail::engine_detail {

namespace {

namespace bj = boost::json;

const bj::value* get(const bj::value& v, std::string_view k) {
  return v.is_object() ? v.as_object().if_contains(k) : nullptr;
}

std::string str_or(const bj::value* v, std::string_view dflt = "") {
  return v && v->is_string() ? std::string(v->as_string()) : std::string(dflt);
}

std::int64_t int_or(const bj::value* v, std::int64_t dflt) {
  if (!v || !v->is_number()) return dflt;
  bj::error_code ec;
  auto n = v->to_number<std::int64_t>(ec);
  return ec ? dflt : n;
}

struct md_node {
  std::uint32_t parent = no_node;
  bool complete = false;
  std::string step_id;
  std::int64_t at = 0;
  std::vector<std::uint32_t> children;   // creation order
  std::vector<std::pair<std::int64_t, std::string>> checkpoints;
  const bj::value* output = nullptr;     // the output that created this node
  const bj::value* context = nullptr;    // the context delta that came with it
};

struct md_run {
  std::uint64_t id = 0;
  std::string workflow_id, workflow_hash, created_at;
  const bj::value* context = nullptr;
  std::string phase = "Running";
  std::map<std::uint32_t, md_node> nodes;
};

/// Step id -> title, from the pinned definition's compiled preview (so
/// routine steps expanded by templateCall have their titles too).
void collect_titles(const bj::array& preview, std::map<std::string, std::string>& out) {
  for (const auto& item : preview) {
    std::string id = str_or(get(item, "id"));
    if (!id.empty()) out.emplace(id, str_or(get(item, "title")));
    if (auto* body = get(item, "body"); body && body->is_array()) collect_titles(body->as_array(), out);
  }
}

/// Appends `text` as a block quote at `indent`, one "> " line per line.
void quote(std::string& out, const std::string& indent, std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::size_t pos = 0;
  while (true) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += indent;
    out += line.empty() ? ">" : "> ";
    out += line;
    out += '\n';
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

std::string compact(const bj::value& v) {
  try {
    return json::canonicalize(v);
  } catch (const std::exception&) {
    return tokenrail::json::serialize(v);
  }
}

/// What the agent handed in with the advance that created `n`.
void render_handover(std::string& out, const std::string& indent, const md_node& n) {
  if (n.output) {
    if (auto* notes = get(*n.output, "notesMarkdown"); notes && notes->is_string() && !notes->as_string().empty()) {
      out += indent + "- Notes:\n";
      quote(out, indent + "  ", notes->as_string());
    }
    if (auto* arts = get(*n.output, "artifacts"); arts && arts->is_array() && !arts->as_array().empty()) {
      out += indent + "- Artifacts:\n";
      for (const auto& a : arts->as_array()) out += indent + "  - `" + compact(a) + "`\n";
    }
  }
  if (n.context && n.context->is_object() && !n.context->as_object().empty())
    out += indent + "- Context set: `" + compact(*n.context) + "`\n";
}

void render_checkpoints(std::string& out, const std::string& indent, const md_node& n) {
  for (const auto& [at, notes] : n.checkpoints) {
    out += indent + "- Checkpoint (" + format_time(at) + "):\n";
    quote(out, indent + "  ", notes);
  }
}

void render_steps(std::string& out, const md_run& r, const std::map<std::string, std::string>& titles) {
  if (!r.nodes.count(0)) {
    out += "_No steps recorded._\n";
    return;
  }
  // The preferred tip: the newest leaf (D5, records.cpp status rule).
  std::uint32_t preferred = 0;
  for (const auto& [seq, n] : r.nodes)
    if (n.children.empty()) preferred = std::max(preferred, seq);

  struct item {
    std::uint32_t node;
    std::size_t depth;
    std::string header;   // already indented lines emitted before the chain
  };
  // An explicit stack instead of recursion: a run with thousands of nested
  // forks must not exhaust the call stack.
  std::vector<item> stack{{0, 0, {}}};
  while (!stack.empty()) {
    item it = std::move(stack.back());
    stack.pop_back();
    out += it.header;
    std::uint32_t seq = it.node;
    const std::string ind(it.depth * 2, ' ');
    while (true) {
      const md_node& n = r.nodes.at(seq);
      const std::string tip = seq == preferred ? ", preferred tip" : "";
      if (n.complete) {
        out += fmt::format("{}- **Completed** (node {}{})\n", ind, seq, tip);
        render_checkpoints(out, ind + "  ", n);
        break;
      }
      auto t = titles.find(n.step_id);
      const std::string title = t != titles.end() && !t->second.empty() ? " — " + t->second : "";
      out += fmt::format("{}- **{}**{} (node {})\n", ind, n.step_id, title, seq);
      render_checkpoints(out, ind + "  ", n);
      if (n.children.empty()) {
        out += fmt::format("{}  - _Pending: not acknowledged yet (tip{})_\n", ind, tip);
        break;
      }
      if (n.children.size() == 1) {
        seq = n.children.front();
        render_handover(out, ind + "  ", r.nodes.at(seq));
        continue;
      }
      out += fmt::format("{}  - Fork at `{}` (node {}): {} branches\n", ind, n.step_id, seq, n.children.size());
      const std::string bind = ind + "    ";
      for (std::size_t i = n.children.size(); i-- > 0;) {
        const std::uint32_t c = n.children[i];
        std::string header = fmt::format("{}- Branch {} → node {}\n", bind, i + 1, c);
        render_handover(header, bind + "  ", r.nodes.at(c));
        stack.push_back({c, it.depth + 3, std::move(header)});
      }
      break;
    }
  }
}

}  // namespace

std::string render_session_markdown(const bj::object& bundle) {
  const std::string sid = str_or(bundle.if_contains("sessionId"));
  std::vector<md_run> runs;
  std::map<std::uint64_t, std::size_t> by_id;
  std::size_t event_count = 0;
  std::string first_at;
  const bj::value* events = bundle.if_contains("events");
  if (events && events->is_array()) {
    event_count = events->as_array().size();
    for (const auto& ev : events->as_array()) {
      const std::string kind = str_or(get(ev, "kind"));
      const bj::value* data = get(ev, "data");
      const std::int64_t at = int_or(get(ev, "at"), 0);
      if (first_at.empty()) first_at = format_time(at);
      auto run_id = parse_run_id(str_or(get(ev, "runId")));
      if (!run_id) continue;
      if (kind == "run_started") {
        md_run r;
        r.id = *run_id;
        const bj::value* spec = data ? get(*data, "spec") : nullptr;
        r.workflow_id = str_or(spec ? get(*spec, "workflowId") : nullptr);
        r.workflow_hash = str_or(spec ? get(*spec, "workflowHash") : nullptr);
        r.context = spec ? get(*spec, "context") : nullptr;
        r.created_at = format_time(at);
        by_id[r.id] = runs.size();
        runs.push_back(std::move(r));
        continue;
      }
      auto rit = by_id.find(*run_id);
      if (rit == by_id.end()) continue;
      md_run& r = runs[rit->second];
      const std::int64_t node = int_or(get(ev, "nodeId"), -1);
      if (node < 0 || node > 0xfffffffe) continue;
      const auto seq = static_cast<std::uint32_t>(node);
      if (kind == "node_created") {
        md_node& n = r.nodes[seq];
        n.parent = data && get(*data, "parent") ? static_cast<std::uint32_t>(int_or(get(*data, "parent"), no_node)) : no_node;
        n.complete = data && get(*data, "complete") && get(*data, "complete")->is_bool() && get(*data, "complete")->as_bool();
        n.step_id = str_or(data ? get(*data, "stepId") : nullptr);
        n.at = at;
        if (n.parent != no_node && r.nodes.count(n.parent) && n.parent != seq) r.nodes[n.parent].children.push_back(seq);
      } else if (kind == "output_appended") {
        r.nodes[seq].output = data ? get(*data, "output") : nullptr;
      } else if (kind == "context_set") {
        r.nodes[seq].context = data ? get(*data, "context") : nullptr;
      } else if (kind == "checkpoint_recorded") {
        r.nodes[seq].checkpoints.emplace_back(at, str_or(data ? get(*data, "notesMarkdown") : nullptr));
      } else if (kind == "run_completed") {
        r.phase = "Completed";
      } else if (kind == "run_cancelled") {
        r.phase = "Cancelled";
      }
    }
  }
  std::map<std::string, std::map<std::string, std::string>> titles;   // workflowHash -> titles
  std::map<std::string, std::string> names;
  if (auto* wfs = bundle.if_contains("workflows"); wfs && wfs->is_object()) {
    for (const auto& kv : wfs->as_object()) {
      auto c = workflow::compile(kv.value());
      if (!c) continue;
      collect_titles(workflow::preview(*(*c)->prog), titles[std::string(kv.key())]);
      names[std::string(kv.key())] = (*c)->name;
    }
  }

  std::string out;
  out += "# Session `" + sid + "`\n\n";
  out += fmt::format("- Started: {}\n", first_at.empty() ? "-" : first_at);
  out += fmt::format("- Runs: {}\n", runs.size());
  out += fmt::format("- Events: {}\n", event_count);
  if (auto* m = bundle.if_contains("manifest"))
    if (auto* h = get(*m, "headHash"); h && h->is_string()) out += "- Head hash: `" + std::string(h->as_string()) + "`\n";
  for (const auto& r : runs) {
    const std::string& name = names[r.workflow_hash];
    out += "\n## Run `" + format_run_id(r.id) + "`: " + (name.empty() ? r.workflow_id : name) + "\n\n";
    out += "- Workflow: `" + r.workflow_id + "` (`" + r.workflow_hash + "`)\n";
    out += "- Phase: " + r.phase + "\n";
    out += "- Started: " + r.created_at + "\n";
    if (r.context && r.context->is_object() && !r.context->as_object().empty())
      out += "- Context: `" + compact(*r.context) + "`\n";
    out += "\n### Steps\n\n";
    render_steps(out, r, titles[r.workflow_hash]);
  }
  return out;
}

}  // namespace tokenrail::engine_detail
