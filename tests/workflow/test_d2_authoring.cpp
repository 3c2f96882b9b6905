// D2 as an author writes it: definitions in the shapes real workflow files
// use (WorkRail-style promptBlocks, nested loops with every loop type,
// routines called from loop bodies, ...), each asserting the specified
// behaviour, plus D14's "one error naming the first bad field".
#include "workflow_test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

using namespace wf_test;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const compiled> must_compile(std::string_view text, const routine_resolver& r = {}) {
  auto c = compile_text(text, r);
  if (!c) FAIL("did not compile: " << c.error().message);
  return *c;
}

error must_fail(std::string_view text, const routine_resolver& r = {}) {
  auto c = compile_text(text, r);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

std::string pointer_of(const error& e) {
  REQUIRE(e.details.is_object());
  REQUIRE(e.details.as_object().contains("pointer"));
  return std::string(e.details.at("pointer").as_string());
}

std::vector<std::string> warning_pointers(const compiled& c) {
  std::vector<std::string> out;
  for (const auto& w : c.warnings) out.push_back(w.pointer);
  return out;
}

routine_resolver resolver_of(const std::map<std::string, json::value>& m) {
  return [&m](std::string_view id) -> const json::value* {
    auto it = m.find(std::string(id));
    return it == m.end() ? nullptr : &it->second;
  };
}

json::value parsed(std::string_view text) {
  auto v = parse_json(text);
  REQUIRE(v.has_value());
  return *v;
}

// The header every inline definition shares.
std::string wf(std::string_view id, std::string_view steps) {
  return R"({"id":")" + std::string(id) + R"(","name":"n","description":"d","version":"1.0.0","steps":)" +
         std::string(steps) + "}";
}

}  // namespace

TEST_CASE("promptBlocks render goal, constraints, procedure, outputRequired, verify in that order") {
  // Written in reverse order on purpose: the order is the spec's, not the file's.
  auto c = must_compile(wf("blocks", R"([{"id":"s","title":"t","promptBlocks":{
      "verify":["Tests pass."],
      "outputRequired":"A patch.",
      "procedure":["Reproduce.","Fix."],
      "constraints":"No new dependencies.",
      "goal":"Fix {{bug}}."}}])"));
  auto pos = start(*c->prog, {});
  std::vector<warning> w;
  auto p = render(*c->prog, pos.at, obj(R"({"bug":"#12"})"), w);
  CHECK(p.prompt ==
        "## Goal\nFix #12.\n\n## Constraints\nNo new dependencies.\n\n## Procedure\n1. Reproduce.\n2. Fix.\n\n"
        "## Output required\nA patch.\n\n## Verify\n- Tests pass.");
  CHECK(c->warnings.empty());
}

TEST_CASE("promptBlocks.outputRequired as an object of output -> description (as WorkRail files write it)") {
  // WorkRail's authoring reference writes outputRequired as
  // {"notesMarkdown": "Short recap"}; such files must load and render.
  auto c = compile_text(wf("blocks-object", R"([{"id":"triage","title":"Triage","promptBlocks":{
      "goal":"Classify scope and risks.",
      "outputRequired":{"notesMarkdown":"At most 10 lines: scope, {{focus}}.","artifacts":"A test plan."}}}])"));
  REQUIRE(c.has_value());
  auto pos = start(*(*c)->prog, {});
  std::vector<warning> w;
  auto p = render(*(*c)->prog, pos.at, obj(R"({"focus":"hypotheses"})"), w);
  CHECK(p.prompt ==
        "## Goal\nClassify scope and risks.\n\n## Output required\n"
        "- notesMarkdown: At most 10 lines: scope, hypotheses.\n- artifacts: A test plan.");
  // A non-string description is still a type error naming its pointer.
  auto e = must_fail(wf("blocks-bad", R"([{"id":"s","title":"t","promptBlocks":{"outputRequired":{"notesMarkdown":3}}}])"));
  CHECK(pointer_of(e) == "/steps/0/promptBlocks/outputRequired/notesMarkdown");
}

TEST_CASE("promptFragments are appended in order when their `when` holds, loop variables included") {
  auto c = must_compile(wf("fragments", R"([
    {"id":"each","type":"loop","title":"Each","loop":{"type":"forEach","items":"envs","itemVar":"env","maxIterations":5},
     "body":[{"id":"deploy","title":"Deploy to {{env.name}}","prompt":"Deploy.",
       "promptFragments":[
         {"id":"prod","when":{"var":"env.name","equals":"PROD"},"text":"Page {{oncall}} first."},
         {"id":"always","text":"Record the version."},
         {"id":"first","when":{"var":"currentIndex","equals":0},"text":"This is the first environment."}]}]}])"));
  auto t = drive(*c, obj(R"({"envs":[{"name":"staging"},{"name":" prod "}],"oncall":"Ana"})"), nullptr);
  REQUIRE(t.ids == ids{"deploy", "deploy"});
  CHECK(t.steps[0].prompt == "Deploy.\n\nRecord the version.\n\nThis is the first environment.");
  CHECK(t.steps[1].prompt == "Deploy.\n\nPage Ana first.\n\nRecord the version.");
}

TEST_CASE("requireConfirmation as an object: {message, when} and a bare condition") {
  auto c = must_compile(wf("confirm", R"([
    {"id":"a","title":"A","prompt":"p","requireConfirmation":{"message":"Deploy {{service}}?","when":{"var":"risk","in":["high","critical"]}}},
    {"id":"b","title":"B","prompt":"p","requireConfirmation":{"message":"Always ask."}},
    {"id":"c","title":"C","prompt":"p","requireConfirmation":{"not":{"var":"autonomous"}}},
    {"id":"d","title":"D","prompt":"p","requireConfirmation":false}])"));
  auto t = drive(*c, obj(R"({"risk":" Critical","service":"billing","autonomous":"yes"})"), nullptr);
  REQUIRE(t.steps.size() == 4);
  CHECK(t.steps[0].require_confirmation);
  CHECK(t.steps[0].extras.at("confirmationMessage") == "Deploy billing?");
  CHECK(t.steps[1].require_confirmation);
  CHECK(t.steps[1].extras.at("confirmationMessage") == "Always ask.");
  CHECK_FALSE(t.steps[2].require_confirmation);
  CHECK_FALSE(t.steps[3].require_confirmation);
  auto t2 = drive(*c, obj(R"({"risk":"low"})"), nullptr);
  CHECK_FALSE(t2.steps[0].require_confirmation);
  CHECK_FALSE((t2.steps[0].extras.is_object() && t2.steps[0].extras.as_object().contains("confirmationMessage")));
  CHECK(t2.steps[2].require_confirmation);
}

