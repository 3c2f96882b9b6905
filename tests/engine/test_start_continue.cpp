// start_workflow, continue_workflow (advance and rehydrate), list/inspect.
#include "engine/support.hpp"
#include "legacy_records.hpp"

#include <tokenrail/token/token.hpp>

#include <fstream>

using namespace trtest;
namespace fs = std::filesystem;

TEST_CASE("start and continue a linear workflow to completion", "[engine][start]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;

  auto r = start(*e, "lin3", json::object{{"ticket", "AUTH-1"}});
  INFO(json::serialize(r));
  REQUIRE(error_code(r).empty());
  CHECK(str(r, "stateToken").rfind("st1_", 0) == 0);
  CHECK(str(r, "ackToken").rfind("ak1_", 0) == 0);
  CHECK(str(r, "checkpointToken").rfind("ck1_", 0) == 0);
  CHECK(str(r, "stateToken").size() == 52);
  CHECK(r.at("pending").at("stepId") == "s1");
  CHECK(r.at("pending").at("title") == "Step 1");
  CHECK(r.at("pending").at("prompt") == "Do step 1 for AUTH-1.");
  CHECK(r.at("pending").at("requireConfirmation") == false);
  CHECK(r.at("isComplete") == false);
  CHECK(r.at("nextIntent") == "perform_pending_then_continue");
  CHECK(str(r.at("session"), "runId").rfind("run_", 0) == 0);
  CHECK(str(r.at("session"), "sessionId").size() > 0);
  CHECK(str(r, "workflowHash").rfind("sha256:", 0) == 0);
  CHECK_FALSE(r.as_object().contains("kind"));

  std::vector<std::string> seen{"s1"};
  for (int i = 0; i < 10 && r.at("isComplete") == false; ++i) {
    r = advance(*e, r);
    INFO(json::serialize(r));
    REQUIRE(error_code(r).empty());
    CHECK(r.at("kind") == "ok");
    if (r.at("pending").is_object()) seen.emplace_back(r.at("pending").at("stepId").as_string());
  }
  CHECK(seen == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(r.at("isComplete") == true);
  CHECK(r.at("pending").is_null());
  CHECK(r.at("nextIntent") == "complete");
  CHECK_FALSE(r.as_object().contains("ackToken"));
  CHECK(r.as_object().contains("stateToken"));
}

TEST_CASE("context merges into later prompts and null removes a key", "[engine][start]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  auto r = start(*e, "lin3");
  CHECK(r.at("pending").at("prompt") == "Do step 1 for [unset: ticket].");
  json::object req;
  req["stateToken"] = r.at("stateToken");
  req["ackToken"] = r.at("ackToken");
  req["context"] = json::object{{"ticket", "T-9"}};
  r = call(*e, "continue_workflow", req);
  INFO(json::serialize(r));
  CHECK(r.at("pending").at("prompt") == "Do step 2 for T-9.");
  req["stateToken"] = r.at("stateToken");
  req["ackToken"] = r.at("ackToken");
  req["context"] = json::object{{"ticket", nullptr}};
  r = call(*e, "continue_workflow", req);
  CHECK(r.at("pending").at("prompt") == "Do step 3 for [unset: ticket].");
}

TEST_CASE("rehydrate returns the pending step with a fresh ackToken and writes nothing", "[engine][rehydrate]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = make_engine(backend, {linear_workflow("lin3", 3)});
  if (!e) return;
  auto r = start(*e, "lin3");
  auto stats_before = e->internals().store->stats();
  auto h = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
  INFO(json::serialize(h));
  REQUIRE(error_code(h).empty());
  CHECK(h.at("kind") == "ok");
  CHECK(h.at("stateToken") == r.at("stateToken"));
  CHECK(h.at("ackToken") != r.at("ackToken"));
  CHECK(h.at("pending") == r.at("pending"));
  auto h2 = call(*e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
  CHECK(h2.at("ackToken") != h.at("ackToken"));
  CHECK(e->internals().store->stats().entries == stats_before.entries);
  CHECK(e->internals().store->stats().bytes_used == stats_before.bytes_used);
  // The fresh ackToken advances.
  auto a = advance(*e, h);
  CHECK(a.at("pending").at("stepId") == "s2");
}

TEST_CASE("host session ids, labels and correlation are kept", "[engine][start]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  json::object req{{"workflowId", "lin2"},
                   {"sessionId", "AUTH-1234"},
                   {"labels", json::object{{"team", "core"}}},
                   {"correlation", json::object{{"traceId", "t-1"}, {"tenantId", "acme"}}}};
  auto r = call(*e, "start_workflow", req);
  INFO(json::serialize(r));
  REQUIRE(error_code(r).empty());
  CHECK(r.at("session").at("sessionId") == "AUTH-1234");
  auto run = call(*e, "get_run", json::object{{"runId", r.at("session").at("runId")}});
  CHECK(run.at("metadata").at("labels").at("team") == "core");
  CHECK(run.at("spec").at("correlation").at("traceId") == "t-1");
  CHECK(run.at("spec").at("correlation").at("flowId").is_null());
  CHECK(run.at("spec").at("correlation").at("tenantId") == "acme");
}

TEST_CASE("idempotencyKey on start returns the first start's response", "[engine][start]") {
  auto e = make_engine("memory", {linear_workflow("lin2", 2)});
  const std::string req = R"({"workflowId":"lin2","idempotencyKey":"k-1"})";
  const std::string a = e->call("start_workflow", req);
  const std::string b = e->call("start_workflow", req);
  CHECK(a == b);
  const std::string c = e->call("start_workflow", R"({"workflowId":"lin2","idempotencyKey":"k-2"})");
  CHECK(c != a);
}

TEST_CASE("requireConfirmation asks to await the user", "[engine][start]") {
  json::value wf = linear_workflow("conf", 2);
  wf.at("steps").as_array()[0].as_object()["requireConfirmation"] = true;
  auto e = make_engine("memory", {wf});
  auto r = start(*e, "conf");
  INFO(json::serialize(r));
  CHECK(r.at("pending").at("requireConfirmation") == true);
  CHECK(r.at("nextIntent") == "await_user_confirmation");
  r = advance(*e, r);
  CHECK(r.at("nextIntent") == "perform_pending_then_continue");
}

TEST_CASE("list and inspect workflows", "[engine][workflows]") {
  json::value wf = linear_workflow("b-wf", 2);
  wf.as_object()["mysteryField"] = 1;
  auto e = make_engine("memory", {linear_workflow("a-wf", 1), wf});
  auto l = call(*e, "list_workflows", json::object{});
  INFO(json::serialize(l));
  REQUIRE(l.at("workflows").as_array().size() == 2);
  CHECK(l.at("workflows").at(0).at("workflowId") == "a-wf");
  CHECK(l.at("workflows").at(1).at("workflowId") == "b-wf");
  auto i = call(*e, "inspect_workflow", json::object{{"workflowId", "b-wf"}});
  INFO(json::serialize(i));
  CHECK(i.at("preview").as_array().size() == 2);
  CHECK(i.at("warnings").as_array().size() == 1);
  CHECK(i.at("warnings").at(0).at("pointer") == "/mysteryField");
  CHECK_FALSE(i.as_object().contains("definition"));
  auto d = call(*e, "inspect_workflow", json::object{{"workflowId", "b-wf"}, {"includeDefinition", true}});
  CHECK(d.at("definition").at("id") == "b-wf");
  auto nf = call(*e, "inspect_workflow", json::object{{"workflowId", "nope"}});
  CHECK(error_code(nf) == "WORKFLOW_NOT_FOUND");
  CHECK(error_code(start(*e, "nope")) == "WORKFLOW_NOT_FOUND");
}

TEST_CASE("invalidWorkflowFiles skip: a bad file is left out, listed, and named when its id is asked for",
          "[engine][workflows]") {
  const std::string dir = fresh_dir("skip-files");
  {
    std::ofstream(dir + "/good.json") << json::serialize(linear_workflow("good-wf", 1));
    json::value bad = linear_workflow("bad-wf", 1);
    bad.as_object()["steps"].as_array()[0].as_object().erase("title");
    std::ofstream(dir + "/bad.json") << json::serialize(bad);
    std::ofstream(dir + "/broken.json") << "{ not json";
  }
  auto open = [&](std::optional<std::string> mode) {
    json::object cfg{{"workflows", json::array{json::value(dir)}}};
    if (mode) cfg["invalidWorkflowFiles"] = *mode;
    return tokenrail::engine::open(json::value(cfg), test_clock());
  };
  // The default, and "fail": the open fails with the first bad file's error.
  for (auto mode : {std::optional<std::string>(), std::optional<std::string>("fail")}) {
    auto e = open(mode);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == tokenrail::errc::INVALID_JSON);   // files are read before any compiles
    CHECK(e.error().details.at("file").as_string().ends_with("/broken.json"));
  }
  auto refused = open("ignore");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == tokenrail::errc::INVALID_CONFIG);
  CHECK(refused.error().details.at("pointer") == "/invalidWorkflowFiles");

  auto e = open("skip");
  REQUIRE(e.has_value());
  auto l = call(**e, "list_workflows", json::object{});
  INFO(json::serialize(l));
  REQUIRE(l.at("workflows").as_array().size() == 1);
  CHECK(l.at("workflows").at(0).at("workflowId") == "good-wf");
  const auto& skipped = l.at("skippedFiles").as_array();
  REQUIRE(skipped.size() == 2);
  CHECK(skipped.at(0).at("file").as_string().ends_with("/bad.json"));
  CHECK(skipped.at(0).at("workflowId") == "bad-wf");
  CHECK(skipped.at(0).at("error").at("code") == "WORKFLOW_INVALID");
  CHECK(skipped.at(0).at("error").at("details").at("pointer") == "/steps/0/title");
  CHECK(skipped.at(1).at("file").as_string().ends_with("/broken.json"));
  CHECK_FALSE(skipped.at(1).as_object().contains("workflowId"));
  CHECK(skipped.at(1).at("error").at("code") == "INVALID_JSON");

  // Starting or inspecting the left-out id says which file and why.
  for (const auto& r : {start(**e, "bad-wf"), call(**e, "inspect_workflow", json::object{{"workflowId", "bad-wf"}})}) {
    INFO(json::serialize(r));
    CHECK(error_code(r) == "WORKFLOW_NOT_FOUND");
    const auto& d = r.at("error").at("details");
    CHECK(d.at("pointer") == "/workflowId");
    CHECK(d.at("file").as_string().ends_with("/bad.json"));
    CHECK(d.at("cause").at("code") == "WORKFLOW_INVALID");
    CHECK(std::string(r.at("error").at("message").as_string()).find("left out") != std::string::npos);
  }
  // An unknown id stays a plain WORKFLOW_NOT_FOUND; the good workflow runs.
  auto nf = start(**e, "nope");
  CHECK(error_code(nf) == "WORKFLOW_NOT_FOUND");
  CHECK_FALSE(nf.at("error").at("details").as_object().contains("cause"));
  CHECK(error_code(start(**e, "good-wf")).empty());
  // Without problems, list_workflows has no skippedFiles.
  auto clean = make_engine("memory", {linear_workflow("a-wf", 1)});
  CHECK_FALSE(call(*clean, "list_workflows", json::object{}).as_object().contains("skippedFiles"));
}

