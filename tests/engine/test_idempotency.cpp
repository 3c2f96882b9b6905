// Idempotent advance (D6): same pair + same body -> the first response byte
// for byte and nothing written; same pair + other body -> ACK_ALREADY_USED.
#include "engine/support.hpp"

using namespace trtest;

TEST_CASE("a replayed advance returns the recorded response byte for byte and writes nothing",
          "[engine][idempotency]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  auto r = start(*e, "lin3");
  json::object req{{"stateToken", r.at("stateToken")},
                   {"ackToken", r.at("ackToken")},
                   {"output", json::object{{"notesMarkdown", "did it"}}}};
  const std::string body = json::serialize(req);
  const std::string first = e->call("continue_workflow", body);
  auto before = e->internals().store->stats();
  const std::string second = e->call("continue_workflow", body);
  CHECK(first == second);
  // The same body with another member order and whitespace is the same request.
  const std::string reordered = "{ \"output\": {\"notesMarkdown\": \"did it\"}, \"ackToken\": " +
                                json::serialize(r.at("ackToken")) + ", \"stateToken\": " +
                                json::serialize(r.at("stateToken")) + " }";
  CHECK(e->call("continue_workflow", reordered) == first);
  auto after = e->internals().store->stats();
  CHECK(after.entries == before.entries);
  CHECK(after.bytes_used == before.bytes_used);
}

TEST_CASE("the same pair with a different body is ACK_ALREADY_USED with the recorded response",
          "[engine][idempotency]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  auto r = start(*e, "lin3");
  auto first = advance(*e, r, "first notes");
  auto before = e->internals().store->stats();
  auto other = advance(*e, r, "other notes");
  INFO(json::serialize(other));
  CHECK(error_code(other) == "ACK_ALREADY_USED");
  const auto& err = other.at("error");
  CHECK(err.at("numericCode") == 2008);
  CHECK(err.at("retry").at("kind") == "not_retryable");
  CHECK(err.at("details").at("recordedResponse") == first);
  CHECK(std::string(err.at("details").at("hint").as_string()).find("rehydrate") != std::string::npos);
  CHECK(e->internals().store->stats().entries == before.entries);
}

TEST_CASE("a blocked advance writes nothing and keeps the tokens usable", "[engine][idempotency]") {
  json::value wf = linear_workflow("val", 2);
  wf.at("steps").as_array()[0].as_object()["validationCriteria"] =
      json::object{{"type", "contains"}, {"value", "DONE"}, {"message", "say DONE"}};
  auto e = make_engine("memory", {wf});
  auto r = start(*e, "val");
  auto before = e->internals().store->stats();
  auto b = advance(*e, r, "not yet");
  INFO(json::serialize(b));
  REQUIRE(error_code(b).empty());
  CHECK(b.at("kind") == "blocked");
  REQUIRE(b.at("blockers").as_array().size() >= 1);
  const auto& bl = b.at("blockers").at(0);
  CHECK(bl.as_object().contains("code"));
  CHECK(bl.as_object().contains("pointer"));
  CHECK(bl.as_object().contains("message"));
  CHECK(bl.as_object().contains("suggestedFix"));
  CHECK(b.at("pending").at("stepId") == "s1");
  CHECK(b.at("ackToken") == r.at("ackToken"));
  CHECK(e->internals().store->stats().entries == before.entries);
  auto ok = advance(*e, r, "DONE now");
  INFO(json::serialize(ok));
  CHECK(ok.at("kind") == "ok");
  CHECK(ok.at("pending").at("stepId") == "s2");
}

TEST_CASE("tokens of different nodes or runs are refused as a scope mismatch", "[engine][idempotency]") {
  auto e = make_engine("memory", {linear_workflow("lin3", 3)});
  auto a = start(*e, "lin3");
  auto b = start(*e, "lin3");
  auto a2 = advance(*e, a);
  // ack of run b with state of run a
  auto r1 = call(*e, "continue_workflow", json::object{{"stateToken", a.at("stateToken")}, {"ackToken", b.at("ackToken")}});
  CHECK(error_code(r1) == "TOKEN_SCOPE_MISMATCH");
  CHECK(error_pointer(r1) == "/ackToken");
  // ack of node 1 with state of node 0 (same run)
  auto r2 = call(*e, "continue_workflow", json::object{{"stateToken", a.at("stateToken")}, {"ackToken", a2.at("ackToken")}});
  CHECK(error_code(r2) == "TOKEN_SCOPE_MISMATCH");
}

TEST_CASE("start_workflow with an idempotencyKey: same request replays, another request is refused",
          "[engine][idempotency]") {
  // D6 applies its ack rule to starts too: the same key with the same body
  // returns the first response byte for byte and writes nothing; the same
  // key with another body must not silently hand back a run of something
  // else (it is refused with the recorded response, like ACK_ALREADY_USED).
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3), linear_workflow("lin2", 2)});
  if (!e) return;
  json::object req{{"workflowId", "lin3"}, {"idempotencyKey", "k-1"}, {"context", json::object{{"ticket", "T-1"}}}};
  const std::string first = e->call("start_workflow", json::serialize(req));
  REQUIRE(error_code(json::parse(first)) == "");
  auto before = e->internals().store->stats();
  CHECK(e->call("start_workflow", json::serialize(req)) == first);
  CHECK(e->internals().store->stats().entries == before.entries);

  auto other = req;
  other["workflowId"] = "lin2";
  auto x = call(*e, "start_workflow", other);
  INFO(json::serialize(x));
  CHECK(error_code(x) == "INVALID_REQUEST");
  CHECK(error_pointer(x) == "/idempotencyKey");
  CHECK(x.at("error").at("details").at("recordedResponse") == json::parse(first));
  CHECK(x.at("error").at("details").at("differs") == "/workflowId");
  other = req;
  other["context"] = json::object{{"ticket", "T-2"}};
  auto y = call(*e, "start_workflow", other);
  CHECK(error_code(y) == "INVALID_REQUEST");
  CHECK(y.at("error").at("details").at("differs") == "/context");
  CHECK(e->internals().store->stats().entries == before.entries);   // refusals write nothing
  // The same request with its members in another order and 1.0 for 1 is the same request.
  auto num = req;
  num["idempotencyKey"] = "k-2";
  num["context"] = json::object{{"n", 1}};
  const std::string n1 = e->call("start_workflow", json::serialize(num));
  CHECK(e->call("start_workflow", R"({"context":{"n":1.0},"idempotencyKey":"k-2","workflowId":"lin3"})") == n1);
  // The first request still replays.
  CHECK(e->call("start_workflow", json::serialize(req)) == first);
  CHECK(verify(*e).ok);
}
