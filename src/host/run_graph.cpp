// A run's DAG from its events (see include/tokenrail/host/run_graph.hpp).
#include <tokenrail/host/run_graph.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string_view>

namespace tokenrail::host {

namespace json = boost::json;

namespace {

const json::value* at_path(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (auto key : path) {
    if (!cur->is_object()) return nullptr;
    cur = cur->get_object().if_contains(key);
    if (!cur) return nullptr;
  }
  return cur;
}

std::optional<std::uint32_t> as_seq(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= UINT32_MAX)
    return static_cast<std::uint32_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= UINT32_MAX) return static_cast<std::uint32_t>(v->get_uint64());
  if (v->is_string()) {
    // "run_<hex>/<seq>" or "<seq>"
    std::string_view s = v->get_string();
    auto slash = s.rfind('/');
    if (slash != std::string_view::npos) s = s.substr(slash + 1);
    std::uint32_t out = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

std::string event_pointer(std::size_t i, std::string_view rest = {}) {
  return "/events/" + std::to_string(i) + std::string(rest);
}

std::string node_label(const run_graph::node& n) {
  std::string label = "n" + std::to_string(n.seq) + " ";
  label += n.complete ? "complete" : n.step_id;
  return label;
}

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Mermaid labels go inside "..."; quotes become #quot; (Mermaid's entity).
std::string mermaid_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"') out += "#quot;";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

std::vector<std::uint32_t> run_graph::fork_points() const {
  std::map<std::uint32_t, int> children;
  for (const auto& e : edges) ++children[e.from];
  std::vector<std::uint32_t> out;
  for (const auto& [from, n] : children)
    if (n > 1) out.push_back(from);
  return out;
}

result<run_graph> build_run_graph(const json::value& run, const json::value& events) {
  run_graph g;
  const json::value* run_id = at_path(run, {"metadata", "runId"});
  if (!run_id || !run_id->is_string())
    return error::at(errc::INVALID_REQUEST, "/run/metadata/runId", "the run's id (a string)");
  g.run_id = std::string(run_id->get_string());
  if (const json::value* w = at_path(run, {"spec", "workflowId"}); w && w->is_string())
    g.workflow_id = std::string(w->get_string());
  if (const json::value* p = at_path(run, {"status", "phase"}); p && p->is_string())
    g.phase = std::string(p->get_string());
  if (!events.is_array()) return error::at(errc::INVALID_REQUEST, "/events", "an array of events");

  std::map<std::uint32_t, run_graph::node> nodes;
  std::map<std::pair<std::uint32_t, std::uint32_t>, run_graph::edge> edges;
  const auto& list = events.get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json::value& ev = list[i];
    const json::value* r = at_path(ev, {"runId"});
    if (!r || !r->is_string() || r->get_string() != g.run_id) continue;
    const json::value* kind = at_path(ev, {"kind"});
    if (!kind || !kind->is_string()) return error::at(errc::INVALID_REQUEST, event_pointer(i, "/kind"), "a string");
    std::string_view k = kind->get_string();
    if (k == "node_created") {
      auto seq = as_seq(at_path(ev, {"nodeId"}));
      if (!seq) return error::at(errc::INVALID_REQUEST, event_pointer(i, "/nodeId"), "a node sequence number");
      run_graph::node& n = nodes[*seq];
      n.seq = *seq;
      if (const json::value* s = at_path(ev, {"data", "stepId"}); s && s->is_string())
        n.step_id = std::string(s->get_string());
      if (const json::value* c = at_path(ev, {"data", "complete"}); c && c->is_bool()) n.complete = c->get_bool();
    } else if (k == "edge_created") {
      auto from = as_seq(at_path(ev, {"data", "from"}));
      auto to = as_seq(at_path(ev, {"data", "to"}));
      if (!from || !to)
        return error::at(errc::INVALID_REQUEST, event_pointer(i, "/data"), "{from, to} node sequence numbers");
      run_graph::edge e{*from, *to, as_seq(at_path(ev, {"data", "attempt"})).value_or(0)};
      edges[{*from, *to}] = e;
    } else if (k == "checkpoint_recorded") {
      if (auto seq = as_seq(at_path(ev, {"nodeId"}))) ++nodes[*seq].checkpoints, nodes[*seq].seq = *seq;
    }
  }
  if (const json::value* tips = at_path(run, {"status", "tips"}); tips && tips->is_array()) {
    for (const auto& t : tips->get_array())
      if (auto seq = as_seq(&t); seq && nodes.count(*seq)) nodes[*seq].tip = true;
  }
  if (auto seq = as_seq(at_path(run, {"status", "preferredTip"})); seq && nodes.count(*seq))
    nodes[*seq].preferred = true;
  for (auto& [_, n] : nodes) g.nodes.push_back(std::move(n));
  for (auto& [_, e] : edges) g.edges.push_back(e);
  return g;
}

std::string render_graph_text(const run_graph& g) {
  std::string out = "run " + g.run_id;
  if (!g.workflow_id.empty()) out += " (" + g.workflow_id + ")";
  if (!g.phase.empty()) out += " " + g.phase;
  out += "\n";
  std::map<std::uint32_t, std::vector<std::uint32_t>> children;
  std::map<std::uint32_t, bool> has_parent;
  for (const auto& e : g.edges) {
    children[e.from].push_back(e.to);
    has_parent[e.to] = true;
  }
  std::map<std::uint32_t, const run_graph::node*> by_seq;
  for (const auto& n : g.nodes) by_seq[n.seq] = &n;
  auto describe = [&](std::uint32_t seq) {
    std::string s = "n" + std::to_string(seq);
    auto it = by_seq.find(seq);
    if (it == by_seq.end()) return s + " (unknown node)";
    const auto& n = *it->second;
    s += n.complete ? "  [complete]" : "  " + n.step_id;
    if (n.checkpoints) s += "  (" + std::to_string(n.checkpoints) + " checkpoint" + (n.checkpoints > 1 ? "s" : "") + ")";
    if (n.preferred) s += "  <- preferred tip";
    else if (n.tip) s += "  <- tip";
    return s;
  };
  // Depth-first with an explicit stack: a long run is deep, not wide. A
  // node that is its parent's only child continues the parent's column; the
  // children of a fork get a branch connector and an indented column.
  struct item {
    std::uint32_t seq;
    std::string line_prefix;  // printed before the node
    std::string cont_prefix;  // printed before the node's descendants
  };
  std::vector<item> stack;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it)
    if (!has_parent.count(it->seq)) stack.push_back({it->seq, "", ""});
  std::map<std::uint32_t, bool> seen;
  while (!stack.empty()) {
    item cur = std::move(stack.back());
    stack.pop_back();
    if (seen[cur.seq]) continue;
    seen[cur.seq] = true;
    const auto& kids = children[cur.seq];
    out += cur.line_prefix + describe(cur.seq);
    if (kids.size() > 1) out += "  (fork: " + std::to_string(kids.size()) + " branches)";
    out += "\n";
    if (kids.size() == 1) {
      stack.push_back({kids[0], cur.cont_prefix, cur.cont_prefix});
      continue;
    }
    for (std::size_t i = kids.size(); i-- > 0;) {
      bool last = i + 1 == kids.size();
      stack.push_back({kids[i], cur.cont_prefix + (last ? "`-- " : "|-- "), cur.cont_prefix + (last ? "    " : "|   ")});
    }
  }
  auto forks = g.fork_points();
  out += std::to_string(g.nodes.size()) + " nodes, " + std::to_string(g.edges.size()) + " edges, " +
         std::to_string(forks.size()) + " fork point" + (forks.size() == 1 ? "" : "s") + "\n";
  return out;
}