TEST_CASE("an empty condition {} as runCondition or a fragment's when is no condition (as in WorkRail)") {
  auto c = must_compile(wf("empty-conditions", R"([
    {"id":"a","title":"A","prompt":"Do it.","runCondition":{},
     "promptFragments":[{"id":"f","when":{},"text":"Always added."}]},
    {"id":"b","title":"B","prompt":"p","requireConfirmation":{"message":"Sure?","when":{}}}])"));
  CHECK(c->warnings.empty());
  auto t = drive(*c, {}, nullptr);
  REQUIRE(t.ids == ids{"a", "b"});
  CHECK(t.steps[0].prompt == "Do it.\n\nAlways added.");
  CHECK(t.steps[1].require_confirmation);
  CHECK(t.warnings.empty());
}

TEST_CASE("requireConfirmation {} is an empty condition, which holds: confirmation required, with a warning") {
  auto c = must_compile(wf("empty-confirm", R"([{"id":"a","title":"A","prompt":"p","requireConfirmation":{}}])"));
  REQUIRE(c->warnings.size() == 1);
  CHECK(c->warnings[0].pointer == "/steps/0/requireConfirmation");
  auto t = drive(*c, {}, nullptr);
  CHECK(t.steps[0].require_confirmation);
}

TEST_CASE("a while loop on {} runs to its maxIterations, an until loop once, and both are reported") {
  auto c = must_compile(wf("empty-loops", R"([
    {"id":"w","type":"loop","title":"W","loop":{"type":"while","condition":{},"maxIterations":3},
     "body":[{"id":"wb","title":"wb","prompt":"p"}]},
    {"id":"u","type":"loop","title":"U","loop":{"type":"until","condition":{},"maxIterations":3},
     "body":[{"id":"ub","title":"ub","prompt":"p"}]},
    {"id":"f","type":"loop","title":"F","loop":{"type":"while","conditionSource":{"kind":"context_variable","condition":{}},"maxIterations":2},
     "body":[{"id":"fb","title":"fb","prompt":"p"}]}])"));
  REQUIRE(c->warnings.size() == 3);
  CHECK(c->warnings[0].pointer == "/steps/0/loop/condition");
  CHECK(c->warnings[0].message.find("always holds") != std::string::npos);
  CHECK(c->warnings[0].message.find("maxIterations (3)") != std::string::npos);
  CHECK(c->warnings[1].pointer == "/steps/1/loop/condition");
  CHECK(c->warnings[1].message.find("once") != std::string::npos);
  CHECK(c->warnings[2].pointer == "/steps/2/loop/conditionSource/condition");
  auto t = drive(*c, {}, nullptr);
  CHECK(t.ids == ids{"wb", "wb", "wb", "ub", "fb", "fb"});
  CHECK(has_warning(t, "stopped at its maxIterations"));
}

TEST_CASE("conditionSource {kind: context_variable, condition} is the loop's condition (WorkRail's legacy form)") {
  auto c = must_compile(wf("legacy-source", R"([
    {"id":"fix","type":"loop","title":"Fix",
     "loop":{"type":"while","maxIterations":5,"conditionSource":{"kind":"context_variable","condition":{"var":"failing","gt":0}}},
     "body":[{"id":"attempt","title":"Attempt {{currentIteration}}","prompt":"p"}]},
    {"id":"done","title":"Done","prompt":"p"}])"));
  CHECK(c->warnings.empty());
  auto t = drive(*c, obj(R"({"failing":2})"), [](const pending_step&, json::object& ctx) {
    ctx["failing"] = ctx["failing"].to_number<double>() - 1;
    return notes("x");
  });
  CHECK(t.ids == ids{"attempt", "attempt", "done"});
  // Run-time warnings name where the condition is in the file.
  auto u = drive(*c, obj(R"({"failing":{"n":1}})"), nullptr);
  CHECK(u.ids == ids{"done"});
  REQUIRE_FALSE(u.warnings.empty());
  CHECK(u.warnings[0].pointer == "/steps/0/loop/conditionSource/condition/gt");
}

TEST_CASE("conditionSource context_variable: validated like any condition, and agreeing with loop.condition") {
  auto loop = [](std::string_view loop_fields) {
    return wf("cs", R"([{"id":"l","type":"loop","title":"L","loop":{"type":"until","maxIterations":2,)" +
                        std::string(loop_fields) + R"(},"body":[{"id":"b","title":"b","prompt":"p"}]},
                       {"id":"x","title":"x","prompt":"p"}])");
  };
  // The same condition in both places (members in any order) is fine.
  auto same = must_compile(loop(R"("condition":{"var":"ok","equals":true},
      "conditionSource":{"condition":{"equals":true,"var":"ok"},"kind":"context_variable"})"));
  CHECK(drive(*same, obj(R"({"ok":true})"), nullptr).ids == ids{"b", "x"});
  struct row {
    const char* fields;
    const char* pointer;
  };
  for (const row& r : {
           row{R"("condition":{"var":"ok"},"conditionSource":{"kind":"context_variable","condition":{"var":"other"}})",
               "/steps/0/loop/conditionSource/condition"},
           row{R"("conditionSource":{"kind":"context_variable"})", "/steps/0/loop/conditionSource/condition"},
           row{R"("conditionSource":{"kind":"context_variable","condition":"ok"})", "/steps/0/loop/conditionSource/condition"},
           row{R"("conditionSource":{"kind":"context_variable","condition":{"var":"a..b"}})",
               "/steps/0/loop/conditionSource/condition/var"},
           row{R"("conditionSource":{"kind":"context_variable","condition":{"and":[{"var":"a"},{"var":"b","in":1}]}})",
               "/steps/0/loop/conditionSource/condition/and/1/in"},
           row{R"("conditionSource":{"kind":"variable","condition":{"var":"a"}})", "/steps/0/loop/conditionSource/kind"},
           row{R"("condition":{"var":"ok"},"conditionSource":{"kind":"artifact_contract","contractRef":"c"})",
               "/steps/0/loop/conditionSource"},
       }) {
    INFO(r.fields);
    auto e = must_fail(loop(r.fields));
    CHECK(e.code == errc::WORKFLOW_INVALID);
    CHECK(pointer_of(e) == r.pointer);
  }
  // Not on a for loop, as for the artifact form.
  auto e = must_fail(wf("cs-for", R"([{"id":"l","type":"loop","title":"L","loop":{"type":"for","count":2,"maxIterations":2,
      "conditionSource":{"kind":"context_variable","condition":{"var":"a"}}},"body":[{"id":"b","title":"b","prompt":"p"}]}])"));
  CHECK(pointer_of(e) == "/steps/0/loop/conditionSource");
  // Members of the other kind are unknown here: kept, reported.
  auto w = must_compile(loop(R"("conditionSource":{"kind":"context_variable","condition":{"var":"ok"},"loopId":"l"})"));
  CHECK(warning_pointers(*w) == std::vector<std::string>{"/steps/0/loop/conditionSource/loopId"});
}