TEST_CASE("the store directory and keyring file are never read as workflows, even under a workflow directory",
          "[engine][workflows]") {
  // (a) The store (and its keyring.json) inside the workflow directory;
  // (b) only the keyring file there, named by another spelling of its path.
  const std::string a = fresh_dir("store-inside"), b = fresh_dir("keyring-inside");
  for (const auto& dir : {a, b}) std::ofstream(dir + "/wf.json") << json::serialize(linear_workflow("wf", 1));
  fs::create_directories(b + "/keys");
  const json::object config_a{{"store", json::object{{"backend", "lmdb"}, {"path", a + "/state"}, {"durability", "relaxed"}}},
                              {"workflows", json::array{json::value(a)}}};
  const json::object config_b{{"store", json::object{{"backend", "lmdb"}, {"path", fresh_dir("store-b")}, {"durability", "relaxed"}}},
                              {"keyring", json::object{{"path", b + "/keys/../keys/ring.json"}}},
                              {"workflows", json::array{json::value(b + "/./")}}};
  // The first open creates the keyring file; the second finds it under the
  // workflow directory and must not read it.
  for (int round = 0; round < 2; ++round) {
    for (const auto& cfg : {config_a, config_b}) {
      auto e = tokenrail::engine::open(json::value(cfg), test_clock());
      INFO("round " << round << ": " << (e ? std::string() : json::serialize(e.error().to_json())));
      REQUIRE(e.has_value());
      CHECK(call(**e, "list_workflows", json::object{}).at("workflows").as_array().size() == 1);
    }
  }
  REQUIRE(fs::exists(a + "/state/keyring.json"));
  REQUIRE(fs::exists(b + "/keys/ring.json"));
  // The same files are read (and fail the open) by an engine that does not own them.
  for (const auto& dir : {a, b}) {
    auto other = tokenrail::engine::open(json::value(json::object{{"workflows", json::array{json::value(dir)}}}), test_clock());
    REQUIRE_FALSE(other.has_value());
    CHECK(other.error().details.at("file").as_string().ends_with("ring.json"));
  }
}

