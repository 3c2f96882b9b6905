// tokenrail show RUN --format text|dot|mermaid: a run's DAG with its forks.
#include "cli.hpp"

#include <tokenrail/host/render.hpp>
#include <tokenrail/host/run_graph.hpp>

#include <iostream>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view help = R"(usage: tokenrail show RUN [--format text|dot|mermaid]

Prints the DAG of run RUN (run_<16 hex>): one node per snapshot, an edge per
advance; a node with two children is a fork (an older stateToken advanced
again). Tips are marked, the preferred tip too. The graph is projected from
the session's event log (export_session); the tips come from get_run.

  --format text      an indented tree (default)
  --format dot       Graphviz: tokenrail show RUN --format dot | dot -Tsvg > run.svg
  --format mermaid   a Mermaid flowchart
  --                 end of options: the next argument is RUN
)";

// The events of an exported bundle: the first array named "events".
const json::value* find_events(const json::value& v, int depth = 0) {
  if (depth > 8 || !v.is_object()) return nullptr;
  const auto& o = v.get_object();
  if (const json::value* ev = o.if_contains("events"); ev && ev->is_array()) return ev;
  for (const auto& kv : o)
    if (const json::value* found = find_events(kv.value(), depth + 1)) return found;
  return nullptr;
}
}  // namespace

int cmd_show(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  std::string run_id, format = "text";
  for (arg_reader r(a); r.next();) {
    if (r.is("--format")) {
      auto v = r.value();
      if (!v) return usage_error("show", "--format needs text, dot or mermaid");
      format = *v;
    } else if (r.looks_like_option() && r.arg().rfind("--format=", 0) == 0) {
      format = r.arg().substr(9);
    } else if (r.looks_like_option()) {
      return usage_error("show", "unknown option " + r.arg());
    } else if (run_id.empty()) {
      run_id = r.arg();
    } else {
      return usage_error("show", "one run at a time");
    }
  }
  if (run_id.empty()) return usage_error("show", "missing the run id");
  if (format != "text" && format != "dot" && format != "mermaid")
    return usage_error("show", "--format must be text, dot or mermaid");

  auto e = open_engine(g);
  if (!e) return exit_error;
  json::object get;
  get["runId"] = run_id;
  auto run = call(*e, "get_run", get);
  if (run.is_error()) {
    std::cerr << host::render_error(run.value);
    return exit_error;
  }
  if (!has_operation("export_session")) {
    std::cerr << "tokenrail show: this engine build has no export_session operation, which show\n"
                 "needs to read the run's nodes and edges from the event log.\n";
    return exit_error;
  }
  json::object exp;
  const json::value* session = run.value.get_object().if_contains("metadata");
  if (session && session->is_object()) {
    if (const json::value* sid = session->get_object().if_contains("sessionId")) exp["sessionId"] = *sid;
  }
  auto bundle = call(*e, "export_session", exp);
  if (bundle.is_error()) {
    std::cerr << host::render_error(bundle.value);
    return exit_error;
  }
  const json::value* events = find_events(bundle.value);
  if (!events) {
    std::cerr << "tokenrail show: the exported session has no events array\n";
    return exit_error;
  }
  auto graph = host::build_run_graph(run.value, *events);
  if (!graph) {
    std::cerr << host::render_error(graph.error().to_json());
    return exit_error;
  }
  if (format == "dot") std::cout << host::render_graph_dot(*graph);
  else if (format == "mermaid") std::cout << host::render_graph_mermaid(*graph);
  else std::cout << host::render_graph_text(*graph);
  return exit_ok;
}

}  // namespace tokenrail::cli