TEST_CASE("conditionSource context_variable inside a routine: {arg} filled, errors name the file") {
  std::map<std::string, json::value> m{{"wr.routine-poll", parsed(R"({"id":"wr.routine-poll","name":"n","description":"d","version":"1",
    "steps":[{"id":"poll","type":"loop","title":"Poll {what}",
              "loop":{"type":"while","maxIterations":4,"conditionSource":{"kind":"context_variable","condition":{"var":"{flag}"}}},
              "body":[{"id":"check","title":"Check {what}","prompt":"p"}]}]})")}};
  auto c = must_compile(wf("uses-poll", R"([{"id":"ci","title":"CI","templateCall":{"templateId":"wr.templates.routine.poll","args":{"what":"CI","flag":"pending"}}}])"),
                        resolver_of(m));
  CHECK(c->definition.at("steps").at(0).at("loop").at("conditionSource").at("condition").at("var") == "pending");
  int left = 2;
  auto t = drive(*c, obj(R"({"pending":true})"), [&](const pending_step&, json::object& ctx) {
    ctx["pending"] = --left > 0;
    return notes("x");
  });
  CHECK(t.ids == ids{"ci.check", "ci.check"});
  auto e = must_fail(wf("uses-poll", R"([{"id":"ci","title":"CI","templateCall":{"templateId":"wr.templates.routine.poll","args":{"what":"CI","flag":"no way"}}}])"),
                     resolver_of(m));
  CHECK(pointer_of(e) == "/steps/0/templateCall/args/flag");   // the arg that filled the field whole
  CHECK(e.details.at("expandedPointer") == "/steps/0/loop/conditionSource/condition/var");
}

TEST_CASE("for loops: count as a number or as a (dotted) variable name, custom iterationVar") {
  auto c = must_compile(wf("for-count", R"([
    {"id":"lit","type":"loop","title":"L","loop":{"type":"for","count":2,"iterationVar":"pass","maxIterations":9},
     "body":[{"id":"a","title":"a{{pass}}","prompt":"p"}]},
    {"id":"var","type":"loop","title":"V","loop":{"type":"for","count":"plan.rounds","maxIterations":9},
     "body":[{"id":"b","title":"b{{currentIteration}}","prompt":"p"}]}])"));
  auto t = drive(*c, obj(R"({"plan":{"rounds":"3"}})"), nullptr);
  std::vector<std::string> titles;
  for (const auto& s : t.steps) titles.push_back(s.title);
  CHECK(titles == ids{"a1", "a2", "b1", "b2", "b3"});
}

TEST_CASE("count and maxIterations written with a zero fraction (2.0) are integers, 2.5 is not") {
  auto c = must_compile(wf("for-float", R"([
    {"id":"lit","type":"loop","title":"L","loop":{"type":"for","count":2.0,"maxIterations":9.0},
     "body":[{"id":"a","title":"a{{currentIteration}}","prompt":"p"}]}])"));
  auto t = drive(*c, obj("{}"), nullptr);
  std::vector<std::string> titles;
  for (const auto& s : t.steps) titles.push_back(s.title);
  CHECK(titles == ids{"a1", "a2"});
  CHECK(pointer_of(must_fail(wf("for-half", R"([{"id":"l","type":"loop","title":"L",
    "loop":{"type":"for","count":2.5,"maxIterations":9},"body":[{"id":"a","title":"a","prompt":"p"}]}])"))) ==
        "/steps/0/loop/count");
  CHECK(pointer_of(must_fail(wf("max-half", R"([{"id":"l","type":"loop","title":"L",
    "loop":{"type":"for","count":2,"maxIterations":1e300},"body":[{"id":"a","title":"a","prompt":"p"}]}])"))) ==
        "/steps/0/loop/maxIterations");
}

TEST_CASE("nested forEach loops: inner and outer itemVar/indexVar are both visible") {
  auto c = must_compile(wf("matrix", R"([
    {"id":"os-loop","type":"loop","title":"OS","loop":{"type":"forEach","items":"matrix.os","itemVar":"os","indexVar":"i","maxIterations":5},
     "body":[
       {"id":"cc-loop","type":"loop","title":"CC","loop":{"type":"forEach","items":"matrix.cc","itemVar":"cc","indexVar":"j","maxIterations":5},
        "body":[{"id":"build","title":"{{os}}/{{cc}} [{{i}},{{j}}]","prompt":"p",
                 "runCondition":{"not":{"and":[{"var":"os","equals":"windows"},{"var":"cc","equals":"gcc"}]}}}]},
       {"id":"os-done","title":"{{os}} done","prompt":"p"}]}])"));
  auto t = drive(*c, obj(R"({"matrix":{"os":["linux","Windows"],"cc":["gcc","clang"]}})"), nullptr);
  std::vector<std::string> titles;
  for (const auto& s : t.steps) titles.push_back(s.title);
  CHECK(titles == ids{"linux/gcc [0,0]", "linux/clang [0,1]", "linux done", "Windows/clang [1,1]", "Windows done"});
  CHECK(t.steps[0].extras.at("loops").as_array().size() == 2);
}

TEST_CASE("a loop nested in a loop body may take its body by the id of a top-level step") {
  auto c = must_compile(wf("nested-by-id", R"([
    {"id":"start","title":"Start","prompt":"p"},
    {"id":"outer","type":"loop","title":"Outer","loop":{"type":"for","count":2,"maxIterations":3},
     "body":[{"id":"inner","type":"loop","title":"Inner","loop":{"type":"until","condition":{"var":"currentIteration","gte":2},"maxIterations":5},
              "body":"work"}]},
    {"id":"work","title":"Work","prompt":"p"},
    {"id":"end","title":"End","prompt":"p"}])"));
  auto t = drive(*c, {}, nullptr);
  CHECK(t.ids == ids{"start", "work", "work", "work", "work", "end"});
}

TEST_CASE("conditionSource artifact_contract on a nested loop: loopId targets the right loop") {
  auto c = must_compile(wf("review-rounds", R"([
    {"id":"files","type":"loop","title":"Files","loop":{"type":"for","count":2,"maxIterations":2},
     "body":[{"id":"rounds","type":"loop","title":"Rounds",
              "loop":{"type":"until","conditionSource":{"kind":"artifact_contract","contractRef":"wr.contracts.loop_control","loopId":"review-round"},"maxIterations":3},
              "body":[{"id":"review","title":"Review {{currentIteration}}","prompt":"p"}]}]},
    {"id":"done","title":"Done","prompt":"p"}])"));
  int n = 0;
  auto t = drive(*c, {}, [&](const pending_step&, json::object&) {
    // File 1: continue once, then stop. File 2: stop at once.
    const char* d = ++n == 1 ? "continue" : "stop";
    json::object a{{"kind", "wr.loop_control"}, {"loopId", "review-round"}, {"decision", d}};
    return json::value(json::object{{"artifacts", json::array{a}}});
  });
  CHECK(t.ids == ids{"review", "review", "review", "done"});
  CHECK(t.steps[1].title == "Review 2");
}

TEST_CASE("every condition operator, lenient equality and dotted paths decide runCondition") {
  struct row {
    const char* cond;
    bool expected;
  };
  const char* ctx = R"({"rel":{"env":" Production ","build":{"number":"42","tags":["lts","Signed"]}},
                        "flag":"YES","zero":"0","off":"false","ratio":"2.50","name":"release-1.2.0"})";
  for (const row& r : {row{R"({"var":"rel.env","equals":"production"})", true},
                       row{R"({"var":"rel.build.number","equals":42})", true},
                       row{R"({"var":"rel.build.number","equals":"42.0"})", true},
                       row{R"({"var":"ratio","equals":2.5})", true},
                       row{R"({"var":"flag","equals":true})", true},
                       row{R"({"var":"zero","equals":false})", true},
                       row{R"({"var":"off","equals":false})", true},
                       row{R"({"var":"rel.env","not_equals":"staging"})", true},
                       row{R"({"var":"rel.build.number","gt":41})", true},
                       row{R"({"var":"rel.build.number","gte":"42"})", true},
                       row{R"({"var":"rel.build.number","lt":42})", false},
                       row{R"({"var":"ratio","lte":2.5})", true},
                       row{R"({"var":"rel.build.tags","contains":"signed"})", true},
                       row{R"({"var":"name","contains":"1.2"})", true},
                       row{R"({"var":"name","startsWith":"Release-"})", true},
                       row{R"({"var":"name","endsWith":".0"})", true},
                       row{R"({"var":"name","matches":"^release-\\d+\\.\\d+\\.\\d+$"})", true},
                       row{R"({"var":"rel.env","in":["staging","production"]})", true},
                       row{R"({"var":"rel.build.tags.1","equals":"signed"})", true},
                       row{R"({"var":"flag"})", true},
                       row{R"({"var":"zero"})", false},
                       row{R"({"var":"rel.missing"})", false},
                       row{R"({"and":[{"var":"flag"},{"or":[{"var":"zero"},{"not":{"var":"off"}}]}]})", true}}) {
    INFO(r.cond);
    auto c = must_compile(wf("cond", std::string(R"([{"id":"gate","title":"g","prompt":"p","runCondition":)") + r.cond +
                                         R"(},{"id":"end","title":"e","prompt":"p"}])"));
    auto t = drive(*c, obj(ctx), nullptr);
    CHECK((t.ids.front() == "gate") == r.expected);
  }
}

