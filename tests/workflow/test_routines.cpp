// templateCall expansion: routine lookup, id prefixes, {arg} substitution,
// {{var}} kept, errors (missing arg, unknown routine, nested templateCall).
#include "workflow_test_support.hpp"

#include <tokenrail/crypto/hash.hpp>

using namespace wf_test;

namespace {

json::value routine() { return read_fixture("workflows/routines/code-review-routine.json"); }

routine_resolver resolver_of(const std::map<std::string, json::value>& m) {
  return [&m](std::string_view id) -> const json::value* {
    auto it = m.find(std::string(id));
    return it == m.end() ? nullptr : &it->second;
  };
}

}  // namespace

TEST_CASE("a templateCall is replaced by the routine's steps, ids prefixed with the caller's id") {
  const auto& wf = fixture_workflow("feature-with-review");
  auto t = drive(wf, obj(R"({"feature": "retries", "reviewer": "Grace"})"), nullptr);
  CHECK(t.ids == ids{"implement", "review.read", "review.comment", "merge"});
  CHECK(t.steps[1].title == "Read src/parser");
  CHECK(t.steps[1].prompt ==
        "Read every file under src/parser. Focus on error handling. The reviewer is Grace. "
        "Example config: {\"strict\": true}.");
  REQUIRE(t.steps[2].guidance.size() == 2);
  CHECK(t.steps[2].guidance[0] == "At most 5 comments.");
  CHECK(t.steps[2].guidance[1] == "Address Grace by name.");

  // The pinned definition is self-contained: no templateCall, {{reviewer}} kept.
  const auto& steps = wf.definition.at("steps").as_array();
  REQUIRE(steps.size() == 4);
  CHECK(steps[1].at("id") == "review.read");
  CHECK_FALSE(steps[1].as_object().contains("templateCall"));
  CHECK(json::serialize(wf.definition).find("{{reviewer}}") != std::string::npos);
  CHECK(wf.workflow_hash == crypto::workflow_hash(wf.definition));

  // Recompiling the pinned definition without routines gives the same hash.
  auto again = compile(wf.definition);
  REQUIRE(again.has_value());
  CHECK((*again)->workflow_hash == wf.workflow_hash);
}

TEST_CASE("routine names resolve wr.routine-<name>, then routine-<name>, then <name>") {
  std::map<std::string, json::value> m;
  json::value r = routine();
  r.as_object()["id"] = "routine-code-review";
  m["routine-code-review"] = r;
  auto caller = read_fixture("workflows/uses-routine.json");
  auto c = compile(caller, resolver_of(m));
  REQUIRE(c.has_value());
  m.clear();
  r.as_object()["id"] = "code-review";
  m["code-review"] = r;
  CHECK(compile(caller, resolver_of(m)).has_value());
  // A templateId that is not wr.templates.routine.* is looked up as is.
  caller.as_object()["steps"].as_array()[1].as_object()["templateCall"].as_object()["templateId"] = "code-review";
  CHECK(compile(caller, resolver_of(m)).has_value());
}

TEST_CASE("templateCall errors") {
  std::map<std::string, json::value> m{{"wr.routine-code-review", routine()}};
  SECTION("a missing arg names the arg and the pointer") {
    auto def = read_fixture("invalid/routine-missing-arg.json");
    auto c = compile(def, resolver_of(m));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::TEMPLATE_ARG_MISSING);
    CHECK(c.error().details.at("pointer") == "/steps/0/templateCall/args");
    CHECK(c.error().details.at("arg") == "focus");
  }
  SECTION("an unknown routine is a dangling reference") {
    auto def = read_fixture("workflows/uses-routine.json");
    auto c = compile(def);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::WORKFLOW_DANGLING_REF);
    CHECK(c.error().details.at("pointer") == "/steps/1/templateCall/templateId");
    CHECK(c.error().message.find("wr.routine-code-review") != std::string::npos);
  }
  SECTION("a routine that itself calls a routine is refused") {
    json::value nested = routine();
    nested.as_object()["steps"].as_array().push_back(
        json::object{{"id", "deeper"}, {"title", "x"}, {"templateCall", json::object{{"templateId", "other"}}}});
    m["wr.routine-code-review"] = nested;
    auto c = compile(read_fixture("workflows/uses-routine.json"), resolver_of(m));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::WORKFLOW_INVALID);
    CHECK(c.error().details.at("pointer") == "/steps/1/templateCall/templateId");
  }
  SECTION("bad templateCall shapes") {
    auto def = read_fixture("workflows/uses-routine.json");
    auto& call = def.as_object()["steps"].as_array()[1].as_object();
    call["templateCall"] = "wr.templates.routine.code-review";
    auto c = compile(def, resolver_of(m));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().details.at("pointer") == "/steps/1/templateCall");
    call["templateCall"] = json::object{{"templateId", "wr.templates.routine.code-review"}, {"args", json::array{}}};
    c = compile(def, resolver_of(m));
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().details.at("pointer") == "/steps/1/templateCall/args");
  }
}

TEST_CASE("routine loops are prefixed consistently and the caller's runCondition applies") {
  auto r = parse_json(R"({
    "id":"wr.routine-retry","name":"retry","description":"d","version":"1",
    "steps":[
      {"id":"attempt-loop","type":"loop","title":"Attempts",
       "loop":{"type":"while","maxIterations":3,
               "conditionSource":{"kind":"artifact_contract","contractRef":"wr.contracts.loop_control","loopId":"attempt-loop"}},
       "body":"attempt"},
      {"id":"attempt","title":"Try {what}","prompt":"Try {what}","runCondition":{"var":"enabled"}}
    ]})").value();
  auto caller = parse_json(R"({
    "id":"uses-retry","name":"n","description":"d","version":"1",
    "steps":[
      {"id":"deploy","title":"Deploy","templateCall":{"templateId":"wr.templates.routine.retry","args":{"what":"the deploy"}},
       "runCondition":{"var":"env","equals":"prod"}},
      {"id":"end","title":"End","prompt":"done"}
    ]})").value();
  std::map<std::string, json::value> m{{"wr.routine-retry", r}};
  auto c = compile(caller, resolver_of(m));
  REQUIRE(c.has_value());
  const auto& steps = (*c)->definition.at("steps").as_array();
  CHECK(steps[0].at("body") == "deploy.attempt");
  CHECK(steps[0].at("loop").at("conditionSource").at("loopId") == "deploy.attempt-loop");
  CHECK(steps[1].at("runCondition").as_object().contains("and"));
  auto t = drive(**c, obj(R"({"env":"PROD","enabled":true})"), [](const pending_step& p, json::object&) {
    json::object a{{"kind", "loop_control"}, {"loopId", "deploy.attempt-loop"}, {"decision", "continue"}};
    return p.step_id == "deploy.attempt" ? json::value(json::object{{"artifacts", json::array{a}}}) : notes("x");
  });
  CHECK(t.ids == ids{"deploy.attempt", "deploy.attempt", "deploy.attempt", "end"});
  CHECK(t.steps[0].title == "Try the deploy");
  CHECK(drive(**c, obj(R"({"env":"dev","enabled":true})"), nullptr).ids == ids{"end"});
}
