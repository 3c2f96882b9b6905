// Bad input (D14) to the definition parser and the interpreter: malformed
// JSON, wrong types everywhere, 10,000-deep nesting, 10 MB strings, empty
// strings, random bytes, random mutations of real fixtures. Each gives an
// error as data (with a pointer where a field is at fault), never a crash.
#include "workflow_test_support.hpp"

#include <random>

using namespace wf_test;

namespace {

const std::vector<std::string>& fixture_files() {
  static const std::vector<std::string> files = {
      "workflows/loop-while.json",      "workflows/loop-until.json",       "workflows/loop-for.json",
      "workflows/loop-foreach.json",    "workflows/nested-loops.json",     "workflows/conditions.json",
      "workflows/validation.json",      "workflows/output-contract.json",  "workflows/prompt-blocks.json",
      "workflows/artifact-loop.json",   "workflows/body-by-id.json",       "workflows/uses-routine.json",
      "workflows/routines/code-review-routine.json"};
  return files;
}

const json::value* resolve(std::string_view id) {
  static const json::value routine_fixture = read_fixture("workflows/routines/code-review-routine.json");
  return id == "wr.routine-code-review" ? &routine_fixture : nullptr;
}

void expect_error_with_pointer(const result<std::shared_ptr<const compiled>>& r) {
  REQUIRE_FALSE(r.has_value());
  const auto code = r.error().code;
  CHECK(static_cast<int>(code) / 1000 == 3);
  if (code == errc::WORKFLOW_INVALID || code == errc::WORKFLOW_DANGLING_REF || code == errc::WORKFLOW_RECURSIVE ||
      code == errc::TEMPLATE_ARG_MISSING) {
    REQUIRE(r.error().details.is_object());
    CHECK(r.error().details.at("pointer").is_string());
    CHECK(r.error().details.at("expected").is_string());
  }
}

// Visits every value of a document with its JSON pointer.
void each_pointer(const json::value& v, const std::string& p, std::vector<std::string>& out) {
  out.push_back(p);
  if (v.is_object())
    for (const auto& m : v.get_object()) each_pointer(m.value(), p + "/" + std::string(m.key()), out);
  else if (v.is_array())
    for (std::size_t i = 0; i < v.get_array().size(); ++i) each_pointer(v.get_array()[i], p + "/" + std::to_string(i), out);
}

json::value* at_pointer(json::value& root, const std::string& p) {
  boost::system::error_code ec;
  return root.find_pointer(p, ec);
}

// Exercises the interpreter on a compiled workflow with a hostile context.
void run_briefly(const compiled& wf, const json::object& ctx) {
  position pos = start(*wf.prog, ctx);
  for (int i = 0; i < 60 && !pos.complete; ++i) {
    std::vector<warning> w;
    (void)render(*wf.prog, pos.at, ctx, w);
    (void)check_output(*wf.prog, pos.at, ctx, notes(std::string(i, 'x')));
    json::object ctl{{"kind", "loop_control"}, {"decision", i % 3 ? "continue" : "stop"}};
    pos = advance(*wf.prog, pos.at, ctx, json::object{{"artifacts", json::array{ctl}}});
  }
}

}  // namespace

TEST_CASE("malformed JSON text gives parse errors") {
  for (const char* text : {"", " ", "{", "}", "[1,]", "{\"id\":}", "nul", "\"unterminated", "{'id':'x'}",
                           "{\"a\":1} trailing", "\xff\xfe{}"}) {
    INFO(text);
    auto r = compile_text(text);
    REQUIRE_FALSE(r.has_value());
    CHECK((r.error().code == errc::INVALID_JSON || r.error().code == errc::INVALID_UTF8));
  }
}

TEST_CASE("JSON values that are not definitions") {
  for (const char* text : {"null", "true", "0", "\"\"", "[]", "{}", "[{\"id\":\"x\"}]"}) {
    INFO(text);
    auto r = compile_text(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::WORKFLOW_INVALID);
  }
  CHECK(compile_text("{}").error().details.at("pointer") == "/id");
  CHECK(compile_text("7").error().details.at("pointer") == "");
}