TEST_CASE("a condition that cannot be evaluated is false and reported in warnings") {
  auto c = must_compile(wf("uneval", R"([{"id":"gate","title":"g","prompt":"p","runCondition":{"var":"meta","gt":3}},
                                         {"id":"end","title":"e","prompt":"p"}])"));
  auto t = drive(*c, obj(R"({"meta":{"a":1}})"), nullptr);
  CHECK(t.ids == ids{"end"});
  REQUIRE_FALSE(t.warnings.empty());
  CHECK(t.warnings[0].pointer == "/steps/0/runCondition/gt");
}

TEST_CASE("templating: {{a.b.c}} from context and loop variables, unresolved stays visible") {
  auto c = must_compile(wf("tpl", R"([
    {"id":"l","type":"loop","title":"L","loop":{"type":"forEach","items":"svc","itemVar":"s","maxIterations":3},
     "body":[{"id":"x","title":"{{s.name}} v{{ s.meta.version }}",
              "prompt":"Owner {{team.lead.name}}; {{s.meta.missing}}; {{ not a path }}; {{s.ports.0}}",
              "guidance":["Check {{s.name}} in {{region}}."]}]}])"));
  auto t = drive(*c, obj(R"({"svc":[{"name":"api","meta":{"version":3},"ports":[8080]}],"team":{"lead":{"name":"Bo"}}})"),
                 nullptr);
  REQUIRE(t.steps.size() == 1);
  CHECK(t.steps[0].title == "api v3");
  CHECK(t.steps[0].prompt == "Owner Bo; [unset: s.meta.missing]; {{ not a path }}; 8080");
  CHECK(t.steps[0].guidance == ids{"Check api in [unset: region]."});
}

TEST_CASE("validationCriteria: contains, regex, length, schema, composed with and/or/not, with messages") {
  auto c = must_compile(wf("validate", R"([{"id":"s","title":"t","prompt":"p","validationCriteria":{"and":[
      {"type":"contains","value":"## Summary","message":"Add a summary section."},
      {"or":[{"type":"regex","pattern":"JIRA-\\d+","message":"m1"},{"type":"regex","pattern":"no ticket","flags":"i","message":"m2"}],
       "message":"Reference a ticket or say there is none."},
      {"not":{"type":"contains","value":"TODO"},"message":"Resolve every TODO first."},
      {"type":"length","min":20,"max":200,"message":"Keep it between 20 and 200 characters."},
      {"type":"schema","schema":{"type":"object","properties":{"artifacts":{"type":"array","maxItems":1}}},"message":"At most one artifact."}]}}])"));
  auto at = start(*c->prog, {}).at;
  auto first = [&](std::string text) {
    auto b = check_output(*c->prog, at, {}, notes(std::move(text)));
    return b.empty() ? std::string() : b[0].message;
  };
  CHECK(first("## Summary\nFixes JIRA-12, all good.") == "");
  CHECK(first("## Summary\nNo Ticket for this small fix.") == "");
  CHECK(first("Fixes JIRA-12, all good, honestly.") == "Add a summary section.");
  CHECK(first("## Summary\nFixes the parser bug.") == "Reference a ticket or say there is none.");
  CHECK(first("## Summary\nJIRA-1 TODO: tests") == "Resolve every TODO first.");
  CHECK(first("## Summary JIRA-1") == "Keep it between 20 and 200 characters.");
  // Length counts characters, not bytes: 19 characters in 20 bytes is too short.
  CHECK(first("## Summary JIRA-1 \xC3\xA9") == "Keep it between 20 and 200 characters.");
  auto two = json::object{{"notesMarkdown", "## Summary\nFixes JIRA-12, all good."},
                          {"artifacts", json::array{json::object{{"kind", "a"}}, json::object{{"kind", "b"}}}}};
  auto b = check_output(*c->prog, at, {}, two);
  REQUIRE(b.size() == 1);
  CHECK(b[0].code == "VALIDATION_FAILED");
  CHECK(b[0].message == "At most one artifact.");
  CHECK(b[0].pointer == "/output/artifacts");
}

