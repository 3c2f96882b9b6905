// A run's DAG (D5: every advance makes a child node; two children of one
// node are a fork) and its renderings as text, Graphviz DOT and Mermaid.
//
// The graph is a projection of the event log: node_created events give the
// nodes (with their parent and pending step), edge_created events the
// edges. Hosts get the events from export_session (or any source of events
// of the shape {kind, runId, nodeId, data}); the run resource from get_run
// marks the tips and the preferred tip.
#pragma once

#include <tokenrail/error.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tokenrail::host {

struct run_graph {
  struct node {
    std::uint32_t seq = 0;
    std::string step_id;   // the step pending at this node; empty when complete
    bool complete = false;
    bool tip = false;
    bool preferred = false;
    std::uint32_t checkpoints = 0;
  };
  struct edge {
    std::uint32_t from = 0, to = 0;
    // The ack attempt the edge was advanced with: 0 for the node's own
    // ackToken, else the random id of a re-minted one (a rehydrated token,
    // a callback); an id, not a count.
    std::uint32_t attempt = 0;
  };
  std::string run_id, workflow_id, phase;
  std::vector<node> nodes;  // ordered by seq
  std::vector<edge> edges;  // ordered by (from, to)

  /// Nodes with more than one child.
  std::vector<std::uint32_t> fork_points() const;
};

/// Builds the graph of run `run` (a get_run response) from `events` (an
/// array of exported events; events of other runs are skipped).
/// Errors: INVALID_REQUEST (with the JSON pointer) when the run or an event
/// of this run does not have the expected shape.
result<run_graph> build_run_graph(const boost::json::value& run, const boost::json::value& events);

/// An indented tree, forks visible as several children.
std::string render_graph_text(const run_graph& g);
/// A Graphviz digraph (accepted by `dot`).
std::string render_graph_dot(const run_graph& g);
/// A Mermaid flowchart (`flowchart TD`).
std::string render_graph_mermaid(const run_graph& g);

}  // namespace tokenrail::host