TEST_CASE("wrong types at every field of every fixture: an error naming that field or a warning") {
  const std::vector<json::value> wrong = {json::value(nullptr), json::value(true), json::value(-1),
                                          json::value(1.5),     json::value(""),   json::value(json::array{}),
                                          json::value(json::object{})};
  std::size_t errors = 0, accepted = 0;
  for (const auto& file : fixture_files()) {
    const json::value original = read_fixture(file);
    std::vector<std::string> pointers;
    each_pointer(original, "", pointers);
    for (const auto& p : pointers) {
      if (p.empty()) continue;
      for (const auto& w : wrong) {
        json::value doc = original;
        json::value* target = at_pointer(doc, p);
        REQUIRE(target != nullptr);
        if (*target == w) continue;
        *target = w;
        auto r = compile(doc, resolve);
        if (r.has_value()) {
          ++accepted;
          run_briefly(**r, {});
          continue;
        }
        ++errors;
        INFO(file << " " << p << " = " << json::serialize(w) << ": " << r.error().message);
        expect_error_with_pointer(r);
        if (r.error().details.is_object() && r.error().details.as_object().contains("pointer") &&
            r.error().code == errc::WORKFLOW_INVALID) {
          // The error names the mutated field or something on its path or
          // below it (e.g. "/steps/0/id" when /steps/0 became {}) - or a
          // field that referred to it (a body id that no longer exists).
          const std::string ep(r.error().details.at("pointer").as_string());
          const bool related = p.rfind(ep, 0) == 0 || ep.rfind(p, 0) == 0;
          if (!related) WARN("error elsewhere: " << ep);
          CHECK((related || r.error().code != errc::WORKFLOW_INVALID));
        }
      }
    }
  }
  CHECK(errors > 500);
  CHECK(accepted > 50);   // e.g. unknown fields, free-form arrays like examples
}

TEST_CASE("10,000-deep nesting: refused by the parser, or bounded in memory") {
  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  auto r = compile_text(deep);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::NESTING_TOO_DEEP);

  auto base = read_fixture("workflows/loop-while.json");
  json::value nested = json::object{{"var", "x"}};
  for (int i = 0; i < 10000; ++i) nested = json::object{{"not", std::move(nested)}};
  {
    auto d = base;
    d.as_object()["steps"].as_array()[0].as_object()["runCondition"] = nested;
    auto c = compile(d);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().details.at("expected") == "JSON nested at most 128 levels deep");
    CHECK(std::string(c.error().details.at("pointer").as_string()).rfind("/steps/0/runCondition/not/not", 0) == 0);
  }
  {
    // 100 levels pass the depth check; the condition checker's own limit answers.
    json::value c100 = json::object{{"var", "x"}};
    for (int i = 0; i < 100; ++i) c100 = json::object{{"not", std::move(c100)}};
    auto d = base;
    d.as_object()["steps"].as_array()[0].as_object()["runCondition"] = std::move(c100);
    auto c = compile(d);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().details.at("expected") == "conditions nested at most 32 deep");
  }
  {
    auto d = base;
    json::value rules = json::object{{"type", "contains"}, {"value", "x"}};
    for (int i = 0; i < 10000; ++i) rules = json::object{{"not", std::move(rules)}};
    d.as_object()["steps"].as_array()[0].as_object()["validationCriteria"] = std::move(rules);
    auto c = compile(d);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::WORKFLOW_INVALID);
  }
  {
    // Deep JSON even under an unknown field is refused (nothing recurses over it).
    auto d = base;
    json::value arr = json::array{};
    for (int i = 0; i < 10000; ++i) arr = json::array{std::move(arr)};
    d.as_object()["x-extra"] = std::move(arr);
    auto c = compile(d);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::WORKFLOW_INVALID);
    CHECK(c.error().details.at("expected") == "JSON nested at most 128 levels deep");
    CHECK(std::string(c.error().details.at("pointer").as_string()).rfind("/x-extra/0/0/0", 0) == 0);
    // 100 levels are fine (kept, with a warning for the unknown field).
    json::value ok = json::array{};
    for (int i = 0; i < 100; ++i) ok = json::array{std::move(ok)};
    d.as_object()["x-extra"] = std::move(ok);
    auto c2 = compile(d);
    REQUIRE(c2.has_value());
    CHECK((*c2)->warnings.size() == 1);
  }
  {
    json::value steps = json::array{json::object{{"id", "s"}, {"title", "t"}}};
    for (int i = 0; i < 10000; ++i) steps = json::array{std::move(steps)};
    auto d = base;
    d.as_object()["steps"] = std::move(steps);
    auto c = compile(d);
    REQUIRE_FALSE(c.has_value());
    CHECK(std::string(c.error().details.at("pointer").as_string()).rfind("/steps/0/0", 0) == 0);
  }
}

