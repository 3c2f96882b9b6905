// library::load: recursive scan, routines resolved and hidden from list(),
// duplicate ids naming both files, invalid files naming theirs.
#include "workflow_test_support.hpp"

#include <filesystem>

using namespace wf_test;
namespace fs = std::filesystem;

TEST_CASE("the fixtures directory loads, list() is sorted and excludes routines") {
  const library& lib = fixtures();
  std::vector<std::string> listed;
  for (const auto& c : lib.list()) listed.push_back(c->id);
  CHECK(listed == ids{"api-design-blocks", "bug-fix-while", "design-doc-until", "feature-with-review",
                      "file-review-foreach", "incident-report-validated", "migration-nested", "perf-passes-for",
                      "poll-body-by-id", "refine-artifact-loop", "release-conditions", "test-plan-contract"});
  auto r = lib.find("wr.routine-code-review");
  REQUIRE(r != nullptr);
  CHECK(r->is_routine);
  CHECK(r->source.find("routines/code-review-routine.json") != std::string::npos);
  CHECK(lib.find("nope") == nullptr);
  CHECK(lib.size() == listed.size() + 1);
  for (const auto& c : lib.list()) {
    CHECK(c->workflow_hash.size() == 7 + 64);
    CHECK(c->workflow_hash.rfind("sha256:", 0) == 0);
    CHECK_FALSE(c->source.empty());
  }
}

TEST_CASE("a file under routines/ is a routine even without the id convention") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/lib-routines-folder";
  fs::remove_all(dir);
  fs::create_directories(dir + "/a/routines");
  {
    std::ofstream(dir + "/a/routines/helper.json")
        << R"({"id":"helper","name":"h","description":"d","version":"1","steps":[{"id":"h1","title":"H {x}","prompt":"p"}]})";
    std::ofstream(dir + "/main.json")
        << R"({"id":"main","name":"m","description":"d","version":"1","steps":[{"id":"call","title":"c","templateCall":{"templateId":"wr.templates.routine.helper","args":{"x":"1"}}}]})";
    std::ofstream(dir + "/notes.txt") << "not a workflow";
  }
  auto lib = library::load({dir});
  REQUIRE(lib.has_value());
  REQUIRE(lib->list().size() == 1);
  CHECK(lib->list()[0]->id == "main");
  CHECK(lib->find("helper")->is_routine);
  CHECK(lib->list()[0]->definition.at("steps").at(0).at("title") == "H 1");
}

TEST_CASE("two files with one id: WORKFLOW_DUPLICATE_ID naming both") {
  auto lib = library::load({fixture_path("invalid/duplicate-ids")});
  REQUIRE_FALSE(lib.has_value());
  CHECK(lib.error().code == errc::WORKFLOW_DUPLICATE_ID);
  const auto& d = lib.error().details;
  CHECK(d.at("id") == "dup-workflow");
  CHECK(std::string(d.at("first").as_string()).find("first.json") != std::string::npos);
  CHECK(std::string(d.at("second").as_string()).find("nested/second.json") != std::string::npos);
  CHECK(lib.error().message.find("first.json") != std::string::npos);
  CHECK(lib.error().message.find("second.json") != std::string::npos);
}

TEST_CASE("an in-memory definition with an id already on disk is a duplicate too") {
  auto mem = read_fixture("workflows/loop-while.json");
  auto lib = library::load({fixture_path("workflows")}, {mem});
  REQUIRE_FALSE(lib.has_value());
  CHECK(lib.error().code == errc::WORKFLOW_DUPLICATE_ID);
  CHECK(lib.error().details.at("second") == "<memory #0>");
}

TEST_CASE("in-memory definitions load and can use routines from disk") {
  auto mem = parse_json(R"({"id":"mem-flow","name":"m","description":"d","version":"1","steps":[
      {"id":"r","title":"r","templateCall":{"templateId":"wr.templates.routine.code-review",
       "args":{"target":"x","focus":"y","maxComments":1}}}]})").value();
  auto lib = library::load({fixture_path("workflows")}, {mem});
  REQUIRE(lib.has_value());
  auto c = lib->find("mem-flow");
  REQUIRE(c != nullptr);
  CHECK(c->source == "<memory #0>");
  CHECK(c->definition.at("steps").as_array().size() == 2);
}

