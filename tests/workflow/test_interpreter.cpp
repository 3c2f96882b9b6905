// Drives every fixture workflow to completion through the interpreter and
// asserts each pending step in order (loops of all four types, nesting,
// artifact-driven loops, body-by-id, confirmation, delegations, cursors).
#include "workflow_test_support.hpp"

using namespace wf_test;

TEST_CASE("while loop: runs while the condition holds, checked before each iteration") {
  const auto& wf = fixture_workflow("bug-fix-while");
  auto t = drive(wf, obj(R"({"bugsRemaining": 2})"), [](const pending_step& p, json::object& ctx) {
    if (p.step_id == "retest") ctx["bugsRemaining"] = ctx["bugsRemaining"].as_int64() - 1;
    return notes("ok");
  });
  CHECK(t.complete);
  CHECK(t.ids == ids{"triage", "fix-bug", "retest", "fix-bug", "retest", "summarize"});
  CHECK(t.steps[1].title == "Fix the next bug (attempt 1)");
  CHECK(t.steps[3].title == "Fix the next bug (attempt 2)");
  CHECK(t.steps[3].prompt == "Fix the most severe remaining bug. 1 bug(s) remain.");
  CHECK(t.steps[0].agent_role == std::optional<std::string>("You are a careful maintainer."));
  CHECK(t.steps[1].extras.at("loops").at(0).at("loopId") == "fix-loop");
  CHECK(t.steps[3].extras.at("loops").at(0).at("iteration") == 2);

  SECTION("false from the start: the body never runs") {
    auto none = drive(wf, obj(R"({"bugsRemaining": "0"})"), nullptr);
    CHECK(none.ids == ids{"triage", "summarize"});
  }
  SECTION("maxIterations is a hard cap, with a warning") {
    auto capped = drive(wf, obj(R"({"bugsRemaining": 99})"), nullptr);
    CHECK(capped.ids.size() == 1 + 5 * 2 + 1);
    CHECK(capped.ids.back() == "summarize");
    CHECK(has_warning(capped, "maxIterations (5)"));
  }
}

TEST_CASE("until loop: the body runs first, then stops once the condition holds") {
  const auto& wf = fixture_workflow("design-doc-until");
  int reviews = 0;
  auto t = drive(wf, obj(R"({"feature": "rate limiting"})"), [&](const pending_step& p, json::object& ctx) {
    if (p.step_id == "review" && ++reviews == 2) ctx["approved"] = " Yes ";   // lenient equality with true
    return notes("ok");
  });
  CHECK(t.ids == ids{"outline", "draft", "review", "draft", "review", "publish"});
  CHECK(t.steps[0].prompt == "Outline the design of rate limiting: goals, non-goals, alternatives.");
  CHECK(t.steps[3].title == "Write draft 2");
  CHECK(t.steps[2].require_confirmation);
  CHECK(t.steps[2].extras.at("confirmationMessage") == "Confirm the review verdict with the user before continuing.");
  CHECK_FALSE(t.steps[1].require_confirmation);

  SECTION("already true: until still runs the body once") {
    auto once = drive(wf, obj(R"({"approved": true})"), nullptr);
    CHECK(once.ids == ids{"outline", "draft", "review", "publish"});
  }
  SECTION("never approved: capped at maxIterations") {
    auto capped = drive(wf, {}, nullptr);
    CHECK(capped.ids == ids{"outline", "draft", "review", "draft", "review", "draft", "review", "publish"});
    CHECK(has_warning(capped, "maxIterations (3)"));
    CHECK(has_warning(capped, "[unset") == false);
    CHECK(capped.steps[0].prompt.find("[unset: feature]") != std::string::npos);
  }
}