TEST_CASE("templateCall: routine steps replace the caller, ids prefixed, {arg} filled, {{var}} kept") {
  std::map<std::string, json::value> routines{{"wr.routine-hardening", parsed(R"({
    "id":"wr.routine-hardening","name":"r","description":"d","version":"1.0.0","steps":[
      {"id":"scan","title":"Scan {component}","prompt":"Scan {component} with {tool}; report to {{owner}}.",
       "runCondition":{"var":"scan_{component}","not_equals":false}},
      {"id":"fix-loop","type":"loop","title":"Fix {component}",
       "loop":{"type":"for","count":2,"maxIterations":5},
       "body":[{"id":"fix","title":"Fix round {{currentIteration}} of {rounds}","prompt":"Fix {component}."}]}]})")}};
  auto c = must_compile(wf("uses-hardening", R"([
    {"id":"build","title":"Build","prompt":"p"},
    {"id":"harden","title":"Harden","templateCall":{"templateId":"wr.templates.routine.hardening",
      "args":{"component":"auth","tool":"semgrep","rounds":2}}},
    {"id":"ship","title":"Ship","prompt":"p"}])"),
                        resolver_of(routines));
  auto t = drive(*c, obj(R"({"owner":"Sam"})"), nullptr);
  CHECK(t.ids == ids{"build", "harden.scan", "harden.fix", "harden.fix", "ship"});
  CHECK(t.steps[1].title == "Scan auth");
  CHECK(t.steps[1].prompt == "Scan auth with semgrep; report to Sam.");
  CHECK(t.steps[3].title == "Fix round 2 of 2");
  const auto& steps = c->definition.at("steps").as_array();
  CHECK(steps[2].at("id") == "harden.fix-loop");
  CHECK(steps[2].at("body").at(0).at("id") == "harden.fix");
  CHECK(steps[1].at("runCondition").at("var") == "scan_auth");
  CHECK(json::serialize(c->definition).find("{{owner}}") != std::string::npos);
}

TEST_CASE("templateCall inside a loop body expands there") {
  std::map<std::string, json::value> routines{{"routine-check", parsed(R"({
    "id":"routine-check","name":"r","description":"d","version":"1.0.0","steps":[
      {"id":"lint","title":"Lint {{f}} with {linter}","prompt":"p"}]})")}};
  auto c = must_compile(wf("loop-routine", R"([
    {"id":"each","type":"loop","title":"Each","loop":{"type":"forEach","items":"files","itemVar":"f","maxIterations":5},
     "body":[{"id":"check","title":"c","templateCall":{"templateId":"wr.templates.routine.check","args":{"linter":"clang-tidy"}}}]}])"),
                        resolver_of(routines));
  auto t = drive(*c, obj(R"({"files":["a.cpp","b.cpp"]})"), nullptr);
  CHECK(t.ids == ids{"check.lint", "check.lint"});
  CHECK(t.steps[1].title == "Lint b.cpp with clang-tidy");
}

TEST_CASE("templateCall resolution order: wr.routine-<name>, then routine-<name>, then <name>") {
  auto routine = [](std::string id, std::string title) {
    return parsed(R"({"id":")" + id + R"(","name":"r","description":"d","version":"1","steps":[{"id":"s","title":")" +
                  title + R"(","prompt":"p"}]})");
  };
  const std::string caller =
      wf("caller", R"([{"id":"go","title":"t","templateCall":{"templateId":"wr.templates.routine.triage"}}])");
  std::map<std::string, json::value> all{{"wr.routine-triage", routine("wr.routine-triage", "first")},
                                         {"routine-triage", routine("routine-triage", "second")},
                                         {"triage", routine("triage", "third")}};
  auto title = [&](const std::map<std::string, json::value>& m) {
    auto c = must_compile(caller, resolver_of(m));
    return std::string(c->definition.at("steps").at(0).at("title").as_string());
  };
  CHECK(title(all) == "first");
  all.erase("wr.routine-triage");
  CHECK(title(all) == "second");
  all.erase("routine-triage");
  CHECK(title(all) == "third");
}

TEST_CASE("templateCall errors: missing arg (even in a nested body), routine calling a routine") {
  std::map<std::string, json::value> routines{
      {"wr.routine-deep", parsed(R"({"id":"wr.routine-deep","name":"r","description":"d","version":"1","steps":[
        {"id":"l","type":"loop","title":"L","loop":{"type":"for","count":1,"maxIterations":1},
         "body":[{"id":"x","title":"x","prompt":"Needs {target}."}]}]})")},
      {"wr.routine-calls", parsed(R"({"id":"wr.routine-calls","name":"r","description":"d","version":"1","steps":[
        {"id":"l","type":"loop","title":"L","loop":{"type":"for","count":1,"maxIterations":1},
         "body":[{"id":"x","title":"x","templateCall":{"templateId":"wr.templates.routine.deep","args":{"target":"t"}}}]}]})")}};
  auto e = must_fail(wf("c1", R"([{"id":"a","title":"a","prompt":"p"},
      {"id":"go","title":"t","templateCall":{"templateId":"wr.templates.routine.deep","args":{"other":"x"}}}])"),
                     resolver_of(routines));
  CHECK(e.code == errc::TEMPLATE_ARG_MISSING);
  CHECK(pointer_of(e) == "/steps/1/templateCall/args");
  CHECK(e.details.at("arg") == "target");
  auto n = must_fail(wf("c2", R"([{"id":"go","title":"t","templateCall":{"templateId":"wr.templates.routine.calls"}}])"),
                     resolver_of(routines));
  CHECK(n.code == errc::WORKFLOW_INVALID);
  CHECK(pointer_of(n) == "/steps/0/templateCall/templateId");
}

TEST_CASE("templateCall: unknown fields of the call and of the replaced step are reported, not silently dropped") {
  std::map<std::string, json::value> routines{{"wr.routine-r", parsed(R"({"id":"wr.routine-r","name":"r","description":"d",
      "version":"1","steps":[{"id":"s","title":"t","prompt":"p"}]})")}};
  auto c = must_compile(wf("call-extras", R"([{"id":"go","title":"t","prompt":"lost?","guidance":["lost?"],
      "templateCall":{"templateId":"wr.templates.routine.r","args":{},"version":"2"}}])"),
                        resolver_of(routines));
  const auto pointers = warning_pointers(*c);
  CHECK(std::find(pointers.begin(), pointers.end(), "/steps/0/templateCall/version") != pointers.end());
  CHECK(std::find(pointers.begin(), pointers.end(), "/steps/0/prompt") != pointers.end());
  CHECK(std::find(pointers.begin(), pointers.end(), "/steps/0/guidance") != pointers.end());
}

