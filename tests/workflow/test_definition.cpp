// Definitions (D2): metadata, pinned definition and hash, unknown-field
// warnings with pointers, and every invalid fixture's error and pointer.
#include "workflow_test_support.hpp"

#include <tokenrail/crypto/hash.hpp>

using namespace wf_test;

namespace {

error compile_error(const json::value& def) {
  auto c = compile(def);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

std::string pointer_of(const error& e) {
  REQUIRE(e.details.is_object());
  return std::string(e.details.at("pointer").as_string());
}

}  // namespace

TEST_CASE("a valid definition compiles with its metadata, pinned as written") {
  auto def = read_fixture("workflows/loop-while.json");
  auto c = compile(def);
  REQUIRE(c.has_value());
  const compiled& wf = **c;
  CHECK(wf.id == "bug-fix-while");
  CHECK(wf.name == "Fix bugs while any remain");
  CHECK(wf.version == "1.0.0");
  CHECK(wf.description.find("Triage") == 0);
  CHECK(wf.definition == def);   // no templateCall: identical to the file
  CHECK(wf.workflow_hash == crypto::workflow_hash(def));
  CHECK(wf.warnings.empty());
  CHECK_FALSE(wf.is_routine);
  // Key order does not change the hash (canonical JSON).
  auto reordered = parse_json(R"({"version":"1","steps":[{"title":"t","id":"s"}],"id":"x","description":"d","name":"n"})");
  auto ordered = parse_json(R"({"id":"x","name":"n","description":"d","version":"1","steps":[{"id":"s","title":"t"}]})");
  CHECK((*compile(*reordered))->workflow_hash == (*compile(*ordered))->workflow_hash);
}

TEST_CASE("unknown fields are kept, ignored, and reported with their pointers") {
  auto def = parse_json(R"({
    "$schema":"https://example.com/workflow.schema.json",
    "id":"w","name":"n","description":"d","version":"1",
    "steps":[
      {"id":"a","title":"A","prompt":"p","estimatedMinutes":5,
       "promptBlocks":{"goal":"g","tone":"friendly"},
       "outputContract":{"contractRef":"c","required":false,"schemaVersion":2}},
      {"id":"l","type":"loop","title":"L","owner":"me",
       "loop":{"type":"for","count":1,"maxIterations":1,"parallel":true},
       "body":[{"id":"b","title":"B","prompt":"p","runCondition":{"var":"x","note":"n"}}]}
    ]})");
  auto c = compile(*def);
  REQUIRE(c.has_value());
  std::vector<std::string> pointers;
  for (const auto& w : (*c)->warnings) pointers.push_back(w.pointer);
  CHECK(pointers == ids{"/$schema", "/steps/0/estimatedMinutes", "/steps/0/promptBlocks/tone",
                        "/steps/0/outputContract/schemaVersion", "/steps/1/owner", "/steps/1/loop/parallel",
                        "/steps/1/body/0/runCondition/note"});
  CHECK((*c)->definition.at("$schema").is_string());   // kept
}

TEST_CASE("the invalid fixtures: code and pointer of the first bad field") {
  struct expect {
    const char* file;
    errc code;
    const char* pointer;
  };
  for (const expect& e : {expect{"invalid/recursive-body.json", errc::WORKFLOW_RECURSIVE, "/steps/1/body"},
                          expect{"invalid/mutual-recursion.json", errc::WORKFLOW_RECURSIVE, "/steps/1/body"},
                          expect{"invalid/dangling-body.json", errc::WORKFLOW_DANGLING_REF, "/steps/1/body"},
                          expect{"invalid/missing-max-iterations.json", errc::WORKFLOW_INVALID, "/steps/2/loop/maxIterations"},
                          expect{"invalid/wrong-types.json", errc::WORKFLOW_INVALID, "/steps/0/guidance/1"}}) {
    INFO(e.file);
    auto err = compile_error(read_fixture(e.file));
    CHECK(err.code == e.code);
    CHECK(pointer_of(err) == e.pointer);
    CHECK_FALSE(std::string(err.details.at("expected").as_string()).empty());
    CHECK(err.message.find(e.pointer) != std::string::npos);
  }
}