TEST_CASE("for loop: literal and variable counts, 1-based iterationVar") {
  const auto& wf = fixture_workflow("perf-passes-for");
  auto t = drive(wf, obj(R"({"passCount": 2})"), nullptr);
  CHECK(t.ids == ids{"measure", "measure", "optimize", "optimize", "report"});
  CHECK(t.steps[0].title == "Measure (run 1)");
  CHECK(t.steps[1].title == "Measure (run 2)");
  CHECK(t.steps[3].title == "Optimization pass 2 of 2");

  SECTION("a numeric string count over the cap stops at maxIterations") {
    auto capped = drive(wf, obj(R"({"passCount": "5"})"), nullptr);
    CHECK(capped.ids == ids{"measure", "measure", "optimize", "optimize", "optimize", "report"});
    CHECK(has_warning(capped, "maxIterations (3)"));
  }
  SECTION("a missing count variable: the loop does not run, with a warning") {
    auto skipped = drive(wf, {}, nullptr);
    CHECK(skipped.ids == ids{"measure", "measure", "report"});
    CHECK(has_warning(skipped, "passCount"));
  }
  SECTION("zero iterations") {
    CHECK(drive(wf, obj(R"({"passCount": 0})"), nullptr).ids == ids{"measure", "measure", "report"});
  }
}

TEST_CASE("forEach loop: itemVar, 0-based indexVar, runCondition on the item") {
  const auto& wf = fixture_workflow("file-review-foreach");
  auto t = drive(wf, obj(R"({"files": [{"path": "src/a.cpp", "risky": false},
                                       {"path": "src/auth.cpp", "risky": "yes"},
                                       {"path": "README.md"}]})"),
                 nullptr);
  CHECK(t.ids == ids{"list-files", "review-file", "review-file", "security-pass", "review-file", "verdict"});
  CHECK(t.steps[1].title == "Review src/a.cpp");
  CHECK(t.steps[2].prompt == "Review src/auth.cpp (file #1, iteration 2) for correctness.");
  CHECK(t.steps[3].title == "Security pass on src/auth.cpp");
  const auto& loop = t.steps[4].extras.at("loops").at(0);
  CHECK(loop.at("index") == 2);
  CHECK(loop.at("total") == 3);
  CHECK(loop.at("item").at("path") == "README.md");

  SECTION("an empty array: no iterations") {
    CHECK(drive(wf, obj(R"({"files": []})"), nullptr).ids == ids{"list-files", "verdict"});
  }
  SECTION("items not an array: no iterations, a warning") {
    auto t2 = drive(wf, obj(R"({"files": "a.cpp"})"), nullptr);
    CHECK(t2.ids == ids{"list-files", "verdict"});
    CHECK(has_warning(t2, "not an array"));
  }
  SECTION("items set by an earlier step are picked up") {
    auto t3 = drive(wf, {}, [](const pending_step& p, json::object& ctx) {
      if (p.step_id == "list-files") ctx["files"] = json::array{json::object{{"path", "x.h"}}};
      return notes("ok");
    });
    CHECK(t3.ids == ids{"list-files", "review-file", "verdict"});
  }
}

TEST_CASE("nested loops: forEach > for > while, with a loop stack in the cursor") {
  const auto& wf = fixture_workflow("migration-nested");
  std::size_t deepest = 0;
  const program& prog = *wf.prog;
  auto t = drive(wf, obj(R"({"modules": ["core", "io"], "leftovers": 1})"),
                 [&](const pending_step& p, json::object& ctx) {
                   if (p.step_id == "fix-leftover") ctx["leftovers"] = 0;
                   if (p.extras.is_object() && p.extras.as_object().contains("loops"))
                     deepest = std::max<std::size_t>(deepest, p.extras.at("loops").as_array().size());
                   return notes("ok");
                 });
  (void)prog;
  CHECK(t.ids == ids{"plan", "migrate", "fix-leftover", "migrate", "module-done", "migrate", "migrate", "module-done",
                     "wrap-up"});
  CHECK(deepest == 3);
  CHECK(t.steps[1].title == "Migrate core (round 1)");
  CHECK(t.steps[2].title == "Fix a leftover in core");
  CHECK(t.steps[6].title == "Migrate io (round 2)");
  CHECK(t.steps[7].title == "Close out io");
  const auto& loops = t.steps[2].extras.at("loops").as_array();
  CHECK(loops[0].at("loopId") == "modules-loop");
  CHECK(loops[1].at("loopId") == "rounds");
  CHECK(loops[2].at("loopId") == "leftovers");
}

