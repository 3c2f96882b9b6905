// The keyring file beside the store (D9, issue 4 item 3) through the engine:
// engines on one store (one after another, or two processes at once) share
// tokens; keyring.json has mode 0600; rotate_key keeps old tokens valid
// across reopen and replaces the file atomically; a host secret or a
// keyring.path is honoured.
#include "durability/store_checks.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

using namespace trdur;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

json::value start(tokenrail::engine& e, const std::string& wf = "lin5") {
  auto r = json::parse(e.call("start_workflow", json::serialize(json::object{{"workflowId", wf}})));
  INFO(json::serialize(r));
  REQUIRE_FALSE(r.as_object().contains("error"));
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("keyring: engines opened one after another on a store share tokens", "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_seq");
  json::value first;
  {
    auto a = open_engine(dir);
    first = start(*a);
  }
  const std::string keyring = dir + "/keyring.json";
  REQUIRE(std::filesystem::is_regular_file(keyring));
  CHECK((stat_of(keyring).st_mode & 0777) == 0600);

  auto b = open_engine(dir);
  auto r = json::parse(b->call("continue_workflow", advance_request(first, "from the second engine")));
  INFO(json::serialize(r));
  CHECK_FALSE(r.as_object().contains("error"));
  CHECK(r.at("pending").at("stepId") == "s2");
}

TEST_CASE("keyring: two processes at once on one store share tokens", "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_two");
  worker w({"serve", dir});
  expect_ready(w);
  auto e = open_engine(dir);   // opened while the worker holds the store
  auto started = json::parse(ask(w, "start_workflow", R"({"workflowId":"lin5"})"));
  REQUIRE_FALSE(started.as_object().contains("error"));
  // The worker's tokens verify here, and ours there.
  auto mine = json::parse(e->call("continue_workflow", advance_request(started, "here")));
  INFO(json::serialize(mine));
  REQUIRE_FALSE(mine.as_object().contains("error"));
  auto theirs = json::parse(ask(w, "continue_workflow", advance_request(mine, "there")));
  INFO(json::serialize(theirs));
  CHECK_FALSE(theirs.as_object().contains("error"));
  CHECK(theirs.at("pending").at("stepId") == "s3");
}

TEST_CASE("keyring: rotate_key keeps old tokens valid after reopen, the file is replaced atomically",
          "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_rot");
  const std::string keyring = dir + "/keyring.json";
  json::value before;
  std::string before_text;
  ino_t inode_before = 0;
  {
    auto e = open_engine(dir);
    before = start(*e);
    inode_before = stat_of(keyring).st_ino;
    before_text = slurp(keyring);
    auto rot = json::parse(e->call("rotate_key", "{}"));
    INFO(json::serialize(rot));
    REQUIRE(rot.at("keyId").to_number<int>() == 2);
    CHECK(rot.at("previousKeyId").to_number<int>() == 1);
  }
  // A new file (rename over the old one), still 0600, with both keys.
  CHECK(stat_of(keyring).st_ino != inode_before);
  CHECK((stat_of(keyring).st_mode & 0777) == 0600);
  auto ring = tokenrail::token::keyring::from_json(slurp(keyring));
  REQUIRE(ring);
  CHECK(ring->entries().size() == 2);
  CHECK(ring->current().id == 2);
  CHECK(slurp(keyring) != before_text);

  auto e = open_engine(dir);
  // The pre-rotation tokens still advance...
  auto r = json::parse(e->call("continue_workflow", advance_request(before, "after rotation")));
  INFO(json::serialize(r));
  REQUIRE_FALSE(r.as_object().contains("error"));
  // ...and tokens are now minted with the new key: the same state gets
  // another string than before the rotation.
  auto re = json::parse(e->call("continue_workflow", json::serialize(json::object{{"stateToken", before.at("stateToken")}})));
  REQUIRE_FALSE(re.as_object().contains("error"));
  CHECK(re.at("stateToken") != before.at("stateToken"));
  CHECK(verify_op(*e).at("ok").as_bool());
}

TEST_CASE("keyring: rotate_key on a read-only store fails and leaves the keyring file as it was",
          "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_rot_ro");
  const std::string keyring = dir + "/keyring.json";
  { open_engine(dir); }
  const std::string before = slurp(keyring);
  json::object cfg = lmdb_config(dir, "durable");
  cfg["store"].as_object()["readOnly"] = true;
  auto ro = tokenrail::engine::open(json::value(cfg));
  REQUIRE(ro);
  CHECK(error_code((*ro)->call("rotate_key", "{}")) == "STORE_READ_ONLY");
  // A failed operation writes nothing: the file still has one key, current.
  CHECK(slurp(keyring) == before);
  auto ring = tokenrail::token::keyring::from_json(slurp(keyring));
  REQUIRE(ring);
  CHECK(ring->entries().size() == 1);
}

