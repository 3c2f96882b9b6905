// validationCriteria and outputContract: blockers with code, pointer,
// message and suggested fix; passing outputs give no blockers.
#include "workflow_test_support.hpp"

using namespace wf_test;

namespace {

struct at_step {
  const compiled& wf;
  position pos;
  explicit at_step(const compiled& w, std::string_view id) : wf(w), pos(start(*w.prog, {})) {
    while (!pos.complete && step_id_at(*wf.prog, pos.at) != id) pos = advance(*wf.prog, pos.at, {}, nullptr);
    REQUIRE_FALSE(pos.complete);
  }
  std::vector<blocker> check(const json::value& output) const { return check_output(*wf.prog, pos.at, {}, output); }
};

}  // namespace

TEST_CASE("contains / regex / length rules: each failing rule is one blocker") {
  at_step s(fixture_workflow("incident-report-validated"), "timeline");
  auto none = s.check(notes("short"));
  REQUIRE(none.size() == 3);
  CHECK(none[0].code == "VALIDATION_FAILED");
  CHECK(none[0].pointer == "/output/notesMarkdown");
  CHECK(none[0].message == "The notes need a '## Timeline' section.");
  CHECK(none[0].suggested_fix.find("## Timeline") != std::string::npos);
  CHECK(none[1].message == "Give at least one HH:MM UTC timestamp.");
  CHECK(none[2].message == "The timeline should be 40-2000 characters.");

  CHECK(s.check(notes("## Timeline\n- 14:02 UTC alert fired\n- 14:10 UTC rollback")).empty());
  auto case_insensitive = s.check(notes("## Timeline\n- 14:02 utc alert fired, then rollback at once"));
  CHECK(case_insensitive.empty());
  auto too_long = s.check(notes("## Timeline 14:02 UTC " + std::string(3000, 'x')));
  REQUIRE(too_long.size() == 1);
  CHECK(too_long[0].message == "The timeline should be 40-2000 characters.");
  auto no_notes = s.check(nullptr);
  CHECK(no_notes.size() == 3);
}

TEST_CASE("and / or / not compositions with their messages") {
  at_step s(fixture_workflow("incident-report-validated"), "root-cause");
  CHECK(s.check(notes("Root cause: an expired certificate.")).empty());
  CHECK(s.check(notes("Cause: DNS.")).empty());
  auto neither = s.check(notes("It was DNS."));
  REQUIRE(neither.size() == 1);
  CHECK(neither[0].message == "Start the cause with 'Root cause:' or 'Cause:'.");
  auto blame = s.check(notes("Root cause: we BLAME the intern."));
  REQUIRE(blame.size() == 1);
  CHECK(blame[0].message == "Keep the report blameless.");
  CHECK(blame[0].pointer == "/output/notesMarkdown");
}

TEST_CASE("schema rule over an artifact of a kind, with the violation's pointer") {
  at_step s(fixture_workflow("incident-report-validated"), "actions");
  auto missing = s.check(notes("see artifact"));
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].pointer == "/output/artifacts");
  auto out = [](std::string_view artifacts) {
    return json::value(json::object{{"notesMarkdown", "x"}, {"artifacts", parse_json(artifacts).value()}});
  };
  CHECK(s.check(out(R"([{"kind":"note"},{"kind":"action_items","items":[{"owner":"ana","task":"rotate certs"}]}])")).empty());
  auto empty_items = s.check(out(R"([{"kind":"action_items","items":[]}])"));
  REQUIRE(empty_items.size() == 1);
  CHECK(empty_items[0].pointer == "/output/artifacts/0/items");
  CHECK(empty_items[0].message == "Give at least one action item with an owner and a task.");
  auto no_owner = s.check(out(R"([{"kind":"x"},{"kind":"action_items","items":[{"task":"t"}]}])"));
  REQUIRE(no_owner.size() == 1);
  CHECK(no_owner[0].pointer.rfind("/output/artifacts/1/items/0", 0) == 0);
}