TEST_CASE("artifact-driven loop: continues while the last loop_control says continue") {
  const auto& wf = fixture_workflow("refine-artifact-loop");
  auto control = [](std::string decision, bool with_id = true) {
    json::object a{{"kind", "loop_control"}, {"decision", decision}};
    if (with_id) a["loopId"] = "refine-loop";
    return json::value(json::object{{"notesMarkdown", "decided"}, {"artifacts", json::array{a}}});
  };
  int decisions = 0;
  auto t = drive(wf, {}, [&](const pending_step& p, json::object&) {
    if (p.step_id != "decide") return notes("ok");
    ++decisions;
    return control(decisions < 3 ? "continue" : "stop", decisions != 2);
  });
  CHECK(t.ids == ids{"draft", "refine", "decide", "refine", "decide", "refine", "decide", "final"});
  CHECK(t.steps[5].title == "Refine (pass 3)");

  SECTION("always continue: capped at maxIterations") {
    auto capped = drive(wf, {}, [&](const pending_step& p, json::object&) {
      return p.step_id == "decide" ? control("continue") : notes("ok");
    });
    CHECK(std::count(capped.ids.begin(), capped.ids.end(), "refine") == 4);
    CHECK(capped.ids.back() == "final");
    CHECK(has_warning(capped, "maxIterations (4)"));
  }
  SECTION("the decide step's output contract requires the loop_control artifact") {
    auto pos = start(*wf.prog, {});
    pos = advance(*wf.prog, pos.at, {}, notes("draft"));
    pos = advance(*wf.prog, pos.at, {}, notes("refined"));
    REQUIRE(step_id_at(*wf.prog, pos.at) == "decide");
    auto blockers = check_output(*wf.prog, pos.at, {}, notes("no artifact"));
    REQUIRE(blockers.size() == 1);
    CHECK(blockers[0].code == "OUTPUT_CONTRACT_MISSING");
    CHECK(blockers[0].pointer == "/output/artifacts");
    auto bad = check_output(*wf.prog, pos.at, {},
                            json::value(json::object{{"artifacts", json::array{json::object{{"kind", "loop_control"}, {"decision", "maybe"}}}}}));
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].code == "INVALID_LOOP_CONTROL");
    CHECK(bad[0].pointer == "/output/artifacts/0/decision");
    // Advancing without any decision (the engine would have blocked) stops the loop.
    auto after = advance(*wf.prog, pos.at, {}, notes("no artifact"));
    CHECK(step_id_at(*wf.prog, after.at) == "final");
    CHECK(after.warnings.size() == 1);
  }
  SECTION("a decision submitted before the last body step counts") {
    auto pos = start(*wf.prog, {});
    pos = advance(*wf.prog, pos.at, {}, notes("draft"));
    pos = advance(*wf.prog, pos.at, {}, control("stop"));          // at refine
    REQUIRE(step_id_at(*wf.prog, pos.at) == "decide");
    CHECK(pos.at.loops.at(0).last == loop_frame::decision::stop);
    pos = advance(*wf.prog, pos.at, {}, notes("no new decision"));
    CHECK(step_id_at(*wf.prog, pos.at) == "final");
  }
}

TEST_CASE("a loop body given by id runs only inside the loop") {
  const auto& wf = fixture_workflow("poll-body-by-id");
  int checks = 0;
  auto t = drive(wf, {}, [&](const pending_step& p, json::object& ctx) {
    if (p.step_id == "check-status" && ++checks == 2) ctx["jobStatus"] = " DONE ";
    return notes("ok");
  });
  CHECK(t.ids == ids{"kick-off", "check-status", "check-status", "report"});
  CHECK(t.steps[3].prompt == "Report the outcome:  DONE .");
  auto prev = preview(*wf.prog);
  REQUIRE(prev.size() == 3);   // check-status is not a top-level step any more
  CHECK(prev[1].at("body").at(0).at("id") == "check-status");
}

