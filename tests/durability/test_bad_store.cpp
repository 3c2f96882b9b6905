// Bad store inputs through engine::open / engine::call (issue 4, D9, D14):
// each is a clear error as data, never a crash, and a failed operation
// writes nothing.
#include "durability/store_checks.hpp"
#include "engine/events.hpp"
#include "legacy_records.hpp"

#include <lmdb.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <sys/stat.h>
#include <sys/wait.h>

using namespace trdur;
namespace fs = std::filesystem;

namespace {

/// engine::open's error code for the store at dir ("" when it opened).
std::string open_error(const std::string& dir, json::object extra_store = {}) {
  auto cfg = lmdb_config(dir);
  for (auto& kv : extra_store) cfg["store"].as_object()[kv.key()] = kv.value();
  auto e = tokenrail::engine::open(json::value(cfg));
  if (e) return "";
  INFO(json::serialize(e.error().to_json()));
  CHECK_FALSE(e.error().message.empty());
  return std::string(tokenrail::errc_name(e.error().code));
}

/// A store with one run advanced once, closed again.
void make_store(const std::string& dir) {
  auto e = open_engine(dir);
  auto r = json::parse(e->call("start_workflow", R"({"workflowId":"lin5"})"));
  REQUIRE_FALSE(r.as_object().contains("error"));
  auto a = json::parse(e->call("continue_workflow", advance_request(r, "one")));
  REQUIRE_FALSE(a.as_object().contains("error"));
}

std::uint64_t entries(tokenrail::engine& e) { return e.internals().store->stats().entries; }

}  // namespace

TEST_CASE("bad store: a truncated data.mdb is STORE_CORRUPT", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_trunc");
  make_store(dir);
  const auto size = fs::file_size(dir + "/data.mdb");
  REQUIRE(size > 3 * 4096);
  // LMDB's two meta pages come first; the pages they point at follow. Any
  // cut that removes a page the current snapshot uses must be refused.
  SECTION("only the meta pages left") { fs::resize_file(dir + "/data.mdb", 2 * 4096); }
  SECTION("the last used page cut in half") { fs::resize_file(dir + "/data.mdb", size - 2048); }
  SECTION("only the first page left") { fs::resize_file(dir + "/data.mdb", 4096); }
  SECTION("a few bytes left") { fs::resize_file(dir + "/data.mdb", 100); }
  INFO("data.mdb was " << size << " bytes, now " << fs::file_size(dir + "/data.mdb"));
  CHECK(open_error(dir) == "STORE_CORRUPT");
}

