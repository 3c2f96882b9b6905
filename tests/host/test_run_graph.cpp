// The run DAG projection and its text / DOT / Mermaid renderings.
#include <tokenrail/host/run_graph.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

namespace json = boost::json;
using namespace tokenrail::host;

namespace {

const char* run_json = R"({"apiVersion":"tokenrail/v1","kind":"WorkflowRun",
  "metadata":{"runId":"run_00000000000000aa","sessionId":"s"},
  "spec":{"workflowId":"bug-triage"},
  "status":{"phase":"Completed","tips":["run_00000000000000aa/3","run_00000000000000aa/4"],
            "preferredTip":"run_00000000000000aa/4"}})";

// 0 -> 1 -> 2 -> 3 and a fork 1 -> 4 (advanced with a re-minted ackToken,
// whose attempt is a random id as the engine writes it); an event of another run.
const char* events_json = R"([
  {"index":0,"kind":"session_created","data":{}},
  {"index":1,"kind":"run_started","runId":"run_00000000000000aa","data":{}},
  {"index":2,"kind":"node_created","runId":"run_00000000000000aa","nodeId":0,"data":{"stepId":"triage","complete":false}},
  {"index":3,"kind":"node_created","runId":"run_00000000000000aa","nodeId":1,"data":{"parent":0,"stepId":"reproduce","complete":false}},
  {"index":4,"kind":"edge_created","runId":"run_00000000000000aa","nodeId":1,"data":{"from":0,"to":1,"attempt":0}},
  {"index":5,"kind":"node_created","runId":"run_00000000000000aa","nodeId":2,"data":{"parent":1,"stepId":"fix \"it\"","complete":false}},
  {"index":6,"kind":"edge_created","runId":"run_00000000000000aa","nodeId":2,"data":{"from":1,"to":2,"attempt":0}},
  {"index":7,"kind":"node_created","runId":"run_00000000000000aa","nodeId":3,"data":{"parent":2,"complete":true}},
  {"index":8,"kind":"edge_created","runId":"run_00000000000000aa","nodeId":3,"data":{"from":2,"to":3,"attempt":0}},
  {"index":9,"kind":"node_created","runId":"run_00000000000000aa","nodeId":4,"data":{"parent":1,"stepId":"fix","complete":false}},
  {"index":10,"kind":"edge_created","runId":"run_00000000000000aa","nodeId":4,"data":{"from":1,"to":4,"attempt":4036743309}},
  {"index":11,"kind":"checkpoint_recorded","runId":"run_00000000000000aa","nodeId":4,"data":{}},
  {"index":12,"kind":"node_created","runId":"run_00000000000000bb","nodeId":0,"data":{"stepId":"x"}}
])";

}  // namespace

TEST_CASE("run_graph: nodes, edges, tips and forks from events") {
  auto g = build_run_graph(json::parse(run_json), json::parse(events_json));
  REQUIRE(g.has_value());
  CHECK(g->nodes.size() == 5);
  CHECK(g->edges.size() == 4);
  CHECK(g->fork_points() == std::vector<std::uint32_t>{1});
  CHECK(g->nodes[3].complete);
  CHECK(g->nodes[3].tip);
  CHECK(g->nodes[4].preferred);
  CHECK(g->nodes[4].checkpoints == 1);
  CHECK(g->nodes[0].step_id == "triage");

  std::string text = render_graph_text(*g);
  CHECK(text.find("run run_00000000000000aa (bug-triage) Completed\n") == 0);
  CHECK(text.find("n1  reproduce  (fork: 2 branches)") != std::string::npos);
  CHECK(text.find("\nn0  triage\nn1  reproduce  (fork: 2 branches)\n|-- n2  fix \"it\"\n|   n3  [complete]  <- tip\n"
                  "`-- n4  fix  (1 checkpoint)  <- preferred tip\n") != std::string::npos);
  CHECK(text.find("`-- n4  fix  (1 checkpoint)  <- preferred tip") != std::string::npos);
  CHECK(text.find("5 nodes, 4 edges, 1 fork point\n") != std::string::npos);

  std::string dot = render_graph_dot(*g);
  CHECK(dot.find("digraph \"run_00000000000000aa\" {") == 0);
  CHECK(dot.find("n2 [label=\"n2 fix \\\"it\\\"\"]") != std::string::npos);
  CHECK(dot.find("n1 -> n4 [label=\"re-attempt\"];") != std::string::npos);
  CHECK(dot.find("4036743309") == std::string::npos);  // an id, not a count to show

  std::string mm = render_graph_mermaid(*g);
  CHECK(mm.find("flowchart TD\n") == 0);
  CHECK(mm.find("n2[\"n2 fix #quot;it#quot;\"]") != std::string::npos);
  CHECK(mm.find("n3([\"n3 complete (tip)\"])") != std::string::npos);
  CHECK(mm.find("n1 -->|re-attempt| n4") != std::string::npos);
  CHECK(mm.find("4036743309") == std::string::npos);
}

TEST_CASE("run_graph: bad shapes are errors with a pointer") {
  auto no_id = build_run_graph(json::parse("{}"), json::array());
  REQUIRE_FALSE(no_id.has_value());
  CHECK(no_id.error().details.at("pointer").as_string() == "/run/metadata/runId");
  auto bad_events = build_run_graph(json::parse(run_json), json::parse("{}"));
  REQUIRE_FALSE(bad_events.has_value());
  auto bad_node = build_run_graph(
      json::parse(run_json), json::parse(R"([{"kind":"node_created","runId":"run_00000000000000aa","nodeId":"x"}])"));
  REQUIRE_FALSE(bad_node.has_value());
  CHECK(bad_node.error().details.at("pointer").as_string() == "/events/0/nodeId");
}