TEST_CASE("unknown fields at every level are warnings with their pointers, never errors") {
  auto c = must_compile(wf("unknown-everywhere", R"([
    {"id":"a","title":"A","x-step":1,
     "promptBlocks":{"goal":"g","x-block":1},
     "promptFragments":[{"id":"f","text":"t","x-frag":1,"when":{"var":"v","x-cond":1}}],
     "requireConfirmation":{"message":"m","x-confirm":1},
     "outputContract":{"contractRef":"c","required":false,"x-contract":1},
     "validationCriteria":[{"type":"contains","value":"v","x-rule":1}],
     "parallelDelegations":[{"workflowId":"w","x-deleg":1}]},
    {"id":"l","type":"loop","title":"L","x-loop-step":1,
     "loop":{"type":"while","maxIterations":2,"x-loop":1,
             "conditionSource":{"kind":"artifact_contract","contractRef":"c","loopId":"l","x-source":1}},
     "body":[{"id":"b","title":"B","prompt":"p","runCondition":{"and":[{"var":"z","x-nested":1}]}}]}])"));
  CHECK(warning_pointers(*c) ==
        ids{"/steps/0/x-step", "/steps/0/promptBlocks/x-block", "/steps/0/promptFragments/0/x-frag",
            "/steps/0/promptFragments/0/when/x-cond", "/steps/0/requireConfirmation/x-confirm",
            "/steps/0/outputContract/x-contract", "/steps/0/validationCriteria/0/x-rule",
            "/steps/0/parallelDelegations/0/x-deleg", "/steps/1/x-loop-step", "/steps/1/loop/x-loop",
            "/steps/1/loop/conditionSource/x-source", "/steps/1/body/0/runCondition/and/0/x-nested"});
  for (const auto& w : c->warnings) CHECK(w.message.find("x-") != std::string::npos);
}

TEST_CASE("the top-level fields D2 lists are understood, not reported as unknown") {
  auto c = must_compile(R"J({"id":"full","name":"n","description":"d","version":"1.0.0",
      "preconditions":["Repo cloned."],"metaGuidance":["Be brief."],"clarificationPrompts":["Which branch?"],
      "functionDefinitions":[{"name":"fetch","definition":"Fetch a URL."}],
      "recommendedPreferences":{"autonomy":"guided"},"about":"# About","examples":["x"],
      "steps":[{"id":"s","title":"t","prompt":"p","agentRole":"r","guidance":["g"],"askForFiles":false,
                "functionDefinitions":[{"name":"f","definition":"d"}],"functionReferences":["f()"]}]})J");
  CHECK(c->warnings.empty());
}

TEST_CASE("wrong types: one error, the JSON pointer of the first bad field, what was expected") {
  struct row {
    const char* steps;
    const char* pointer;
  };
  for (const row& r : {
           row{R"([{"id":"s","title":"t","prompt":7}])", "/steps/0/prompt"},
           row{R"([{"id":"s","title":"t","promptBlocks":{"goal":{"text":"g"}}}])", "/steps/0/promptBlocks/goal"},
           row{R"([{"id":"s","title":"t","promptFragments":[{"id":"f","text":"t","when":"always"}]}])",
               "/steps/0/promptFragments/0/when"},
           row{R"([{"id":"s","title":"t","askForFiles":"yes"}])", "/steps/0/askForFiles"},
           row{R"([{"id":"s","title":"t","guidance":"one string"}])", "/steps/0/guidance"},
           row{R"([{"id":"s","title":"t","outputContract":{"contractRef":"c","required":"true"}}])",
               "/steps/0/outputContract/required"},
           row{R"([{"id":"l","type":"loop","title":"L","loop":{"type":"for","count":true,"maxIterations":2},"body":[{"id":"b","title":"b"}]}])",
               "/steps/0/loop/count"},
           row{R"([{"id":"l","type":"loop","title":"L","loop":{"type":"forEach","items":"xs","itemVar":7,"maxIterations":2},"body":[{"id":"b","title":"b"}]}])",
               "/steps/0/loop/itemVar"},
           row{R"([{"id":"l","type":"loop","title":"L","loop":{"type":"while","conditionSource":{"kind":"context"},"maxIterations":2},"body":[{"id":"b","title":"b"}]}])",
               "/steps/0/loop/conditionSource/kind"},
           row{R"([{"id":"l","type":"loop","title":"L","loop":{"type":"for","count":1,"maxIterations":2},"body":[{"id":"b","title":5}]}])",
               "/steps/0/body/0/title"},
           row{R"([{"id":"s","title":"t","validationCriteria":[{"type":"length","min":"3"}]}])",
               "/steps/0/validationCriteria/0/min"},
           row{R"([{"id":"s","title":"t","runCondition":{"var":"x","in":"abc"}}])", "/steps/0/runCondition/in"},
       }) {
    INFO(r.steps);
    auto e = must_fail(wf("bad", r.steps));
    CHECK(e.code == errc::WORKFLOW_INVALID);
    CHECK(pointer_of(e) == r.pointer);
    CHECK_FALSE(std::string(e.details.at("expected").as_string()).empty());
    CHECK(e.message.find(r.pointer) != std::string::npos);
  }
  // Top-level fields too.
  auto e = must_fail(R"({"id":"x","name":"n","description":"d","version":"1","metaGuidance":"be brief","steps":[{"id":"s","title":"t"}]})");
  CHECK(pointer_of(e) == "/metaGuidance");
}

TEST_CASE("recursive directory scan: routines in a nested routines/ folder, duplicates name both files") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/d2-scan";
  fs::remove_all(dir);
  fs::create_directories(dir + "/team/a/routines/deep");
  std::ofstream(dir + "/team/a/routines/deep/review.json")
      << R"({"id":"review","name":"r","description":"d","version":"1","steps":[{"id":"s","title":"Review {what}","prompt":"p"}]})";
  std::ofstream(dir + "/team/flow.json")
      << wf("flow", R"([{"id":"r","title":"t","templateCall":{"templateId":"wr.templates.routine.review","args":{"what":"docs"}}}])");
  auto lib = library::load({dir});
  REQUIRE(lib.has_value());
  REQUIRE(lib->list().size() == 1);
  CHECK(lib->find("review")->is_routine);
  CHECK(lib->find("flow")->definition.at("steps").at(0).at("title") == "Review docs");

  std::ofstream(dir + "/team/a/copy.json")
      << wf("flow", R"([{"id":"x","title":"t","prompt":"p"}])");
  auto dup = library::load({dir});
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().code == errc::WORKFLOW_DUPLICATE_ID);
  const std::string first(dup.error().details.at("first").as_string()), second(dup.error().details.at("second").as_string());
  CHECK(((first.ends_with("team/a/copy.json") && second.ends_with("team/flow.json")) ||
         (first.ends_with("team/flow.json") && second.ends_with("team/a/copy.json"))));
  CHECK(dup.error().message.find("copy.json") != std::string::npos);
  CHECK(dup.error().message.find("flow.json") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a loop body that references itself through the body of another loop is WORKFLOW_RECURSIVE") {
  auto e = must_fail(wf("rec", R"([
    {"id":"a","type":"loop","title":"A","loop":{"type":"for","count":1,"maxIterations":1},
     "body":[{"id":"inner","type":"loop","title":"I","loop":{"type":"for","count":1,"maxIterations":1},"body":"b"}]},
    {"id":"b","type":"loop","title":"B","loop":{"type":"for","count":1,"maxIterations":1},"body":"a"},
    {"id":"c","title":"C","prompt":"p"}])"));
  CHECK(e.code == errc::WORKFLOW_RECURSIVE);
  CHECK(pointer_of(e).ends_with("/body"));
}