TEST_CASE("conditions fixture: every operator decides which steps run") {
  const auto& wf = fixture_workflow("release-conditions");
  auto ctx = obj(R"({
    "env": "  PROD ", "changes": "12", "coverage": 80, "failures": 2,
    "summary": "feat: x\n\nbreaking: new API", "labels": ["Security", "perf"],
    "branch": "hotfix/login", "tag": "v1.2.3", "region": "EU-WEST",
    "hasMigrations": "yes", "approvals": "3", "signedOff": "YES",
    "owner": {"onCall": true}, "frozen": "no"
  })");
  auto t = drive(wf, ctx, nullptr);
  CHECK(t.ids == ids{"start", "eq-lenient", "neq", "gt", "gte", "lt", "contains-text", "contains-array", "starts",
                     "matches", "in", "truthy", "numeric-string", "bool-yes", "dotted", "done"});
  CHECK(has_warning(t, "could not be evaluated"));   // labels gt 5

  SECTION("the composite gate opens with coverage > 90 and frozen unset") {
    ctx["coverage"] = 95;
    ctx.erase("frozen");
    auto t2 = drive(wf, ctx, nullptr);
    CHECK(std::find(t2.ids.begin(), t2.ids.end(), "and-or-not") != t2.ids.end());
  }
  SECTION("an empty context runs only unconditional steps and not_equals") {
    auto t3 = drive(wf, {}, nullptr);
    CHECK(t3.ids == ids{"start", "neq", "done"});
    CHECK(has_warning(t3, "not set"));   // changes gt 10 with changes unset
  }
}

TEST_CASE("promptBlocks, fragments, guidance, confirmation, extras and delegations render") {
  const auto& wf = fixture_workflow("api-design-blocks");
  auto ctx = obj(R"({"resource": "invoices", "team": "billing", "apiVersion": 2, "style": "camelCase",
                     "needsPagination": true, "legacyClients": "no", "riskLevel": "High"})");
  auto pos = start(*wf.prog, ctx);
  std::vector<warning> w;
  auto p = render(*wf.prog, pos.at, ctx, w);
  CHECK(p.step_id == "design");
  CHECK(p.title == "Design the invoices API");
  CHECK(p.agent_role == std::optional<std::string>("You are an API designer for billing."));
  CHECK(p.prompt ==
        "## Goal\nDesign a REST API for invoices.\n\n"
        "## Constraints\n- Use plural nouns.\n- Version under /v2.\n\n"
        "## Procedure\n1. List the operations.\n2. Define the schemas.\n3. Write the error model.\n\n"
        "## Output required\nAn OpenAPI sketch in the notes.\n\n"
        "## Verify\n- Every operation has an error response.\n\n"
        "Add cursor pagination to list endpoints.");
  REQUIRE(p.guidance.size() == 2);
  CHECK(p.guidance[0] == "Prefer camelCase naming.");
  CHECK(p.guidance[1] == "Unknown: [unset: missing.value]; literal: {{ 1 + 1 }}");
  CHECK(p.require_confirmation);
  CHECK(p.extras.at("askForFiles") == true);
  CHECK(p.extras.at("functionReferences").at(0) == "lookupEndpoint");
  CHECK(p.delegations.empty());

  auto next = advance(*wf.prog, pos.at, ctx, notes("designed"));
  auto q = render(*wf.prog, next.at, ctx, w);
  CHECK(q.step_id == "fan-out");
  CHECK(q.require_confirmation);   // riskLevel "High" equals "high"
  REQUIRE(q.delegations.size() == 2);
  CHECK(q.delegations[0].workflow_id == "design-doc-until");
  CHECK(q.delegations[0].args.at("feature") == "invoices API");
  CHECK(q.delegations[1].args.at("component") == "invoices-service");
  ctx["riskLevel"] = "low";
  CHECK_FALSE(render(*wf.prog, next.at, ctx, w).require_confirmation);
}

TEST_CASE("cursor JSON is compact and round-trips, bad stored cursors are STORE_CORRUPT") {
  cursor c;
  c.step = 3;
  CHECK(json::serialize(c.to_json()) == R"({"s":3})");
  c.loops.push_back({1, 4, loop_frame::decision::proceed});
  c.loops.push_back({0, 0, loop_frame::decision::none});
  CHECK(json::serialize(c.to_json()) == R"({"s":3,"l":[[1,4,1],[0,0,0]]})");
  auto back = cursor::from_json(c.to_json());
  REQUIRE(back.has_value());
  CHECK(*back == c);
  for (const char* bad : {R"(null)", R"([])", R"({})", R"({"s":-1})", R"({"s":1.5})", R"({"s":1,"l":[]})",
                          R"({"s":1,"l":[[1,2]]})", R"({"s":1,"l":[[1,2,3]]})", R"({"s":1,"x":0})",
                          R"({"s":4294967296})", R"({"s":"1"})"}) {
    auto v = parse_json(bad);
    REQUIRE(v.has_value());
    auto r = cursor::from_json(*v);
    INFO(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::STORE_CORRUPT);
    CHECK(r.error().details.at("pointer").is_string());
  }
}