TEST_CASE("bad store: random bytes in data.mdb are STORE_CORRUPT", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_random");
  std::mt19937 rng(7);
  {
    std::ofstream f(dir + "/data.mdb", std::ios::binary);
    for (int i = 0; i < 64 * 1024; ++i) f.put(static_cast<char>(rng()));
  }
  CHECK(open_error(dir) == "STORE_CORRUPT");
  // Random bytes over a real store's pages (meta pages kept) too.
  const std::string dir2 = fresh_dir("bad_random2");
  make_store(dir2);
  {
    std::fstream f(dir2 + "/data.mdb", std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(2 * 4096);
    for (int i = 0; i < 4 * 4096; ++i) f.put(static_cast<char>(rng()));
  }
  CHECK(open_error(dir2) == "STORE_CORRUPT");
}

TEST_CASE("bad store: a path that is a regular file is INVALID_CONFIG", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_file");
  const std::string file = dir + "/not-a-dir";
  std::ofstream(file) << "hello";
  CHECK(open_error(file) == "INVALID_CONFIG");
  CHECK(fs::file_size(file) == 5);   // left as it was
}

TEST_CASE("bad store: a directory without permission is STORE_READ_ONLY", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_perm");
  make_store(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);   // 0500: no writes
  const std::string empty_dir = fresh_dir("bad_perm_empty");
  fs::permissions(empty_dir, fs::perms::none);                             // 0000
  if (::geteuid() != 0) {
    CHECK(open_error(dir) == "STORE_READ_ONLY");
    CHECK(open_error(empty_dir) == "STORE_READ_ONLY");
  } else {
    // Root ignores permission bits, so the check runs in a forked child
    // that drops to an unprivileged user (nobody) before opening; the
    // child reports the codes on a pipe. No engine is open in this process
    // at this point, so the child inherits no LMDB environment.
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(p[0]);
      std::string out;
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
        out = "cannot-drop-privileges";
      } else {
        for (const auto& d : {dir, empty_dir}) {
          auto e = tokenrail::engine::open(json::value(lmdb_config(d)));
          out += (e ? std::string("opened") : std::string(tokenrail::errc_name(e.error().code))) + "\n";
        }
      }
      (void)!::write(p[1], out.data(), out.size());
      ::_exit(0);
    }
    ::close(p[1]);
    std::string got;
    char buf[256];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    ::close(p[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    REQUIRE(WIFEXITED(st));
    INFO("as nobody: " << got);
    CHECK(got == "STORE_READ_ONLY\nSTORE_READ_ONLY\n");
  }
  fs::permissions(dir, fs::perms::owner_all);
  fs::permissions(empty_dir, fs::perms::owner_all);
  // Nothing was written to the store by the refused opens: it still verifies.
  auto e = open_engine(dir);
  CHECK(verify_op(*e).at("ok").as_bool());
}

TEST_CASE("bad store: a read-only engine reads, and refuses writes with STORE_READ_ONLY", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_ro");
  make_store(dir);
  json::value started;
  {
    auto e = open_engine(dir);
    started = json::parse(e->call("start_workflow", R"({"workflowId":"lin5"})"));
  }
  auto cfg = lmdb_config(dir);
  cfg["store"].as_object()["readOnly"] = true;
  auto ro = tokenrail::engine::open(json::value(cfg));
  INFO((ro ? std::string("opened") : json::serialize(ro.error().to_json())));
  REQUIRE(ro);
  auto& e = **ro;
  const auto before = entries(e);
  auto run = json::parse(e.call("get_run", json::serialize(json::object{{"runId", started.at("session").at("runId")}})));
  CHECK_FALSE(run.as_object().contains("error"));
  CHECK(error_code(e.call("continue_workflow", advance_request(started, "x"))) == "STORE_READ_ONLY");
  CHECK(error_code(e.call("start_workflow", R"({"workflowId":"lin5"})")) == "STORE_READ_ONLY");
  CHECK(entries(e) == before);
}

TEST_CASE("bad store: a full map is STORE_FULL and the failed advance writes nothing", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_full");
  auto cfg = lmdb_config(dir);
  cfg["store"].as_object()["mapSizeBytes"] = 1 << 20;
  cfg["store"].as_object()["maxMapSizeBytes"] = 1 << 20;
  auto opened = tokenrail::engine::open(json::value(cfg));
  REQUIRE(opened);
  auto& e = **opened;
  auto at = json::parse(e.call("start_workflow", R"({"workflowId":"loop40"})"));
  REQUIRE_FALSE(at.as_object().contains("error"));
  const std::string notes(100 * 1024, 'n');
  std::string full_request, full_response;
  for (int i = 0; i < 40; ++i) {
    const std::string req = advance_request(at, std::to_string(i) + notes);
    std::string resp = e.call("continue_workflow", req);
    if (!error_code(resp).empty()) {
      full_request = req;
      full_response = resp;
      break;
    }
    at = json::parse(resp);
  }
  INFO(full_response.substr(0, 600));
  REQUIRE(error_code(full_response) == "STORE_FULL");
  const auto before = entries(e);
  const auto run_before = e.call("get_run", json::serialize(json::object{{"runId", at.at("session").at("runId")}}));
  // The same request again: still full, still nothing written (not a replay
  // of a half-recorded advance).
  CHECK(error_code(e.call("continue_workflow", full_request)) == "STORE_FULL");
  CHECK(entries(e) == before);
  CHECK(e.call("get_run", json::serialize(json::object{{"runId", at.at("session").at("runId")}})) == run_before);
  CHECK(verify_op(e).at("ok").as_bool());
  // Small advances still fit? Not necessarily; but reads always work, and a
  // reopen with a larger limit lets the same request through.
  opened->reset();
  cfg["store"].as_object()["maxMapSizeBytes"] = 64 << 20;
  auto bigger = tokenrail::engine::open(json::value(cfg));
  REQUIRE(bigger);
  auto ok = (*bigger)->call("continue_workflow", full_request);
  INFO(ok.substr(0, 300));
  CHECK(error_code(ok).empty());
  CHECK(verify_op(**bigger).at("ok").as_bool());
}

TEST_CASE("bad store: a store of a newer engine format is STORE_VERSION_UNSUPPORTED", "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_version");
  make_store(dir);
  {
    auto e = open_engine(dir);
    e->internals().store->write([](tokenrail::storage::write_transaction& tx) {
      tx.put(tokenrail::storage::table::meta, "format", "4");
    });
  }
  auto e = tokenrail::engine::open(json::value(lmdb_config(dir)));
  REQUIRE_FALSE(e);
  INFO(json::serialize(e.error().to_json()));
  CHECK(e.error().code == tokenrail::errc::STORE_VERSION_UNSUPPORTED);
  CHECK(e.error().details.at("found") == "4");
  // The refused open did not rewrite the marker.
  auto s = tokenrail::storage::open_lmdb_store({.path = dir});
  REQUIRE(s);
  std::optional<std::string> marker;
  (*s)->read([&](tokenrail::storage::read_transaction& tx) {
    if (auto v = tx.get(tokenrail::storage::table::meta, "format")) marker = std::string(*v);
  });
  CHECK(marker == "4");
}

