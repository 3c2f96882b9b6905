// The Temporal-style task-token handshake of seed 000, in-process: the host
// suspends a step (ErrResultPending), hands the callback token to a worker
// thread, the worker completes it later (CompleteActivity), the run goes on.
#include "engine/async_support.hpp"

#include <chrono>
#include <future>
#include <thread>

using namespace trtest;

TEST_CASE("handshake: suspend, hand the token to a worker thread, complete later, continue", "[async][handshake]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  // 1. The host starts the run and decides the pending step runs elsewhere.
  json::object req{{"workflowId", "async-parent"},
                   {"correlation", json::object{{"traceId", "trace-1"}, {"flowId", "flow-1"}, {"tenantId", "acme"}}}};
  auto r = call(*e, "start_workflow", req);
  REQUIRE(r.at("pending").at("stepId") == "delegate");
  const auto run = run_id_of(r);
  auto s = suspend(*e, r, 60'000);
  REQUIRE(error_code(s) == "");
  const std::string token(s.at("callbackToken").as_string());

  // 2. The worker gets only the token (like activity.GetInfo(ctx).TaskToken)
  //    and completes it later from its own thread.
  std::promise<void> go;
  std::promise<std::string> done;
  std::thread worker([&, token, fut = go.get_future()]() mutable {
    fut.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));   // "does the work"
    json::object res = result("success", "worker: research done");
    res["metadata"] = json::object{{"traceId", "trace-1"}, {"flowId", "flow-1"}, {"stepId", "delegate"}, {"tenantId", "acme"}};
    done.set_value(complete_text(*e, json::value(token), res));
  });

  // 3. Meanwhile the run waits; the agent cannot advance it.
  CHECK(phase(*e, run) == "Waiting");
  CHECK(error_code(advance(*e, r)) == "STEP_SUSPENDED");
  go.set_value();
  const std::string completion = done.get_future().get();
  worker.join();

  // 4. The completion advanced the run; the host continues from its tokens.
  auto c = json::parse(completion);
  INFO(completion);
  REQUIRE(c.at("kind") == "ok");
  CHECK(c.at("pending").at("stepId") == "review");
  CHECK(phase(*e, run) == "Running");
  auto g = get_run(*e, run);
  CHECK(g.at("status").at("lastResult").at("metadata").at("tenantId") == "acme");
  CHECK(g.at("status").at("waitingOn").as_array().empty());
  // The host's own retry of the original acknowledgement sees the same response.
  json::object retry{{"stateToken", r.at("stateToken")}, {"ackToken", r.at("ackToken")},
                     {"output", json::object{{"notesMarkdown", "worker: research done"}}}};
  CHECK(e->call("continue_workflow", json::serialize(retry)) == completion);
  auto end = advance(*e, c, "reviewed");
  CHECK(end.at("isComplete") == true);
  CHECK(phase(*e, run) == "Completed");
  // The worker retrying its completion gets the same answer; expiry finds nothing.
  json::object res = result("success", "worker: research done");
  res["metadata"] = json::object{{"traceId", "trace-1"}, {"flowId", "flow-1"}, {"stepId", "delegate"}, {"tenantId", "acme"}};
  CHECK(complete_text(*e, json::value(token), res) == completion);
  CHECK(call(*e, "expire_callbacks", json::object{{"now", 1'900'000'000'000}}).at("expired").as_array().empty());
  CHECK(verify(*e).ok);
}