TEST_CASE("keyring: two processes rotating one after another never reuse a key id", "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_rot2");
  worker w({"serve", dir});
  expect_ready(w);
  auto e = open_engine(dir);   // holds key 1 only, in memory
  auto r1 = json::parse(ask(w, "rotate_key", "{}"));
  REQUIRE(r1.at("keyId").to_number<int>() == 2);
  // The worker mints with key 2 now.
  auto started = json::parse(ask(w, "start_workflow", R"({"workflowId":"lin5"})"));
  REQUIRE_FALSE(started.as_object().contains("error"));
  // Our engine re-reads the file before rotating: key 3, and key 2 is kept.
  auto r2 = json::parse(e->call("rotate_key", "{}"));
  INFO(json::serialize(r2));
  CHECK(r2.at("keyId").to_number<int>() == 3);
  CHECK(r2.at("previousKeyId").to_number<int>() == 2);
  // So the worker's key-2 tokens verify here (and after a reopen).
  auto adv = json::parse(e->call("continue_workflow", advance_request(started, "here")));
  INFO(json::serialize(adv));
  CHECK_FALSE(adv.as_object().contains("error"));
  auto ring = tokenrail::token::keyring::from_json(slurp(dir + "/keyring.json"));
  REQUIRE(ring);
  CHECK(ring->entries().size() == 3);
}

TEST_CASE("keyring: a host secret is shared by processes and writes no keyring file", "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_secret");
  auto cfg = lmdb_config(dir);
  cfg["keyring"] = json::object{{"secret", std::string(64, 'a')}};
  worker w({"serve", dir, json::serialize(cfg)});
  expect_ready(w);
  auto e = tokenrail::engine::open(json::value(cfg));
  REQUIRE(e);
  auto started = json::parse(ask(w, "start_workflow", R"({"workflowId":"lin5"})"));
  REQUIRE_FALSE(started.as_object().contains("error"));
  auto adv = json::parse((*e)->call("continue_workflow", advance_request(started, "here")));
  INFO(json::serialize(adv));
  CHECK_FALSE(adv.as_object().contains("error"));
  CHECK_FALSE(std::filesystem::exists(dir + "/keyring.json"));
  // A key rotated in memory would not survive a reopen: refused, nothing written.
  const auto entries = (*e)->internals().store->stats().entries;
  CHECK(error_code((*e)->call("rotate_key", "{}")) == "KEYRING_ERROR");
  CHECK((*e)->internals().store->stats().entries == entries);

  // Another secret on the same store does not accept those tokens.
  std::vector<std::string> rest;
  CHECK(w.finish(rest) == 0);
  e->reset();
  auto other_cfg = lmdb_config(dir);
  other_cfg["keyring"] = json::object{{"secret", std::string(64, 'b')}};
  auto other = tokenrail::engine::open(json::value(other_cfg));
  REQUIRE(other);
  auto refused = (*other)->call("continue_workflow", json::serialize(json::object{{"stateToken", started.at("stateToken")}}));
  CHECK(error_code(refused) == "TOKEN_INVALID");

  // A secret that is not hex is a config error with its pointer.
  auto bad_cfg = lmdb_config(dir);
  bad_cfg["keyring"] = json::object{{"secret", std::string(64, 'z')}};
  auto bad = tokenrail::engine::open(json::value(bad_cfg));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == tokenrail::errc::INVALID_CONFIG);
}

TEST_CASE("keyring: keyring.path puts the file where the host says", "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_path");
  const std::string elsewhere = fresh_dir("kr_path_keys") + "/ring.json";
  auto cfg = lmdb_config(dir);
  cfg["keyring"] = json::object{{"path", elsewhere}};
  auto e = tokenrail::engine::open(json::value(cfg));
  REQUIRE(e);
  CHECK(std::filesystem::exists(elsewhere));
  CHECK((stat_of(elsewhere).st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(dir + "/keyring.json"));

  // A keyring file others may read is refused, not silently used.
  e->reset();
  std::filesystem::permissions(elsewhere, std::filesystem::perms(0644));
  auto refused = tokenrail::engine::open(json::value(cfg));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == tokenrail::errc::KEYRING_ERROR);
}

TEST_CASE("keyring: an engine adopts a key another engine rotated in, without reopening", "[durability][keyring]") {
  const std::string dir = fresh_dir("kr_adopt");
  auto a = open_engine(dir);
  auto b = open_engine(dir);
  (void)start(*b);  // b has loaded the keyring (key 1) and works

  auto rotated = json::parse(a->call("rotate_key", "{}"));
  INFO(json::serialize(rotated));
  REQUIRE(rotated.at("keyId") == 2);
  auto fresh = start(*a);  // minted with key 2, which b has never seen

  auto r = json::parse(b->call("continue_workflow", advance_request(fresh, "advanced by the other engine")));
  INFO(json::serialize(r));
  CHECK_FALSE(r.as_object().contains("error"));
  CHECK(r.at("pending").at("stepId") == "s2");
}