TEST_CASE("an invalid file fails the load with its path and the field's pointer") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/lib-invalid";
  fs::remove_all(dir);
  fs::create_directories(dir + "/sub");
  fs::copy_file(fixture_path("invalid/missing-max-iterations.json"), dir + "/sub/bad.json");
  auto lib = library::load({dir});
  REQUIRE_FALSE(lib.has_value());
  CHECK(lib.error().code == errc::WORKFLOW_INVALID);
  CHECK(std::string(lib.error().details.at("file").as_string()).find("sub/bad.json") != std::string::npos);
  CHECK(lib.error().details.at("pointer") == "/steps/2/loop/maxIterations");

  std::ofstream(dir + "/sub/bad.json", std::ios::trunc) << "{ not json";
  auto lib2 = library::load({dir});
  REQUIRE_FALSE(lib2.has_value());
  CHECK(lib2.error().code == errc::INVALID_JSON);
  CHECK(lib2.error().details.at("file").is_string());
}

TEST_CASE("a directory that does not exist is an INVALID_CONFIG error") {
  auto lib = library::load({fixture_path("no-such-dir")});
  REQUIRE_FALSE(lib.has_value());
  CHECK(lib.error().code == errc::INVALID_CONFIG);
  CHECK(lib.error().details.at("file").is_string());
  auto empty = library::load({});
  REQUIRE(empty.has_value());
  CHECK(empty->list().empty());
}

TEST_CASE("a delegation finds a routine under either WorkRail spelling, and one naming nothing is a load warning") {
  auto def = [](std::string id, std::string delegate_to) {
    return parse_json(R"({"id":")" + id + R"(","name":"n","description":"d","version":"1","steps":[{"id":"fan","title":"t","prompt":"p","parallelDelegations":[{"workflowId":")" +
                      delegate_to + R"("}]}]})")
        .value();
  };
  auto routine = [](std::string id) {
    return parse_json(R"({"id":")" + id + R"(","name":"r","description":"d","version":"1","steps":[{"id":"r1","title":"t","prompt":"p"}]})").value();
  };
  auto lib = library::load({}, {routine("routine-check"), routine("wr.routine-probe"), def("a", "wr.routine-check"),
                                def("b", "routine-probe"), def("c", "wr.routine-missing")});
  REQUIRE(lib);
  CHECK(lib->find("wr.routine-check") == nullptr);   // find() stays exact
  REQUIRE(lib->find_delegate("wr.routine-check") != nullptr);
  CHECK(lib->find_delegate("wr.routine-check")->id == "routine-check");
  REQUIRE(lib->find_delegate("routine-probe") != nullptr);
  CHECK(lib->find_delegate("routine-probe")->id == "wr.routine-probe");
  CHECK(lib->find_delegate("check") == nullptr);     // only the routine prefixes are interchangeable
  CHECK(lib->find_delegate("wr.routine-missing") == nullptr);

  auto warned = [&](const std::string& id) {
    for (const auto& w : lib->find(id)->warnings)
      if (w.pointer == "/steps/0/parallelDelegations/0/workflowId") return w.message;
    return std::string();
  };
  CHECK(warned("a").empty());
  CHECK(warned("b").empty());
  CHECK(warned("c").find("names no workflow in the library") != std::string::npos);
}

TEST_CASE("hidden files and directories are not scanned, so a store kept beside the workflows loads") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/lib-hidden";
  fs::remove_all(dir);
  fs::create_directories(dir + "/.tokenrail");
  fs::create_directories(dir + "/.git/sub");
  fs::create_directories(dir + "/visible");
  {
    std::ofstream(dir + "/visible/main.json")
        << R"({"id":"main","name":"m","description":"d","version":"1","steps":[{"id":"s","title":"t","prompt":"p"}]})";
    // Neither is a workflow: loaded, each would fail the whole library.
    std::ofstream(dir + "/.tokenrail/keyring.json") << R"({"keys":[]})";
    std::ofstream(dir + "/.git/sub/x.json") << "{ not json";
    std::ofstream(dir + "/visible/.draft.json") << "{ not json";
  }
  auto lib = library::load({dir});
  REQUIRE(lib.has_value());
  REQUIRE(lib->list().size() == 1);
  CHECK(lib->list()[0]->id == "main");

  // The same stray file in a visible folder is read, and fails the load.
  fs::create_directories(dir + "/store");
  fs::copy_file(dir + "/.tokenrail/keyring.json", dir + "/store/keyring.json");
  auto strict = library::load({dir});
  REQUIRE_FALSE(strict.has_value());
  CHECK(std::string(strict.error().details.at("file").as_string()).find("store/keyring.json") != std::string::npos);
}