TEST_CASE("an open that fails on its config creates no store directory and no keyring", "[engine][workflows]") {
  const std::string root = fresh_dir("failed-open");
  const std::string good = root + "/good", bad = root + "/bad";
  fs::create_directories(good);
  fs::create_directories(bad);
  std::ofstream(good + "/wf.json") << json::serialize(linear_workflow("wf", 1));
  std::ofstream(bad + "/wf.json") << "{\"id\": \"broken\", \"steps\": 3}";
  // A keyring file others may read (refused: it must be 0600 or stricter).
  const std::string open_keyring = root + "/open-keyring.json";
  {
    std::ofstream(open_keyring) << tokenrail::token::keyring::generate().to_json();
    fs::permissions(open_keyring, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                      fs::perms::others_read);
  }
  auto config = [&](const json::value& workflows, std::optional<std::string> secret,
                    std::optional<std::string> keyring_path = std::nullopt) {
    json::object c{{"store", json::object{{"backend", "lmdb"}, {"path", root + "/state"}, {"durability", "relaxed"}}},
                   {"workflows", workflows}};
    if (secret) c["keyring"] = json::object{{"secret", *secret}};
    if (keyring_path) c["keyring"] = json::object{{"path", *keyring_path}};
    return json::value(std::move(c));
  };
  const json::value good_dirs = json::array{json::value(good)};
  struct failing { const char* what; json::value cfg; tokenrail::errc code; };
  const failing cases[] = {
      {"an invalid workflow file", config(json::array{json::value(bad)}, std::nullopt), tokenrail::errc::WORKFLOW_INVALID},
      {"a missing workflow directory", config(json::array{json::value(root + "/nowhere")}, std::nullopt),
       tokenrail::errc::INVALID_CONFIG},
      {"a keyring secret that is not hex", config(good_dirs, std::string("zz")), tokenrail::errc::INVALID_CONFIG},
      {"a keyring file with group and other access", config(good_dirs, std::nullopt, open_keyring),
       tokenrail::errc::KEYRING_ERROR},
      {"a keyring file in a directory that does not exist", config(good_dirs, std::nullopt, root + "/no-dir/keyring.json"),
       tokenrail::errc::KEYRING_ERROR},
      {"a keyring file whose directory is a file", config(good_dirs, std::nullopt, open_keyring + "/keyring.json"),
       tokenrail::errc::KEYRING_ERROR},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto e = tokenrail::engine::open(c.cfg, test_clock());
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().code == c.code);
    CHECK_FALSE(fs::exists(root + "/state"));
    fs::remove_all(root + "/state");   // so each case proves itself
  }
  // The same config with the mistake fixed opens and creates both.
  {
    auto e = tokenrail::engine::open(config(good_dirs, std::nullopt), test_clock());
    REQUIRE(e.has_value());
    CHECK(fs::exists(root + "/state/data.mdb"));
    CHECK(fs::exists(root + "/state/keyring.json"));
  }
  // A keyring of the host's naming, in a directory that exists: created
  // once the store is open, and read (not replaced) when the store opens
  // again.
  fs::remove_all(root + "/state");
  const std::string named = root + "/named-keyring.json";
  std::string minted;
  {
    auto e = tokenrail::engine::open(config(good_dirs, std::nullopt, named), test_clock());
    REQUIRE(e.has_value());
    CHECK(fs::exists(named));
    minted = str(start(**e, "wf"), "stateToken");
  }
  {
    auto again = tokenrail::engine::open(config(good_dirs, std::nullopt, named), test_clock());
    REQUIRE(again.has_value());
    CHECK(error_code(call(**again, "continue_workflow", json::object{{"stateToken", minted}})).empty());
  }
  // A host secret and a store not created yet: no keyring file to check.
  fs::remove_all(root + "/state");
  {
    auto e = tokenrail::engine::open(config(good_dirs, std::string(64, 'a')), test_clock());
    REQUIRE(e.has_value());
    CHECK_FALSE(fs::exists(root + "/state/keyring.json"));
  }
  // A keyring named inside the directory of a store not created yet (in
  // any spelling of that directory): created with the store, as before.
  for (const std::string& inside : {root + "/state/ring.json", root + "/./state/../state/ring.json"}) {
    INFO(inside);
    fs::remove_all(root + "/state");
    auto e = tokenrail::engine::open(config(good_dirs, std::nullopt, inside), test_clock());
    REQUIRE(e.has_value());
    CHECK(fs::exists(root + "/state/ring.json"));
  }
}

