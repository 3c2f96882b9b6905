// Golden-file tests of the text-first rendering: every
// tests/fixtures/render/<operation>.<case>.json is a response; its rendering
// must equal <operation>.<case>.md byte for byte. Set
// TOKENRAIL_UPDATE_GOLDENS=1 to rewrite the goldens (then review the diff).
#include <tokenrail/host/render.hpp>
#include <tokenrail/json_parse.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using tokenrail::host::pretty_json;
using tokenrail::host::render_error;
using tokenrail::host::render_response;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> golden_inputs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(TOKENRAIL_FIXTURES) / "render")) {
    if (e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

boost::json::value parse(std::string_view text) {
  auto r = tokenrail::parse_json(text);
  REQUIRE(r.has_value());
  return r.value();
}

}  // namespace

TEST_CASE("render: every golden response renders to its golden markdown") {
  auto inputs = golden_inputs();
  REQUIRE(inputs.size() >= 8);
  bool update = std::getenv("TOKENRAIL_UPDATE_GOLDENS") != nullptr;
  for (const auto& in : inputs) {
    std::string stem = in.stem().string();  // operation.case
    std::string op = stem.substr(0, stem.find('.'));
    std::string rendered = render_response(op, parse(read_file(in)));
    fs::path golden = in;
    golden.replace_extension(".md");
    if (update) {
      std::ofstream(golden, std::ios::binary) << rendered;
    }
    INFO("golden " << golden.string());
    REQUIRE(fs::exists(golden));
    CHECK(rendered == read_file(golden));
  }
}

TEST_CASE("render: deterministic and independent of everything but the response") {
  auto v = parse(read_file(fs::path(TOKENRAIL_FIXTURES) / "render" / "start_workflow.basic.json"));
  std::string a = render_response("start_workflow", v);
  std::string b = render_response("start_workflow", parse(boost::json::serialize(v)));
  CHECK(a == b);
  // The tokens the agent must hand back appear verbatim in the json block.
  CHECK(a.find("```json\n{\n  \"stateToken\": \"st1_AAAAbasicstate") != std::string::npos);
  CHECK(a.find("\"ackToken\": \"ak1_AAAAbasicack") != std::string::npos);
  CHECK(a.find("\"nextIntent\": \"perform_pending_then_continue\"") != std::string::npos);
  // The step comes first, the tokens last.
  CHECK(a.find("# Triage the report") == 0);
  CHECK(a.find("**Agent role:**") < a.find("```json"));
}

TEST_CASE("render: blocked responses list every blocker with its pointer") {
  auto v = parse(read_file(fs::path(TOKENRAIL_FIXTURES) / "render" / "continue_workflow.blocked.json"));
  std::string md = render_response("continue_workflow", v);
  CHECK(md.find("## Blocked") != std::string::npos);
  CHECK(md.find("`/output/notesMarkdown`: must be at least 40 characters") != std::string::npos);
  CHECK(md.find("Suggested fix: Write a longer summary.") != std::string::npos);
}

TEST_CASE("render: a prompt containing a code fence cannot break the tokens block") {
  auto v = parse(R"({"pending":{"title":"t","prompt":"x ```` y"},"stateToken":"st1_a","isComplete":false})");
  std::string md = render_response("continue_workflow", v);
  // The tokens block still opens with ``` and holds the token.
  CHECK(md.find("```json\n{\n  \"stateToken\": \"st1_a\"\n}\n```\n") != std::string::npos);
  auto w = parse(R"({"note":"a ```` b"})");
  std::string generic = render_response("get_run", w);
  CHECK(generic.find("`````json\n") != std::string::npos);  // fence longer than the content's
}

TEST_CASE("render: a title with line breaks stays one heading") {
  auto v = parse(R"({"pending":{"title":"Fix it\nnow\r\nplease","stepId":"s","prompt":"p"},"isComplete":false})");
  CHECK(render_response("continue_workflow", v).find("# Fix it now  please\n\nStep `s`") == 0);
}

TEST_CASE("render: unexpected shapes are shown, never interpreted or crashed on") {
  for (const char* text : {R"(null)", R"([1,2])", R"({"pending":42})", R"({"pending":{"title":7,"guidance":"x"}})",
                           R"({"error":"boom"})", R"({"error":{"code":5,"retry":3,"details":[1]}})",
                           R"({"pending":{"stepId":"s","loop":[1,{"a":[2]}],"requireConfirmation":{"message":"ok?"}},"blockers":7})"}) {
    INFO(text);
    std::string md = render_response("continue_workflow", parse(text));
    CHECK(!md.empty());
  }
  CHECK(render_error(parse(R"({"code":"X","message":"m"})")).find("# Error `X`") == 0);
  CHECK(render_response("continue_workflow", parse(R"({"pending":{"stepId":"s","requireConfirmation":{"message":"ok?"}}})"))
            .find("> ok?") != std::string::npos);
}

TEST_CASE("render: pretty_json keeps member order and indents by two") {
  CHECK(pretty_json(parse(R"({"b":1,"a":[true,{"c":null}],"e":{},"f":[]})")) ==
        "{\n  \"b\": 1,\n  \"a\": [\n    true,\n    {\n      \"c\": null\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}");
}