TEST_CASE("cursor canonical text and its fast parser agree with the JSON path") {
  std::vector<cursor> samples(3);
  samples[0].step = 0;
  samples[1].step = 4294967295u;
  samples[1].loops.push_back({7, 12, loop_frame::decision::stop});
  samples[2].step = 2;
  samples[2].loops.push_back({1, 4, loop_frame::decision::proceed});
  samples[2].loops.push_back({0, 0, loop_frame::decision::none});
  // RFC 8785 order: "l" before "s".
  const char* expected[] = {R"({"s":0})", R"({"l":[[7,12,2]],"s":4294967295})", R"({"l":[[1,4,1],[0,0,0]],"s":2})"};
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const cursor& c = samples[i];
    std::string text;
    c.append_canonical(text);
    CHECK(text == expected[i]);
    auto fast = cursor::parse_compact(text);
    REQUIRE(fast.has_value());
    CHECK(*fast == c);
    // The serialize() order ("s" first) that older records hold parses too.
    auto other = cursor::parse_compact(json::serialize(c.to_json()));
    REQUIRE(other.has_value());
    CHECK(*other == c);
  }
  // Anything else is left to the JSON path (which names the error).
  for (const char* odd : {R"({"s": 1})", R"({"s":01})", R"({"s":-1})", R"({"s":1,"l":[]})", R"({"s":1,"l":[[1,2,3]]})",
                          R"({"s":1,"l":[[1,2]]})", R"({"s":1}x)", R"({"s":1,"x":0})", R"({"s":4294967296})", R"( {"s":1})",
                          R"({"l":[[1,2,0]]})", R"({"s":"1"})", ""}) {
    INFO(odd);
    CHECK_FALSE(cursor::parse_compact(odd).has_value());
  }
}

TEST_CASE("a cursor that does not fit the program is an INTERNAL failure, not a crash") {
  const auto& wf = fixture_workflow("bug-fix-while");
  cursor c;
  c.step = 42;
  std::vector<warning> w;
  CHECK_THROWS_AS(render(*wf.prog, c, {}, w), failure);
  CHECK_THROWS_AS(advance(*wf.prog, c, {}, nullptr), failure);
  c.step = 0;
  c.loops.push_back({0, 0, loop_frame::decision::none});   // step 0 is not a loop
  try {
    (void)check_output(*wf.prog, c, {}, nullptr);
    FAIL("expected a failure");
  } catch (const failure& f) {
    CHECK(f.err().code == errc::INTERNAL);
  }
}

TEST_CASE("the interpreter is deterministic: same inputs, same positions") {
  const auto& wf = fixture_workflow("migration-nested");
  auto ctx = obj(R"({"modules": ["a", "b", "c"], "leftovers": 0})");
  auto a = drive(wf, ctx, nullptr);
  auto b = drive(wf, ctx, nullptr);
  CHECK(a.ids == b.ids);
  CHECK(a.ids.size() == 1 + 3 * 3 + 1);
}

TEST_CASE("preview describes every step, nested") {
  const auto& wf = fixture_workflow("migration-nested");
  auto p = preview(*wf.prog);
  REQUIRE(p.size() == 3);
  CHECK(p[1].at("kind") == "loop");
  CHECK(p[1].at("loop").at("type") == "forEach");
  CHECK(p[1].at("body").at(0).at("loop").at("type") == "for");
  CHECK(p[1].at("body").at(0).at("body").at(1).at("body").at(0).at("id") == "fix-leftover");
  CHECK(json::serialize(preview(*wf.prog)) == json::serialize(p));
}