TEST_CASE("10 MB strings: fine as text, refused as ids") {
  const std::string huge(10u << 20, 'a');
  auto d = read_fixture("workflows/loop-while.json");
  auto& step0 = d.as_object()["steps"].as_array()[0].as_object();
  step0["prompt"] = huge + " {{bugsRemaining}}";
  auto c = compile(d);
  REQUIRE(c.has_value());
  auto pos = start(*(*c)->prog, {});
  std::vector<warning> w;
  auto p = render(*(*c)->prog, pos.at, json::object{{"bugsRemaining", 3}}, w);
  CHECK(p.prompt.size() == huge.size() + 2);

  step0["id"] = huge;
  auto bad = compile(d);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().details.at("pointer") == "/steps/0/id");
  CHECK(bad.error().message.size() < 1000);   // the error does not echo the 10 MB

  auto d2 = read_fixture("workflows/loop-while.json");
  d2.as_object()["id"] = huge;
  CHECK(compile(d2).error().details.at("pointer") == "/id");
  auto d3 = read_fixture("workflows/loop-while.json");
  d3.as_object()["steps"].as_array()[1].as_object()["loop"].as_object()["condition"] =
      json::object{{"var", "x"}, {"matches", huge}};
  CHECK(compile(d3).error().details.at("pointer") == "/steps/1/loop/condition/matches");

  // 10 MB of notes through the validation rules (regex included).
  const auto& val = fixture_workflow("incident-report-validated");
  auto vpos = start(*val.prog, {});
  auto blockers = check_output(*val.prog, vpos.at, {}, notes("## Timeline 10:00 UTC " + huge));
  REQUIRE(blockers.size() == 1);   // only the length rule
  CHECK(blockers[0].message == "The timeline should be 40-2000 characters.");
}

TEST_CASE("empty strings where names are expected") {
  auto base = read_fixture("workflows/loop-foreach.json");
  struct c {
    const char* pointer;
  };
  for (const char* p : {"/id", "/steps/0/id", "/steps/1/loop/items", "/steps/1/loop/itemVar", "/steps/1/body/1/runCondition/var"}) {
    auto d = base;
    *at_pointer(d, p) = "";
    auto r = compile(d);
    INFO(p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().details.at("pointer") == p);
  }
  auto d = base;
  *at_pointer(d, "/steps/0/prompt") = "";
  *at_pointer(d, "/steps/0/title") = "";
  CHECK(compile(d).has_value());   // empty text is allowed
}

TEST_CASE("random bytes and random JSON never crash the compiler") {
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 200, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() % 256);
    auto r = compile_text(bytes);
    CHECK_FALSE(r.has_value());
  }
  // Random structural mutations of real fixtures: swap subtrees around.
  std::vector<json::value> docs;
  for (const auto& f : fixture_files()) docs.push_back(read_fixture(f));
  std::size_t ok = 0;
  for (int i = 0; i < 3000; ++i) {
    json::value doc = docs[rng() % docs.size()];
    std::vector<std::string> ptrs;
    each_pointer(doc, "", ptrs);
    const json::value& donor = docs[rng() % docs.size()];
    std::vector<std::string> donor_ptrs;
    each_pointer(donor, "", donor_ptrs);
    for (int k = 0; k < 3; ++k) {
      const std::string& p = ptrs[1 + rng() % (ptrs.size() - 1)];
      json::value* target = at_pointer(doc, p);
      if (!target) continue;
      json::value copy = donor;
      *target = *at_pointer(copy, donor_ptrs[rng() % donor_ptrs.size()]);
    }
    auto r = compile(doc, resolve);
    if (r.has_value()) {
      ++ok;
      run_briefly(**r, obj(R"({"files":[{"path":"a"}],"modules":["m"],"passCount":2,"bugsRemaining":1})"));
    } else {
      expect_error_with_pointer(r);
    }
  }
  CHECK(ok > 0);
}

TEST_CASE("loops that never reach a runnable step are cut off, not spun for hours") {
  // Three nested loops of 1,000,000 iterations whose only step is always skipped.
  auto d = parse_json(R"({"id":"spin","name":"n","description":"d","version":"1","steps":[
    {"id":"a","type":"loop","title":"a","loop":{"type":"while","condition":{"var":"go"},"maxIterations":1000000},"body":[
      {"id":"b","type":"loop","title":"b","loop":{"type":"for","count":1000000,"maxIterations":1000000},"body":[
        {"id":"c","type":"loop","title":"c","loop":{"type":"until","condition":{"var":"never"},"maxIterations":1000000},"body":[
          {"id":"skipped","title":"s","prompt":"p","runCondition":{"var":"never"}}]}]}]},
    {"id":"after","title":"after","prompt":"p"},
    {"id":"again","type":"loop","title":"again","loop":{"type":"for","count":5,"maxIterations":5},"body":[
      {"id":"inside","title":"i","prompt":"p"}]}]})");
  REQUIRE(d.has_value());
  auto c = compile(*d);
  REQUIRE(c.has_value());
  json::object ctx{{"go", true}};
  auto pos = start(*(*c)->prog, ctx);
  REQUIRE_FALSE(pos.complete);
  CHECK(step_id_at(*(*c)->prog, pos.at) == "after");
  bool cut = false;
  for (const auto& w : pos.warnings) cut = cut || w.message.find("remaining loops are left") != std::string::npos;
  CHECK(cut);
  // The next advance has a fresh budget: the following loop runs normally.
  pos = advance(*(*c)->prog, pos.at, ctx, nullptr);
  CHECK(step_id_at(*(*c)->prog, pos.at) == "inside");
  CHECK(pos.at.loops.size() == 1);
}