TEST_CASE("bad store: a store of format 1 (one record per event, leaves in the status) opens, verifies and is marked anew",
          "[durability][badstore]") {
  namespace ed = tokenrail::engine_detail;
  const std::string dir = fresh_dir("old_format");
  make_store(dir);
  auto marker_of = [&] {
    auto s = tokenrail::storage::open_lmdb_store({.path = dir});
    REQUIRE(s);
    std::string m;
    (*s)->read([&](tokenrail::storage::read_transaction& tx) { m = std::string(*tx.get(tokenrail::storage::table::meta, "format")); });
    return m;
  };
  // Rewrite the store as format 1 wrote it: every event in its own record
  // (hash ‖ canonical text, a form every format reads), the statuses with
  // their leaves inline, marker "1".
  std::size_t groups = 0;
  {
    auto s = tokenrail::storage::open_lmdb_store({.path = dir});
    REQUIRE(s);
    (*s)->write([&](tokenrail::storage::write_transaction& tx) {
      std::vector<std::pair<std::string, std::string>> records;
      tx.scan(tokenrail::storage::table::events, "", [&](std::string_view k, std::string_view v) {
        records.emplace_back(k, v);
        return true;
      });
      for (const auto& [key, value] : records) {
        if (static_cast<unsigned char>(value[32]) != 2) continue;
        ++groups;
        const std::string session = key.substr(0, key.size() - 9);
        tx.erase(tokenrail::storage::table::events, key);
        ed::decode_events(value, [&](ed::event&& ev) {
          tx.put(tokenrail::storage::table::events, ed::event_key(session, ev.index),
                 std::string(ed::as_view(ev.hash)) + ev.canonical);
        });
      }
      trlegacy::rewrite_statuses_as_v1(tx);
      tx.put(tokenrail::storage::table::meta, "format", "1");
    });
  }
  REQUIRE(groups > 0);
  // A read-only engine reads it and leaves the marker alone.
  json::object ro = lmdb_config(dir);
  ro["store"].as_object()["readOnly"] = true;
  {
    auto e = tokenrail::engine::open(json::value(ro));
    REQUIRE(e);
    CHECK(verify_op(**e).at("ok").as_bool());
  }
  CHECK(marker_of() == "1");
  // A writable engine verifies it, marks it "3" and advances on it.
  auto e = open_engine(dir);
  CHECK(marker_of() == "3");
  CHECK(verify_op(*e).at("ok").as_bool());
  auto r = json::parse(e->call("start_workflow", R"({"workflowId":"lin5"})"));
  REQUIRE_FALSE(r.as_object().contains("error"));
  auto a = json::parse(e->call("continue_workflow", advance_request(r, "two")));
  REQUIRE_FALSE(a.as_object().contains("error"));
  CHECK(verify_op(*e).at("ok").as_bool());
}