std::string render_graph_dot(const run_graph& g) {
  std::string out = "digraph \"" + dot_escape(g.run_id) + "\" {\n";
  out += "  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n";
  out += "  label=\"" + dot_escape(g.run_id + (g.workflow_id.empty() ? "" : " (" + g.workflow_id + ")")) + "\";\n";
  for (const auto& n : g.nodes) {
    out += "  n" + std::to_string(n.seq) + " [label=\"" + dot_escape(node_label(n)) + "\"";
    if (n.complete) out += ", shape=doubleoctagon";
    if (n.preferred) out += ", style=\"bold,filled\", fillcolor=\"lightblue\"";
    else if (n.tip) out += ", style=filled, fillcolor=\"lightgrey\"";
    out += "];\n";
  }
  for (const auto& e : g.edges) {
    out += "  n" + std::to_string(e.from) + " -> n" + std::to_string(e.to);
    // attempt is a random id of a re-minted ackToken (0: the node's first
    // one), not a count: printing it read as "attempt 4036743309".
    if (e.attempt) out += " [label=\"re-attempt\"]";
    out += ";\n";
  }
  out += "}\n";
  return out;
}

std::string render_graph_mermaid(const run_graph& g) {
  std::string out = "flowchart TD\n";
  for (const auto& n : g.nodes) {
    std::string label = mermaid_escape(node_label(n));
    if (n.preferred) label += " (preferred tip)";
    else if (n.tip) label += " (tip)";
    out += "  n" + std::to_string(n.seq) + (n.complete ? "([\"" : "[\"") + label + (n.complete ? "\"])" : "\"]") + "\n";
  }
  for (const auto& e : g.edges) {
    out += "  n" + std::to_string(e.from) + " -->";
    if (e.attempt) out += "|re-attempt|";  // a random id, not a count (see the DOT edges)
    out += " n" + std::to_string(e.to) + "\n";
  }
  return out;
}

}  // namespace tokenrail::host
