// A workflow driven through the C ABI alone: advance to completion, replay
// byte for byte, a reused ack with another body, and a fork.
#include "capi_test_support.hpp"

#include <vector>

using namespace capi_test;

namespace {

json::object advance_request(const json::value& from, std::string_view notes) {
  json::object req;
  req["stateToken"] = from.at("stateToken");
  req["ackToken"] = from.at("ackToken");
  req["output"] = json::object{{"notesMarkdown", notes}};
  return req;
}

}  // namespace

TEST_CASE("a workflow runs to completion through tokenrail_call") {
  engine_fixture f;
  auto r = call(f.engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  REQUIRE(r.status == TOKENRAIL_OK);
  REQUIRE(r.body.at("isComplete") == false);
  REQUIRE(r.body.at("session").at("runId").is_string());

  std::vector<std::string> steps;
  for (int guard = 0; guard < 10 && r.body.at("isComplete") == false; ++guard) {
    steps.emplace_back(r.body.at("pending").at("stepId").as_string());
    REQUIRE(r.body.at("nextIntent") == "perform_pending_then_continue");
    r = call(f.engine, "continue_workflow", advance_request(r.body, "done: " + steps.back()));
    INFO(r.text);
    REQUIRE(r.status == TOKENRAIL_OK);
    REQUIRE(r.body.at("kind") == "ok");
  }
  REQUIRE(steps == std::vector<std::string>{"gather", "plan", "report"});
  REQUIRE(r.body.at("isComplete") == true);
  REQUIRE(r.body.at("nextIntent") == "complete");
}

TEST_CASE("replaying an advance returns the first response byte for byte") {
  engine_fixture f;
  auto start = call(f.engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  REQUIRE(start.status == TOKENRAIL_OK);
  const std::string request = json::serialize(advance_request(start.body, "gathered"));
  auto first = call(f.engine, "continue_workflow", request);
  REQUIRE(first.status == TOKENRAIL_OK);
  auto second = call(f.engine, "continue_workflow", request);
  REQUIRE(second.status == TOKENRAIL_OK);
  REQUIRE(second.text == first.text);
}

TEST_CASE("the same ack with another body is ACK_ALREADY_USED carrying the recorded response") {
  engine_fixture f;
  auto start = call(f.engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  auto first = call(f.engine, "continue_workflow", advance_request(start.body, "one answer"));
  REQUIRE(first.status == TOKENRAIL_OK);
  auto other = call(f.engine, "continue_workflow", advance_request(start.body, "another answer"));
  REQUIRE(other.status == TOKENRAIL_ERR_RESPONSE);
  REQUIRE(error_code(other.body) == "ACK_ALREADY_USED");
  REQUIRE(other.body.at("error").at("numericCode").as_int64() == 2008);
  REQUIRE(other.body.at("error").at("details").is_object());
}

TEST_CASE("rehydrating an old state and advancing again forks the run") {
  engine_fixture f;
  auto start = call(f.engine, "start_workflow", R"({"workflowId": "capi-demo"})");
  auto main_branch = call(f.engine, "continue_workflow", advance_request(start.body, "first try"));
  REQUIRE(main_branch.status == TOKENRAIL_OK);

  auto rehydrated = call(f.engine, "continue_workflow", json::object{{"stateToken", start.body.at("stateToken")}});
  REQUIRE(rehydrated.status == TOKENRAIL_OK);
  REQUIRE(rehydrated.body.at("pending").at("stepId") == "gather");
  REQUIRE(rehydrated.body.at("ackToken") != start.body.at("ackToken"));  // a new attempt

  auto fork = call(f.engine, "continue_workflow", advance_request(rehydrated.body, "second try"));
  REQUIRE(fork.status == TOKENRAIL_OK);
  REQUIRE(fork.body.at("pending").at("stepId") == "plan");
  REQUIRE(fork.body.at("stateToken") != main_branch.body.at("stateToken"));
  REQUIRE(fork.body.at("session").at("runId") == main_branch.body.at("session").at("runId"));
}