// Format 2 listed every leaf of a run in its status record; format 3 keeps
// the leaves but the newest as keys. A forked run of a format-2 store keeps
// its tips through a read-only open, a writable one, and the next fork,
// whose write converts the record.
TEST_CASE("bad store: a forked run of a format-2 store keeps its tips and is converted when next written",
          "[durability][badstore][forks]") {
  namespace ed = tokenrail::engine_detail;
  using tokenrail::storage::table;
  const std::string dir = fresh_dir("format2_forks");
  auto call = [](tokenrail::engine& e, const std::string& op, const json::value& req) {
    auto v = json::parse(e.call(op, json::serialize(req)));
    REQUIRE_FALSE(v.as_object().contains("error"));
    return v;
  };
  auto rehydrate = [&](tokenrail::engine& e, const json::value& r) {
    return call(e, "continue_workflow", json::object{{"stateToken", r.at("stateToken")}});
  };
  auto tips_of = [&](tokenrail::engine& e, const json::value& run_id) {
    return call(e, "get_run", json::object{{"runId", run_id}}).at("status").at("tips");
  };
  json::value run_id, tips_before, a2;
  {
    auto e = open_engine(dir);
    auto r0 = json::parse(e->call("start_workflow", R"({"workflowId":"lin5"})"));
    run_id = r0.at("session").at("runId");
    auto a1 = json::parse(e->call("continue_workflow", advance_request(r0, "one")));     // node 1
    a2 = json::parse(e->call("continue_workflow", advance_request(a1, "two")));          // node 2
    (void)call(*e, "continue_workflow", json::parse(advance_request(rehydrate(*e, r0), "fork a")));   // node 3
    (void)call(*e, "continue_workflow", json::parse(advance_request(rehydrate(*e, a1), "fork b")));   // node 4
    tips_before = tips_of(*e, run_id);
  }
  const std::string rid(run_id.as_string());
  REQUIRE(tips_before == json::array{json::value(rid + "/2"), json::value(rid + "/3"), json::value(rid + "/4")});
  {
    auto s = tokenrail::storage::open_lmdb_store({.path = dir});
    REQUIRE(s);
    (*s)->write([&](tokenrail::storage::write_transaction& tx) {
      CHECK(trlegacy::rewrite_statuses_as_v1(tx) == 1);
      tx.put(table::meta, "format", "2");
    });
  }
  json::object ro = lmdb_config(dir);
  ro["store"].as_object()["readOnly"] = true;
  {
    auto e = tokenrail::engine::open(json::value(ro));
    REQUIRE(e);
    CHECK(tips_of(**e, run_id) == tips_before);
    CHECK(verify_op(**e).at("ok").as_bool());
  }
  auto e = open_engine(dir);
  CHECK(tips_of(*e, run_id) == tips_before);
  CHECK(verify_op(*e).at("ok").as_bool());
  // Advancing node 2, an older leaf: node 4 stays a leaf, node 2 stops being one.
  (void)call(*e, "continue_workflow", json::parse(advance_request(a2, "three")));   // node 5
  CHECK(tips_of(*e, run_id) == json::array{json::value(rid + "/3"), json::value(rid + "/4"), json::value(rid + "/5")});
  CHECK(verify_op(*e).at("ok").as_bool());
  // The record was converted: version 2, the older leaves as keys.
  const std::uint64_t run = *ed::parse_run_id(rid);
  e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    auto st = tx.get(table::runs, ed::run_status_key(run));
    REQUIRE(st);
    CHECK((*st)[0] == 2);
    std::vector<std::uint32_t> keys;
    tx.scan(table::runs, ed::run_tip_prefix(run), [&](std::string_view k, std::string_view) {
      keys.push_back(ed::get_be32(k.data() + 9));
      return true;
    });
    CHECK(keys == std::vector<std::uint32_t>{3, 4});
  });
}

TEST_CASE("bad store: a newer LMDB store format record is STORE_VERSION_UNSUPPORTED through engine::open",
          "[durability][badstore]") {
  const std::string dir = fresh_dir("bad_store_version");
  make_store(dir);
  // The backend's own record (src/storage/lmdb_env.cpp: database "_store",
  // key "format_version"), written with bare LMDB as a newer build would.
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, "_store", 0, &dbi) == 0);
  std::string key = "format_version", value = "99";
  MDB_val k{key.size(), key.data()}, v{value.size(), value.data()};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);

  auto e = tokenrail::engine::open(json::value(lmdb_config(dir)));
  REQUIRE_FALSE(e);
  INFO(json::serialize(e.error().to_json()));
  CHECK(e.error().code == tokenrail::errc::STORE_VERSION_UNSUPPORTED);
  CHECK(e.error().details.at("storeFormat") == 99);
}
