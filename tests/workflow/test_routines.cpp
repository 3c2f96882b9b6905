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

namespace {

// A routine whose non-text fields are whole {arg} placeholders.
json::value typed_routine() {
  return parse_json(R"({
    "id":"wr.routine-x","name":"x","description":"d","version":"1",
    "steps":[
      {"id":"retry","type":"loop","title":"Retry {what}",
       "loop":{"type":"while","maxIterations":"{max}","condition":"{again}"},
       "body":[{"id":"try","title":"Try {what}","prompt":"Try {what} (at most {max} times).",
                "requireConfirmation":"{confirm}"}]},
      {"id":"repeat","type":"loop","title":"Repeat","loop":{"type":"for","count":"{n}","maxIterations":10},
       "body":[{"id":"once","title":"Once","prompt":"p","runCondition":{"var":"mode","in":"{modes}"}}]},
      {"id":"gate","title":"Gate","prompt":"p","runCondition":"{gate}"},
      {"id":"each","type":"loop","title":"Each","loop":{"type":"forEach","items":"{list}","itemVar":"{item}","maxIterations":5},
       "body":[{"id":"visit","title":"Visit","prompt":"Visit {{file}}."}]}
    ]})").value();
}

json::value caller_with(json::object args) {
  json::value c = parse_json(R"({"id":"uses-x","name":"n","description":"d","version":"1",
    "steps":[{"id":"job","title":"Job","templateCall":{"templateId":"wr.templates.routine.x"}},
             {"id":"end","title":"End","prompt":"p"}]})").value();
  c.as_object()["steps"].as_array()[0].as_object()["templateCall"].as_object()["args"] = std::move(args);
  return c;
}

json::object good_args() {
  return obj(R"({"what":"the upload","max":3,"again":{"var":"failed"},"confirm":true,"n":2,
                 "modes":["fast","full"],"gate":{"var":"ship"},"list":"files","item":"file"})");
}

}  // namespace

TEST_CASE("a routine field that is exactly {arg} takes the arg's JSON value, whatever its type") {
  auto lib = library::load({}, {typed_routine(), caller_with(good_args())});
  if (!lib) FAIL(lib.error().message);
  auto wf = lib->find("uses-x");
  REQUIRE(wf != nullptr);
  const auto& steps = wf->definition.at("steps").as_array();
  CHECK(steps[0].at("loop").at("maxIterations") == 3);
  CHECK(steps[0].at("loop").at("condition") == json::value(json::object{{"var", "failed"}}));
  CHECK(steps[0].at("body").at(0).at("requireConfirmation") == true);
  CHECK(steps[0].at("body").at(0).at("prompt") == "Try the upload (at most 3 times).");   // in text: as text
  CHECK(steps[1].at("loop").at("count") == 2);
  CHECK(steps[1].at("body").at(0).at("runCondition").at("in") == json::value(json::array{"fast", "full"}));
  CHECK(wf->warnings.empty());

  CHECK(steps[3].at("loop").at("items") == "files");
  CHECK(steps[3].at("loop").at("itemVar") == "file");

  auto t = drive(*wf, obj(R"({"failed":true,"mode":"FULL","ship":false,"files":["a.txt"]})"), nullptr);
  CHECK(t.ids == ids{"job.try", "job.try", "job.try", "job.once", "job.once", "job.visit", "end"});
  CHECK(t.steps[5].prompt == "Visit a.txt.");
  CHECK(t.steps[0].require_confirmation);
  CHECK(has_warning(t, "stopped at its maxIterations (3)"));
  // The pinned definition stands alone.
  auto again = compile(wf->definition);
  REQUIRE(again.has_value());
  CHECK((*again)->workflow_hash == wf->workflow_hash);
}

TEST_CASE("a routine compiled on its own: whole {arg} fields where a non-string is required are warnings") {
  auto lib = library::load({}, {typed_routine(), caller_with(good_args())});
  if (!lib) FAIL(lib.error().message);
  auto r = lib->find("wr.routine-x");
  REQUIRE(r != nullptr);
  CHECK(r->is_routine);
  std::vector<std::string> pointers;
  for (const auto& w : r->warnings) {
    CHECK(w.message.find("routine argument") != std::string::npos);
    pointers.push_back(w.pointer);
  }
  CHECK(pointers == std::vector<std::string>{"/steps/0/loop/maxIterations", "/steps/0/loop/condition",
                                             "/steps/0/body/0/requireConfirmation", "/steps/1/loop/count",
                                             "/steps/1/body/0/runCondition/in", "/steps/2/runCondition",
                                             "/steps/3/loop/items", "/steps/3/loop/itemVar"});
  // The arg's name stands in where a name is required.
  CHECK(r->definition.at("steps").at(3).at("loop").at("items") == "list");
  CHECK(r->definition.at("steps").at(0).at("loop").at("maxIterations") == 1);
  // Its (pinned) definition recompiles from the store as it is.
  CHECK(compile(r->definition).has_value());
  // The routine alone, without a caller, loads too.
  CHECK(library::load({}, {typed_routine()}).has_value());
}