TEST_CASE("rules without a message get a generated one, conditions gate rules") {
  auto def = parse_json(R"({
    "id":"v","name":"v","description":"d","version":"1",
    "steps":[{"id":"s","title":"t","prompt":"p","validationCriteria":[
      {"type":"contains","value":"LGTM"},
      {"type":"length","max":5,"condition":{"var":"strict"}},
      {"type":"schema","schema":{"type":"object","required":["artifacts"]}}]}]})");
  REQUIRE(def.has_value());
  auto c = compile(*def);
  REQUIRE(c.has_value());
  auto pos = start(*(*c)->prog, {});
  auto b = check_output(*(*c)->prog, pos.at, {}, notes("nope, too long"));
  REQUIRE(b.size() == 2);
  CHECK(b[0].message == "notesMarkdown must contain \"LGTM\"");
  CHECK(b[1].pointer == "/output/artifacts");   // the missing member
  json::object strict{{"strict", true}};
  auto b2 = check_output(*(*c)->prog, pos.at, strict, notes("nope, too long"));
  REQUIRE(b2.size() == 3);
  CHECK(b2[1].message.find("at most 5") != std::string::npos);
}

TEST_CASE("outputContract: required contract needs a matching artifact kind") {
  const auto& wf = fixture_workflow("test-plan-contract");
  at_step s(wf, "run-tests");
  auto b = s.check(notes("ran them"));
  REQUIRE(b.size() == 1);
  CHECK(b[0].code == "OUTPUT_CONTRACT_MISSING");
  CHECK(b[0].pointer == "/output/artifacts");
  CHECK(b[0].suggested_fix.find("wr.contracts.test_results") != std::string::npos);
  auto with = [](std::string kind) {
    return json::value(json::object{{"artifacts", json::array{json::object{{"kind", kind}, {"passed", 12}}}}});
  };
  CHECK(s.check(with("wr.contracts.test_results")).empty());
  CHECK(s.check(with("test_results")).empty());
  CHECK(s.check(with("coverage")).size() == 1);
  at_step optional(wf, "optional-coverage");
  CHECK(optional.check(notes("no coverage")).empty());
  std::vector<warning> w;
  CHECK(render(*wf.prog, s.pos.at, {}, w).extras.at("outputContract").at("contractRef") == "wr.contracts.test_results");
}

TEST_CASE("outputs of the wrong shape are blockers, not crashes") {
  at_step s(fixture_workflow("incident-report-validated"), "timeline");
  for (const char* bad : {R"("text")", R"([1])", R"(42)", R"({"notesMarkdown": 5})", R"({"artifacts": {}})",
                          R"({"artifacts": [1, "x"]})"}) {
    INFO(bad);
    auto b = s.check(parse_json(bad).value());
    REQUIRE_FALSE(b.empty());
    CHECK(b[0].code == "INVALID_OUTPUT");
    CHECK(b[0].pointer.rfind("/output", 0) == 0);
  }
}

TEST_CASE("validationCriteria definition errors name their pointer") {
  auto err = [](std::string_view criteria) {
    std::string text = R"({"id":"v","name":"v","description":"d","version":"1","steps":[{"id":"s","title":"t","prompt":"p","validationCriteria":)";
    text += criteria;
    text += "}]}";
    auto c = compile_text(text);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::WORKFLOW_INVALID);
    return std::string(c.error().details.at("pointer").as_string());
  };
  CHECK(err(R"(5)") == "/steps/0/validationCriteria");
  CHECK(err(R"([{"type":"nope"}])") == "/steps/0/validationCriteria/0/type");
  CHECK(err(R"([{"type":"contains"}])") == "/steps/0/validationCriteria/0/value");
  CHECK(err(R"([{"type":"regex","pattern":"(("}])") == "/steps/0/validationCriteria/0/pattern");
  CHECK(err(R"({"type":"length","min":5,"max":2})") == "/steps/0/validationCriteria/max");
  CHECK(err(R"({"type":"length","min":-1})") == "/steps/0/validationCriteria/min");
  CHECK(err(R"({"and":[{"type":"contains","value":"x"},{"not":[]}]})") == "/steps/0/validationCriteria/and/1/not");
  CHECK(err(R"({"type":"schema","schema":{"type":"nonsense"}})") == "/steps/0/validationCriteria/schema");
  CHECK(err(R"({"type":"contains","value":"x","message":7})") == "/steps/0/validationCriteria/message");
}