TEST_CASE("structural errors: duplicate step ids, loop shapes, required fields") {
  auto base = [] { return read_fixture("workflows/loop-while.json"); };
  auto steps = [](json::value& d) -> json::array& { return d.as_object()["steps"].as_array(); };

  SECTION("duplicate step id names both places") {
    auto d = base();
    steps(d)[1].as_object()["body"].as_array()[1].as_object()["id"] = "triage";
    auto e = compile_error(d);
    CHECK(pointer_of(e) == "/steps/1/body/1/id");
    CHECK(std::string(e.details.at("expected").as_string()).find("/steps/0/id") != std::string::npos);
  }
  SECTION("missing required top-level fields, in spec order") {
    auto d = base();
    d.as_object().erase("version");
    d.as_object().erase("name");
    CHECK(pointer_of(compile_error(d)) == "/name");
  }
  SECTION("while loop without condition") {
    auto d = base();
    steps(d)[1].as_object()["loop"].as_object().erase("condition");
    CHECK(pointer_of(compile_error(d)) == "/steps/1/loop/condition");
  }
  SECTION("condition and conditionSource together") {
    auto d = base();
    steps(d)[1].as_object()["loop"].as_object()["conditionSource"] =
        json::object{{"kind", "artifact_contract"}, {"contractRef", "c"}};
    CHECK(pointer_of(compile_error(d)) == "/steps/1/loop/conditionSource");
  }
  SECTION("maxIterations must be a positive integer") {
    for (json::value bad : {json::value(0), json::value(-3), json::value(2.5), json::value("5"), json::value(nullptr),
                            json::value(5000000), json::value(std::uint64_t(1) << 63)}) {
      auto d = base();
      steps(d)[1].as_object()["loop"].as_object()["maxIterations"] = bad;
      auto e = compile_error(d);
      CHECK(pointer_of(e) == "/steps/1/loop/maxIterations");
      CHECK(e.details.at("expected") == "a positive integer (at most 1000000)");
    }
  }
  SECTION("for needs count, forEach needs items") {
    auto d = base();
    auto& loop = steps(d)[1].as_object()["loop"].as_object();
    loop["type"] = "for";
    CHECK(pointer_of(compile_error(d)) == "/steps/1/loop/count");
    loop["type"] = "forEach";
    CHECK(pointer_of(compile_error(d)) == "/steps/1/loop/items");
    loop["type"] = "repeat";
    CHECK(pointer_of(compile_error(d)) == "/steps/1/loop/type");
  }
  SECTION("empty body and empty steps") {
    auto d = base();
    steps(d)[1].as_object()["body"] = json::array{};
    CHECK(pointer_of(compile_error(d)) == "/steps/1/body");
    steps(d).clear();
    CHECK(pointer_of(compile_error(d)) == "/steps");
  }
  SECTION("a minimal workflow compiles") {
    auto d = parse_json(R"({"id":"w","name":"n","description":"d","version":"1","steps":[
        {"id":"only","title":"t","prompt":"p"}]})").value();
    CHECK(compile(d).has_value());
  }
  SECTION("step type other than loop") {
    // A string type D2 does not define is a warning (WorkRail files use
    // "parallel"); a type that is not a string is a wrong type.
    auto d = base();
    steps(d)[0].as_object()["type"] = "parallel";
    auto c = compile(d);
    REQUIRE(c.has_value());
    REQUIRE((*c)->warnings.size() == 1);
    CHECK((*c)->warnings[0].pointer == "/steps/0/type");
    steps(d)[0].as_object()["type"] = json::array{"loop"};
    CHECK(pointer_of(compile_error(d)) == "/steps/0/type");
  }
  SECTION("loops nested too deep") {
    json::value body = json::array{json::object{{"id", "leaf"}, {"title", "t"}, {"prompt", "p"}}};
    for (int i = 0; i < 40; ++i)
      body = json::array{json::object{{"id", "l" + std::to_string(i)}, {"type", "loop"}, {"title", "t"},
                                      {"loop", json::object{{"type", "for"}, {"count", 1}, {"maxIterations", 1}}},
                                      {"body", body}}};
    auto d = parse_json(R"({"id":"w","name":"n","description":"d","version":"1"})").value();
    d.as_object()["steps"] = body;
    auto e = compile_error(d);
    CHECK(e.details.at("expected") == "loops nested at most 32 deep");
  }
  SECTION("requireConfirmation and outputContract shapes") {
    auto d = base();
    steps(d)[0].as_object()["requireConfirmation"] = "yes";
    CHECK(pointer_of(compile_error(d)) == "/steps/0/requireConfirmation");
    steps(d)[0].as_object()["requireConfirmation"] = json::object{{"when", json::object{{"var", "x"}}}};
    CHECK(pointer_of(compile_error(d)) == "/steps/0/requireConfirmation/message");
    steps(d)[0].as_object()["requireConfirmation"] = json::object{{"message", "ok?"}};
    steps(d)[0].as_object()["outputContract"] = json::object{{"required", true}};
    CHECK(pointer_of(compile_error(d)) == "/steps/0/outputContract/contractRef");
  }
  SECTION("parallelDelegations shapes") {
    auto d = base();
    steps(d)[0].as_object()["parallelDelegations"] = json::array{json::object{{"args", json::object{}}}};
    CHECK(pointer_of(compile_error(d)) == "/steps/0/parallelDelegations/0/workflowId");
    steps(d)[0].as_object()["parallelDelegations"] = json::array{json::object{{"workflowId", "x"}, {"args", 1}}};
    CHECK(pointer_of(compile_error(d)) == "/steps/0/parallelDelegations/0/args");
  }
}

TEST_CASE("routine ids by convention") {
  CHECK(is_routine_id("wr.routine-x"));
  CHECK(is_routine_id("routine-x"));
  CHECK_FALSE(is_routine_id("my-routine-x"));
}