TEST_CASE("a genuinely bad routine or workflow still fails the load with its own error") {
  SECTION("a routine field of the wrong type that is not a placeholder") {
    json::value r = typed_routine();
    r.as_object()["steps"].as_array()[0].as_object()["loop"].as_object()["maxIterations"] = "lots";
    auto lib = library::load({}, {r});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().details.at("pointer") == "/steps/0/loop/maxIterations");
    CHECK(lib.error().details.at("expected") == "a positive integer (at most 1000000)");
  }
  SECTION("a placeholder where no value of any type fits (a step's id list)") {
    json::value r = typed_routine();
    r.as_object()["steps"] = "{steps}";
    auto lib = library::load({}, {r});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().details.at("pointer") == "/steps");
  }
  SECTION("a workflow that is not a routine gets no stand-ins") {
    json::value w = typed_routine();
    w.as_object()["id"] = "not-a-routine";
    auto lib = library::load({}, {w});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().code == errc::WORKFLOW_INVALID);
    CHECK(lib.error().details.at("pointer") == "/steps/0/loop/maxIterations");
  }
}

TEST_CASE("whole {arg} fields: a missing arg, or an arg of the wrong type, is an error naming the arg") {
  SECTION("missing arg") {
    json::object args = good_args();
    args.erase("max");
    auto lib = library::load({}, {typed_routine(), caller_with(args)});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().code == errc::TEMPLATE_ARG_MISSING);
    CHECK(lib.error().details.at("pointer") == "/steps/0/templateCall/args");
    CHECK(lib.error().details.at("arg") == "max");
  }
  SECTION("an arg of the wrong type") {
    json::object args = good_args();
    args["max"] = "abc";
    auto lib = library::load({}, {typed_routine(), caller_with(args)});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().code == errc::WORKFLOW_INVALID);
    CHECK(lib.error().details.at("pointer") == "/steps/0/templateCall/args/max");
    CHECK(lib.error().details.at("expandedPointer") == "/steps/0/loop/maxIterations");
    CHECK(lib.error().details.at("expected") == "a positive integer (at most 1000000)");
    CHECK(lib.error().message.find("/steps/0/templateCall/args/max") != std::string::npos);
  }
  SECTION("an error inside an object arg names the field inside the arg") {
    json::object args = good_args();
    args["again"] = obj(R"({"and":[{"var":"a"},{"var":"b..c"}]})");
    auto lib = library::load({}, {typed_routine(), caller_with(args)});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().details.at("pointer") == "/steps/0/templateCall/args/again/and/1/var");
  }
  SECTION("an arg inserted whole may not nest the expanded definition deeper than 128 levels") {
    // 123 nested arrays: at the caller's /steps/0/templateCall/args/modes
    // (depth 5) the innermost is at depth 127, allowed; at the routine's
    // /steps/1/body/0/runCondition/in (depth 6) it would be at 128.
    json::value deep = json::array{};
    for (int i = 0; i < 122; ++i) deep = json::array{deep};
    json::object args = good_args();
    args["modes"] = deep;
    auto lib = library::load({}, {typed_routine(), caller_with(args)});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().code == errc::WORKFLOW_INVALID);
    CHECK(lib.error().details.at("expected") == "JSON nested at most 128 levels deep");
    CHECK(std::string(lib.error().details.at("pointer").as_string()).rfind("/steps/0/templateCall/args/modes/0/0", 0) == 0);
  }
  SECTION("under the caller's runCondition, the routine's own condition moves, and is still traced") {
    json::value caller = caller_with(good_args());
    caller.as_object()["steps"].as_array()[0].as_object()["runCondition"] = obj(R"({"var":"enabled"})");
    caller.as_object()["steps"].as_array()[0].as_object()["templateCall"].as_object()["args"].as_object()["gate"] =
        obj(R"({"var":"ship","gt":[1]})");
    auto lib = library::load({}, {typed_routine(), caller});
    REQUIRE_FALSE(lib.has_value());
    CHECK(lib.error().details.at("pointer") == "/steps/0/templateCall/args/gate/gt");
    CHECK(lib.error().details.at("expandedPointer") == "/steps/2/runCondition/and/1/gt");
  }
}

TEST_CASE("in prose a whole {arg} is still text: title, prompt, guidance and promptBlocks take any arg as text") {
  auto routine = parse_json(R"({
    "id":"wr.routine-prose","name":"p","description":"d","version":"1",
    "steps":[{"id":"s","title":"{n}","prompt":"{n}","guidance":["{flag}"],
              "promptBlocks":{"goal":"{n}","constraints":["{flag}"]},
              "loop_free_count":"{n}"}]})").value();
  auto caller = parse_json(R"({"id":"uses-prose","name":"n","description":"d","version":"1",
    "steps":[{"id":"job","title":"Job","templateCall":{"templateId":"wr.templates.routine.prose",
                                                       "args":{"n":5,"flag":true}}}]})").value();
  auto lib = library::load({}, {routine, caller});
  if (!lib) FAIL(lib.error().message);
  const auto& step = lib->find("uses-prose")->definition.at("steps").at(0);
  CHECK(step.at("title") == "5");
  CHECK(step.at("prompt") == "5");
  CHECK(step.at("guidance").at(0) == "true");
  CHECK(step.at("promptBlocks").at("goal") == "5");
  CHECK(step.at("promptBlocks").at("constraints").at(0) == "true");
  CHECK(step.at("loop_free_count") == 5);   // not prose (an unknown field here): the JSON value
}