TEST_CASE("a workflow file saved with a UTF-8 byte order mark loads (editors on Windows write one)") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/d2-bom";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/bom.json", std::ios::binary) << "\xEF\xBB\xBF" << wf("with-bom", R"([{"id":"s","title":"t","prompt":"p"}])");
  auto lib = library::load({dir});
  if (!lib) FAIL(lib.error().message);
  CHECK(lib->find("with-bom") != nullptr);
  // Only a leading BOM is tolerated: anything else that is not JSON still fails, naming the file.
  std::ofstream(dir + "/bom.json", std::ios::binary) << "\xEF\xBB\xBF\xEF\xBB\xBF{}";
  auto bad = library::load({dir});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().details.at("file").as_string().ends_with("bom.json"));
  fs::remove_all(dir);
}

TEST_CASE("unknown fields of a function definition are reported too") {
  auto c = must_compile(R"J({"id":"fd","name":"n","description":"d","version":"1",
      "functionDefinitions":[{"name":"fetch","definition":"Fetch a URL.","scope":"workflow",
                              "parameters":[{"name":"url","type":"string","required":true}],"returns":"text"}],
      "steps":[{"id":"s","title":"t","prompt":"p","functionDefinitions":[{"name":"f","definition":"d","x-note":1}]}]})J");
  CHECK(warning_pointers(*c) == ids{"/functionDefinitions/0/returns", "/steps/0/functionDefinitions/0/x-note"});
}

TEST_CASE("a standard step with a type D2 does not define (WorkRail's \"parallel\") loads with a warning") {
  // WorkRail's own workflows mark delegation steps {"type": "parallel",
  // "parallelDelegations": [...]}. For a standard step `type` is not a D2
  // field: kept, ignored, reported - the file must still load.
  auto c = must_compile(wf("parallel-type", R"([
    {"id":"fan-out","title":"Review in parallel","type":"parallel","prompt":"Run the reviewers.",
     "parallelDelegations":[{"workflowId":"wr.routine-design-review","modelTier":"lightweight","args":{"deliverableName":"a.md"}}]},
    {"id":"end","title":"End","prompt":"p"}])"));
  CHECK(warning_pointers(*c) == ids{"/steps/0/type", "/steps/0/parallelDelegations/0/modelTier"});
  auto t = drive(*c, {}, nullptr);
  CHECK(t.ids == ids{"fan-out", "end"});
  REQUIRE(t.steps[0].delegations.size() == 1);
  CHECK(t.steps[0].delegations[0].workflow_id == "wr.routine-design-review");
  // A type that is not a string is still a wrong type: one error naming it.
  auto e = must_fail(wf("bad-type", R"([{"id":"s","title":"t","type":7}])"));
  CHECK(pointer_of(e) == "/steps/0/type");
}

TEST_CASE("procedure items that carry their own numbers (as WorkRail files write them) are not numbered twice") {
  auto c = must_compile(wf("numbered", R"([{"id":"s","title":"t","promptBlocks":{
      "procedure":["1. Look at the task.","2. Classify it.","Then report.","10) Done."]}}])"));
  std::vector<warning> w;
  auto p = render(*c->prog, start(*c->prog, {}).at, {}, w);
  CHECK(p.prompt == "## Procedure\n1. Look at the task.\n2. Classify it.\n3. Then report.\n10) Done.");
}

TEST_CASE("a workflow in the shape WorkRail's current files use loads and runs end to end") {
  // Written for this test in the style of WorkRail's shipped workflows:
  // extra top-level fields, outputRequired objects, self-numbered
  // procedures, "type": "parallel" delegation steps, an artifact loop whose
  // loopId differs from its step id, a forEach with custom variables.
  auto c = must_compile(R"({
    "id":"wr.sample-task","name":"Sample","version":"1.2.0","description":"d","about":"## About",
    "examples":["Add pagination"],"recommendedPreferences":{"recommendedAutonomy":"guided"},
    "metricsProfile":"coding","features":["wr.features.subagent_guidance"],
    "assessments":[{"id":"gate","dimensions":[]}],
    "steps":[
      {"id":"classify","title":"Classify","promptBlocks":{"goal":"Classify the task.",
        "procedure":["1. Read the task.","2. Classify it."],
        "outputRequired":{"taskComplexity":"Small / Large","slices":"Array of slices"}},
       "requireConfirmation":{"or":[{"var":"taskComplexity","equals":"Large"},{"var":"riskLevel","equals":"High"}]}},
      {"id":"review-loop","type":"loop","title":"Review","runCondition":{"var":"taskComplexity","not_equals":"Small"},
       "loop":{"type":"while","conditionSource":{"kind":"artifact_contract","contractRef":"wr.contracts.loop_control","loopId":"review_loop"},"maxIterations":2},
       "body":[
         {"id":"fan-out","title":"Reviewers","type":"parallel","requireConfirmation":false,
          "parallelDelegations":[{"workflowId":"wr.routine-design-review","modelTier":"mid","args":{"deliverableName":"r.md"}}]},
         {"id":"decide","title":"Decide","promptBlocks":{"goal":"Continue or stop?","outputRequired":{"notesMarkdown":"Why"}},
          "outputContract":{"contractRef":"wr.contracts.loop_control"}}]},
      {"id":"slices","type":"loop","title":"Slices","loop":{"type":"forEach","items":"slices","itemVar":"currentSlice","indexVar":"sliceIndex","maxIterations":20},
       "body":[{"id":"implement","title":"Implement {{currentSlice.name}}","promptBlocks":{"goal":"Implement `{{currentSlice.name}}` (slice {{sliceIndex}})."},
                "assessmentRefs":["gate"],"verification":{"cognitive":true}}]}
    ],
    "validatedAgainstSpecVersion":4})");
  CHECK_FALSE(c->warnings.empty());   // the extra fields, reported
  int decisions = 0;
  auto t = drive(*c, obj(R"({"taskComplexity":" large ","slices":[{"name":"api"},{"name":"ui"}]})"),
                 [&](const pending_step& p, json::object&) -> json::value {
                   if (p.step_id != "decide") return notes("ok");
                   json::object a{{"kind", "wr.loop_control"}, {"loopId", "review_loop"},
                                  {"decision", ++decisions == 1 ? "continue" : "stop"}};
                   return json::object{{"notesMarkdown", "x"}, {"artifacts", json::array{a}}};
                 });
  CHECK(t.complete);
  CHECK(t.ids == ids{"classify", "fan-out", "decide", "fan-out", "decide", "implement", "implement"});
  CHECK(t.steps[0].require_confirmation);
  CHECK(t.steps[0].prompt ==
        "## Goal\nClassify the task.\n\n## Procedure\n1. Read the task.\n2. Classify it.\n\n"
        "## Output required\n- taskComplexity: Small / Large\n- slices: Array of slices");
  CHECK(t.steps[1].delegations.size() == 1);
  CHECK(t.steps[6].prompt == "## Goal\nImplement `ui` (slice 1).");
}