namespace {

void write_file(const std::string& path, std::string_view text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

std::string one_step(std::string_view id, std::string_view extra = "") {
  return "{\"id\":\"" + std::string(id) + "\",\"name\":\"n\",\"description\":\"d\",\"version\":\"1\",\"steps\":[" +
         "{\"id\":\"s\",\"title\":\"t\",\"prompt\":\"p\"" + std::string(extra) + "}]}";
}

}  // namespace

TEST_CASE("skip_invalid_files: bad files are left out and reported, the others load") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/lib-skip";
  fs::remove_all(dir);
  write_file(dir + "/a-good.json", one_step("good"));
  write_file(dir + "/b-not-json.json", "{ not json");
  fs::create_directories(dir + "/sub");
  fs::copy_file(fixture_path("invalid/missing-max-iterations.json"), dir + "/sub/c-invalid.json");
  write_file(dir + "/d-dup1.json", one_step("twice"));
  write_file(dir + "/e-dup2.json", one_step("twice"));
  // A routine that does not compile, and the workflow that calls it.
  write_file(dir + "/routines/broken.json",
             R"({"id":"wr.routine-broken","name":"r","description":"d","version":"1","steps":[{"id":"r1"}]})");
  write_file(dir + "/f-caller.json",
             R"({"id":"caller","name":"c","description":"d","version":"1","steps":[{"id":"call","title":"c","templateCall":{"templateId":"wr.templates.routine.broken","args":{}}}]})");

  // The default: the first bad file fails the whole load.
  REQUIRE_FALSE(library::load({dir}).has_value());

  load_options skip;
  skip.skip_invalid_files = true;
  auto lib = library::load({dir}, {}, skip);
  REQUIRE(lib.has_value());
  REQUIRE(lib->list().size() == 1);
  CHECK(lib->list()[0]->id == "good");
  CHECK(lib->find("twice") == nullptr);
  CHECK(lib->find("caller") == nullptr);
  CHECK(lib->find("wr.routine-broken") == nullptr);

  // One problem per file left out, in the order the files were read.
  const auto& probs = lib->problems();
  std::vector<std::string> files, codes;
  for (const auto& p : probs) {
    files.push_back(fs::path(p.file).lexically_relative(dir).string());
    codes.push_back(std::string(tokenrail::errc_name(p.err.code)));
  }
  CHECK(files == ids{"b-not-json.json", "d-dup1.json", "e-dup2.json", "f-caller.json", "routines/broken.json",
                     "sub/c-invalid.json"});
  CHECK(codes[0] == "INVALID_JSON");
  CHECK(codes[1] == "WORKFLOW_DUPLICATE_ID");
  CHECK(codes[2] == "WORKFLOW_DUPLICATE_ID");
  CHECK(codes[5] == "WORKFLOW_INVALID");
  CHECK(probs[0].workflow_id.empty());
  CHECK(probs[1].err.details.at("first").as_string().ends_with("d-dup1.json"));
  CHECK(probs[1].err.details.at("second").as_string().ends_with("e-dup2.json"));
  CHECK(probs[5].err.details.at("pointer") == "/steps/2/loop/maxIterations");
  CHECK(probs[5].err.details.at("file").as_string().ends_with("sub/c-invalid.json"));
  // The caller is left out because the routine it calls was.
  CHECK(probs[3].workflow_id == "caller");
  CHECK(probs[4].workflow_id == "wr.routine-broken");

  REQUIRE(lib->problem_for("twice") != nullptr);
  CHECK(lib->problem_for("twice")->err.code == errc::WORKFLOW_DUPLICATE_ID);
  REQUIRE(lib->problem_for("caller") != nullptr);
  CHECK(lib->problem_for("good") == nullptr);
  CHECK(lib->problem_for("") == nullptr);
}

TEST_CASE("skip_invalid_files never skips an in-memory definition: the host's own") {
  const std::string dir = std::string(TOKENRAIL_TEST_TMP) + "/lib-skip-memory";
  fs::remove_all(dir);
  write_file(dir + "/same.json", one_step("same"));
  load_options skip;
  skip.skip_invalid_files = true;

  auto bad = library::load({dir}, {json::value(json::object{{"id", "x"}})}, skip);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::WORKFLOW_INVALID);
  CHECK(bad.error().details.at("file") == "<memory #0>");

  auto dup = library::load({dir}, {json::parse(one_step("same"))}, skip);
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().code == errc::WORKFLOW_DUPLICATE_ID);

  // A directory that does not exist is the host's configuration too.
  CHECK_FALSE(library::load({dir + "/missing"}, {}, skip).has_value());
  // Without problems, problems() is empty.
  auto ok = library::load({dir}, {}, skip);
  REQUIRE(ok.has_value());
  CHECK(ok->problems().empty());
}