// The phase checks before an advance and a rehydrate read one byte of the
// status instead of decoding it. Storage counts cannot show that, so the
// peek is checked against the full decode for every phase and shape of
// status, in both record versions: 2, and 1 as stores of format 1 and 2
// wrote it (every leaf inline: a run forked 10,000 times held 10,000).
TEST_CASE("status_phase reads the phase a full decode_status gives", "[engine][rehydrate][scale]") {
  using namespace tokenrail::engine_detail;
  for (int p = 0; p <= 4; ++p) {
    for (std::uint32_t tips : {1u, 2u, 10000u}) {
      for (bool async : {false, true}) {
        run_status s;
        s.phase = static_cast<run_phase>(p);
        s.node_count = tips * 3;
        s.preferred_tip = s.node_count - 1;
        s.last_activity = 1234;
        s.pending_step_id = "s1";
        if (async) s.async = R"({"waitingOn":[]})";
        const std::string bytes = encode_status(s);
        CHECK(status_phase(bytes) == s.phase);
        CHECK(decode_status(bytes) == s);
        // Version 1: the same status with its leaves listed: 0, 3, 6, ... and the newest.
        std::vector<std::uint32_t> leaves{s.preferred_tip};
        for (std::uint32_t i = 0; i + 1 < tips; ++i) leaves.push_back(i * 3);
        const std::string v1 = trlegacy::encode_status_v1(s, leaves);
        CHECK(status_phase(v1) == s.phase);
        run_status old = decode_status(v1);
        REQUIRE(old.legacy_tips.size() == tips - 1);   // all but the newest
        for (std::uint32_t i = 0; i + 1 < tips; ++i) CHECK(old.legacy_tips[i] == i * 3);
        old.legacy_tips.clear();
        CHECK(old == s);
      }
    }
  }
  for (std::string bad : {std::string(), std::string("\x01"), std::string("\x03\x00", 2), std::string("\x01\x05", 2)}) {
    try {
      (void)status_phase(bad);
      FAIL("a damaged status was read");
    } catch (const tokenrail::failure& f) {
      CHECK(f.err().code == tokenrail::errc::STORE_CORRUPT);
    }
  }
}