TEST_CASE("after templateCall expansion, unknown-field warnings name the file's pointers, as errors do") {
  std::map<std::string, json::value> routines{{"wr.routine-r", parsed(R"({"id":"wr.routine-r","name":"r","description":"d",
      "version":"1","steps":[{"id":"s","title":"t","prompt":"p"},{"id":"s2","title":"t","prompt":"p","x-in-routine":1}]})")}};
  auto c = must_compile(wf("w", R"([{"id":"go","title":"t","templateCall":{"templateId":"wr.templates.routine.r"}},
      {"id":"b","title":"t","prompt":"p","x-extra":1}])"),
                        resolver_of(routines));
  // The file has "b" at /steps/1 (the pinned definition at /steps/2); a
  // field inside the routine is reported at the call, naming where it is.
  CHECK(warning_pointers(*c) == ids{"/steps/0/templateCall", "/steps/1/x-extra"});
  CHECK(c->warnings[0].message.find("x-in-routine") != std::string::npos);
  CHECK(c->warnings[0].message.find("/steps/1/x-in-routine") != std::string::npos);
  // Without a templateCall nothing is remapped.
  auto plain = must_compile(wf("p", R"([{"id":"a","title":"t","prompt":"p"},{"id":"b","title":"t","prompt":"p","x-extra":1}])"));
  CHECK(warning_pointers(*plain) == ids{"/steps/1/x-extra"});
}

TEST_CASE("promptBlocks values may be arrays of prompt parts, and a ref part renders as a visible marker") {
  // WorkRail's promptBlocks take "prompt values": a string, or an array of
  // parts {kind: "text", text} / {kind: "ref", refId}. A ref names a snippet
  // of WorkRail's own registry, which this engine does not have.
  auto c = must_compile(wf("parts", R"([{"id":"s","title":"t","promptBlocks":{
      "goal":[{"kind":"text","text":"Decide "},{"kind":"text","text":"carefully."}],
      "constraints":[[{"kind":"ref","refId":"wr.refs.some_rule"}],"Stay in scope.",
                     [{"kind":"text","text":"Cite "},{"kind":"text","text":"sources."}]],
      "procedure":["Read.",[{"kind":"text","text":"Write."}]]}}])"));
  std::vector<warning> w;
  auto p = render(*c->prog, start(*c->prog, {}).at, {}, w);
  CHECK(p.prompt == "## Goal\nDecide carefully.\n\n## Constraints\n- [ref: wr.refs.some_rule]\n- Stay in scope.\n"
                    "- Cite sources.\n\n## Procedure\n1. Read.\n2. Write.");
  REQUIRE(c->warnings.size() == 1);
  CHECK(c->warnings[0].pointer == "/steps/0/promptBlocks/constraints/0/0");
  CHECK(c->warnings[0].message.find("wr.refs.some_rule") != std::string::npos);
  // A goal that is an array of strings is still a bullet list.
  auto bullets = must_compile(wf("bullets", R"([{"id":"s","title":"t","promptBlocks":{"goal":["a","b"]}}])"));
  auto q = render(*bullets->prog, start(*bullets->prog, {}).at, {}, w);
  CHECK(q.prompt == "## Goal\n- a\n- b");
  // A malformed part is one error naming it.
  CHECK(pointer_of(must_fail(wf("bad-kind", R"([{"id":"s","title":"t","promptBlocks":{
      "constraints":[[{"kind":"snippet","refId":"x"}]]}}])"))) == "/steps/0/promptBlocks/constraints/0/0/kind");
  CHECK(pointer_of(must_fail(wf("no-ref", R"([{"id":"s","title":"t","promptBlocks":{
      "constraints":[[{"kind":"ref"}]]}}])"))) == "/steps/0/promptBlocks/constraints/0/0/refId");
  CHECK(pointer_of(must_fail(wf("bare-part", R"([{"id":"s","title":"t","promptBlocks":{
      "constraints":[{"kind":"text","text":"x"}]}}])"))) == "/steps/0/promptBlocks/constraints/0");
}

TEST_CASE("requireConfirmation as an object of another shape means confirm, as WorkRail's truthiness does") {
  // WorkRail renders requireConfirmation as Boolean(value); real files write
  // e.g. {"kind": "..."} to mean "a human approves this step".
  auto c = must_compile(wf("confirm-kind", R"([
    {"id":"a","title":"A","prompt":"p","requireConfirmation":{"kind":"sign_off"}},
    {"id":"b","title":"B","prompt":"p"}])"));
  CHECK(warning_pointers(*c) == std::vector<std::string>{"/steps/0/requireConfirmation/kind", "/steps/0/requireConfirmation"});
  auto t = drive(*c, {}, nullptr);
  REQUIRE(t.ids == ids{"a", "b"});
  CHECK(t.steps[0].require_confirmation);
  CHECK_FALSE(t.steps[1].require_confirmation);
  // Our own {message, when} shape still needs its message when `when` is given.
  CHECK(pointer_of(must_fail(wf("when-only", R"([{"id":"a","title":"A","prompt":"p",
      "requireConfirmation":{"when":{"var":"x"}}}])"))) == "/steps/0/requireConfirmation/message");
}

TEST_CASE("WorkRail's notesOptional and hasValidation flags are known fields, and requireConfirmation on a loop says it has no effect") {
  auto c = must_compile(wf("flags", R"([
    {"id":"a","title":"A","prompt":"p","notesOptional":true,"hasValidation":false},
    {"id":"l","type":"loop","title":"L","requireConfirmation":true,
     "loop":{"type":"for","count":1,"maxIterations":1},"body":[{"id":"b","title":"B","prompt":"p"}]}])"));
  REQUIRE(c->warnings.size() == 1);
  CHECK(c->warnings[0].pointer == "/steps/1/requireConfirmation");
  CHECK(c->warnings[0].message.find("no effect") != std::string::npos);
  auto t = drive(*c, {}, nullptr);
  CHECK(t.ids == ids{"a", "b"});
  // They are booleans in WorkRail's schema too: anything else is one error naming the field.
  CHECK(pointer_of(must_fail(wf("bad-flag", R"([{"id":"a","title":"A","prompt":"p","notesOptional":"yes"}])"))) ==
        "/steps/0/notesOptional");
}
