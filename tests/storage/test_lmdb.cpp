// What only the LMDB backend does (the shared behaviour is in
// conformance.cpp): durability modes, map growth and its limit, bad stores
// as errors, the format version, one store opened twice in a process,
// several processes on one store, and group commit.
#include "storage/backend_fixture.hpp"
#include "storage/lmdb_env.hpp"   // white-box: lmdb_error

#include <catch2/catch.hpp>

#include <lmdb.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// A disk model for the durability promise (the group-commit test below).
// A SIGKILL cannot tell a synced commit from one in the page cache; this
// can. While armed, this executable's pwrite and fdatasync (which LMDB's
// shared library binds to before libc's) watch one store's data.mdb:
// - a meta page write (the first two pages) makes the commit current: the
//   keys whose write bodies this thread ran since its last meta write
//   belong to that txnid;
// - an fdatasync covers every meta page written before it started: when it
//   completes, those txnids are "on disk". A meta page written through a
//   descriptor opened O_DSYNC is on disk when its write returns.
// A write() that returns before its txnid is on disk, or a read that sees
// a key whose txnid is not, is a durability bug: a power failure at that
// moment would undo something a caller was already told about.
namespace disk_model {

struct state {
  std::mutex m;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t durable = 0;  // every commit with txnid <= this is on disk
  std::uint64_t newest = 0;   // newest meta page written
  std::uint64_t syncs = 0;
  std::unordered_map<std::string, std::uint64_t> txnid_of;
};
std::atomic<state*> armed{nullptr};
thread_local std::vector<std::string> pending;  // keys of bodies this thread ran, not yet in a meta page

bool is_target(const state& s, int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && st.st_ino == s.ino && st.st_dev == s.dev;
}

/// LMDB 0.9 data format (MDB_DATA_VERSION 1), 4 KiB pages: meta pages 0
/// and 1, the MDB_meta after the 16-byte page header, its last field
/// mm_txnid at byte 144 of the page. The test checks this reading against
/// mdb_env_info at the end, so a layout change fails loudly.
std::uint64_t newest_meta_txnid(int fd) {
  std::uint64_t best = 0;
  for (off_t page : {off_t{0}, off_t{4096}}) {
    std::uint64_t t = 0;
    if (::syscall(SYS_pread64, fd, &t, sizeof t, page + 144) == static_cast<long>(sizeof t)) best = std::max(best, t);
  }
  return best;
}

}  // namespace disk_model

extern "C" __attribute__((visibility("default"))) ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  auto* s = disk_model::armed.load();
  if (!s || !disk_model::is_target(*s, fd)) return ::syscall(SYS_pwrite64, fd, buf, n, off);
  std::lock_guard lock(s->m);  // the meta pages are read whole, never half written
  const long rc = ::syscall(SYS_pwrite64, fd, buf, n, off);
  if (rc == static_cast<long>(n) && off < 2 * 4096) {
    const std::uint64_t t = disk_model::newest_meta_txnid(fd);
    s->newest = std::max(s->newest, t);
    for (auto& k : disk_model::pending) s->txnid_of[k] = t;
    disk_model::pending.clear();
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl != -1 && (fl & O_DSYNC) == O_DSYNC) s->durable = std::max(s->durable, t);
  }
  return rc;
}

extern "C" __attribute__((visibility("default"))) int fdatasync(int fd) {
  auto* s = disk_model::armed.load();
  if (!s || !disk_model::is_target(*s, fd)) return static_cast<int>(::syscall(SYS_fdatasync, fd));
  std::uint64_t covers;
  {
    std::lock_guard lock(s->m);
    covers = disk_model::newest_meta_txnid(fd);
  }
  const int rc = static_cast<int>(::syscall(SYS_fdatasync, fd));
  if (rc == 0) {
    std::lock_guard lock(s->m);
    s->durable = std::max(s->durable, covers);
    ++s->syncs;
  }
  return rc;
}

using namespace tokenrail;
using namespace tokenrail::storage;
using tokenrail::storage::testing::scratch_dir;

namespace {

std::unique_ptr<store> open_store(const std::string& path, durability mode = durability::durable,
                                  std::uint64_t initial = 1ull << 20, std::uint64_t max = 0) {
  lmdb_options o;
  o.path = path;
  o.mode = mode;
  o.initial_map_bytes = initial;
  o.max_map_bytes = max;
  auto r = open_lmdb_store(o);
  if (!r) FAIL("open failed: " << r.error().message);
  return std::move(r).value();
}

errc open_error(const std::string& path, bool read_only = false) {
  lmdb_options o;
  o.path = path;
  o.read_only = read_only;
  auto r = open_lmdb_store(o);
  if (r) return errc::INTERNAL;  // "no error" shows up as a mismatch
  return r.error().code;
}

std::optional<std::string> get(store& s, table t, std::string_view key) {
  std::optional<std::string> out;
  s.read([&](read_transaction& tx) {
    if (auto v = tx.get(t, key)) out = std::string(*v);
  });
  return out;
}

void put(store& s, table t, std::string_view key, std::string_view value) {
  s.write([&](write_transaction& tx) { tx.put(t, key, value); });
}

void increment(store& s, std::string_view key) {
  s.write([&](write_transaction& tx) {
    auto v = tx.get(table::meta, key);
    const auto n = v ? std::stoull(std::string(*v)) : 0;
    tx.put(table::meta, key, std::to_string(n + 1));
  });
}

std::string fmt_key(int batch, int i) { return "b" + std::to_string(batch) + "/" + std::to_string(i); }


/// A store with some content, closed again.
void populate(const std::string& path, int n = 2000) {
  auto s = open_store(path);
  s->write([&](write_transaction& tx) {
    for (int i = 0; i < n; ++i) tx.put(table::nodes, "k" + std::to_string(i), std::string(200, 'v'));
  });
}

/// Runs fn in a forked child and returns its exit status (0 = its checks held).
template <class F>
int in_child(F fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = fn();
    } catch (...) {
      code = 3;
    }
    std::_Exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("lmdb: both durability modes commit and survive reopen", "[storage][lmdb]") {
  for (auto mode : {durability::durable, durability::relaxed}) {
    scratch_dir dir("lmdb-modes");
    {
      auto s = open_store(dir.str(), mode);
      for (int i = 0; i < 20; ++i) put(*s, table::runs, "r" + std::to_string(i), "v");
    }
    auto s = open_store(dir.str(), mode == durability::durable ? durability::relaxed : durability::durable);
    std::size_t n = 0;
    s->read([&](read_transaction& tx) {
      tx.scan(table::runs, "r", [&](std::string_view, std::string_view) {
        ++n;
        return true;
      });
    });
    CHECK(n == 20);
  }
}

TEST_CASE("lmdb: a durable handle on an env another handle opened relaxed", "[storage][lmdb]") {
  scratch_dir dir("lmdb-mixed");
  auto relaxed = open_store(dir.str(), durability::relaxed);
  auto durable = open_store(dir.str(), durability::durable);  // shares the env; syncs after its commits
  put(*durable, table::runs, "d", "1");
  put(*relaxed, table::runs, "r", "1");
  CHECK(get(*relaxed, table::runs, "d") == "1");
  CHECK(get(*durable, table::runs, "r") == "1");
}

TEST_CASE("lmdb: the map grows by itself from a tiny initial size", "[storage][lmdb]") {
  scratch_dir dir("lmdb-grow");
  auto s = open_store(dir.str(), durability::relaxed, 64 << 10);
  const std::string value(4000, 'g');
  for (int batch = 0; batch < 40; ++batch)
    s->write([&](write_transaction& tx) {
      for (int i = 0; i < 50; ++i) tx.put(table::events, fmt_key(batch, i), value);
    });
  CHECK(s->stats().entries == 40 * 50);
  CHECK(s->stats().bytes_used > 7u << 20);
  CHECK(get(*s, table::events, fmt_key(39, 49)) == value);
  CHECK(get(*s, table::events, fmt_key(0, 0)) == value);
}

TEST_CASE("lmdb: a full map at max_map_bytes is STORE_FULL, and nothing is lost", "[storage][lmdb]") {
  scratch_dir dir("lmdb-full");
  auto s = open_store(dir.str(), durability::relaxed, 256 << 10, 2 << 20);
  const std::string value(100 << 10, 'f');
  int written = 0;
  errc code = errc::INTERNAL;
  for (int i = 0; i < 100; ++i) {
    try {
      put(*s, table::workflows, "w" + std::to_string(i), value);
      ++written;
    } catch (const failure& f) {
      code = f.err().code;
      CHECK(f.err().details.as_object().at("maxMapBytes").to_number<std::uint64_t>() == (2u << 20));
      break;
    }
  }
  CHECK(code == errc::STORE_FULL);
  CHECK(written > 5);  // it did grow from 256 KB to the 2 MB limit first
  CHECK(written < 20);
  // What was committed is intact, the failed write left nothing, and small
  // writes that still fit go through.
  CHECK(get(*s, table::workflows, "w0") == value);
  CHECK(get(*s, table::workflows, "w" + std::to_string(written - 1)) == value);
  CHECK_FALSE(get(*s, table::workflows, "w" + std::to_string(written)));
  s->write([](write_transaction& tx) { tx.erase(table::workflows, "w0"); });
  put(*s, table::runs, "small", "ok");
  CHECK(get(*s, table::runs, "small") == "ok");
}

TEST_CASE("lmdb: a truncated data.mdb is STORE_CORRUPT", "[storage][lmdb]") {
  scratch_dir dir("lmdb-trunc");
  populate(dir.str());
  const auto data = dir.path() / "data.mdb";
  const auto size = std::filesystem::file_size(data);
  REQUIRE(size > 64 * 1024);
  SECTION("cut in the middle") { std::filesystem::resize_file(data, size / 2); }
  SECTION("cut to less than the meta pages") { std::filesystem::resize_file(data, 100); }
  CHECK(open_error(dir.str()) == errc::STORE_CORRUPT);
  CHECK(open_error(dir.str(), true) == errc::STORE_CORRUPT);
}

TEST_CASE("lmdb: random bytes in data.mdb are STORE_CORRUPT", "[storage][lmdb]") {
  scratch_dir dir("lmdb-random");
  populate(dir.str());
  const auto data = dir.path() / "data.mdb";
  const auto size = std::filesystem::file_size(data);
  std::mt19937 rng(42);
  std::string noise(size, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  {
    std::ofstream out(data, std::ios::binary | std::ios::trunc);
    out.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  }
  lmdb_options o;
  o.path = dir.str();
  auto r = open_lmdb_store(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::STORE_CORRUPT);
  CHECK(r.error().details.as_object().at("path").as_string() == std::filesystem::canonical(dir.path()).string());
}

TEST_CASE("lmdb: a path that is a regular file is INVALID_CONFIG", "[storage][lmdb]") {
  scratch_dir dir("lmdb-file");
  std::filesystem::create_directories(dir.path());
  const auto file = dir.path() / "not-a-dir";
  std::ofstream(file) << "hello";
  CHECK(open_error(file.string()) == errc::INVALID_CONFIG);
  CHECK(open_error((file / "below").string()) == errc::STORAGE_ERROR);  // ENOTDIR
  CHECK(open_error("") == errc::INVALID_CONFIG);
  CHECK(open_error((dir.path() / "missing").string(), true) == errc::INVALID_CONFIG);
}

TEST_CASE("lmdb: a directory without write permission is STORE_READ_ONLY", "[storage][lmdb]") {
  // Root ignores permission bits, so when running as root the check runs in
  // a child that drops to the unprivileged user "nobody" (65534) first.
  scratch_dir dir("lmdb-perm");
  populate(dir.str(), 10);
  const auto fresh = dir.path() / "fresh";
  std::filesystem::create_directories(fresh);
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(fresh.c_str(), 0555);
  for (auto& f : {dir.path() / "data.mdb", dir.path() / "lock.mdb"}) ::chmod(f.c_str(), 0644);
  const bool root = ::geteuid() == 0;
  if (!root) ::chmod(dir.path().c_str(), 0555);
  const int status = in_child([&] {
    if (root) {
      // Let "nobody" reach the scratch directory at all.
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 20;
    }
    int bad = 0;
    if (open_error(fresh.string()) != errc::STORE_READ_ONLY) bad |= 1;            // cannot create files
    if (open_error(dir.str()) != errc::STORE_READ_ONLY) bad |= 2;                 // cannot write the files
    return bad;
  });
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(fresh.c_str(), 0755);
  if (status == 20) {
    WARN("could not drop privileges; permission case not tested");
    return;
  }
  // Unreachable scratch path for "nobody" (a parent directory with mode 0700)
  // shows up as STORE_READ_ONLY too (EACCES); either way the code is checked.
  CHECK(status == 0);
}

TEST_CASE("lmdb: a store of a newer format version is refused", "[storage][lmdb]") {
  scratch_dir dir("lmdb-format");
  populate(dir.str(), 1);
  // Rewrite the backend's format record with raw LMDB, as a newer build would.
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  REQUIRE(mdb_env_open(env, dir.str().c_str(), 0, 0600) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, "_store", 0, &dbi) == 0);
  std::string k = "format_version", v = "99";
  MDB_val key{k.size(), k.data()}, val{v.size(), v.data()};
  REQUIRE(mdb_put(txn, dbi, &key, &val, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);

  lmdb_options o;
  o.path = dir.str();
  auto r = open_lmdb_store(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::STORE_VERSION_UNSUPPORTED);
  CHECK(r.error().details.as_object().at("storeFormat").to_number<std::int64_t>() == 99);
  o.read_only = true;
  CHECK(open_lmdb_store(o).error().code == errc::STORE_VERSION_UNSUPPORTED);
}

TEST_CASE("lmdb: read-only handles read and refuse writes", "[storage][lmdb]") {
  scratch_dir dir("lmdb-ro");
  populate(dir.str(), 3);
  lmdb_options o;
  o.path = dir.str();
  o.read_only = true;
  auto r = open_lmdb_store(o);
  REQUIRE(r);
  auto& s = *r.value();
  CHECK(get(s, table::nodes, "k1") == std::string(200, 'v'));
  CHECK_FALSE(get(s, table::runs, "x"));
  try {
    put(s, table::runs, "x", "y");
    FAIL("write accepted");
  } catch (const failure& f) {
    CHECK(f.err().code == errc::STORE_READ_ONLY);
  }
}

TEST_CASE("lmdb: one store opened twice in one process shares the environment", "[storage][lmdb]") {
  scratch_dir dir("lmdb-twice");
  auto a = open_store(dir.str());
  // The same directory through another spelling.
  auto b = open_store(dir.str() + "/./");
  put(*a, table::runs, "from-a", "1");
  CHECK(get(*b, table::runs, "from-a") == "1");
  put(*b, table::runs, "from-b", "1");
  a.reset();  // closing one handle must not break the other (LMDB's fcntl-lock pitfall)
  CHECK(get(*b, table::runs, "from-b") == "1");
  put(*b, table::runs, "after", "1");
  // Concurrent writers through both handles.
  auto c = open_store(dir.str());
  std::thread t1([&] { for (int i = 0; i < 50; ++i) increment(*b, "n"); });
  std::thread t2([&] { for (int i = 0; i < 50; ++i) increment(*c, "n"); });
  t1.join();
  t2.join();
  CHECK(get(*c, table::meta, "n") == "100");
  b.reset();
  c.reset();
  auto d = open_store(dir.str());
  CHECK(get(*d, table::runs, "after") == "1");
}

TEST_CASE("lmdb: two processes write one store at once", "[storage][lmdb]") {
  scratch_dir dir("lmdb-2proc");
  std::filesystem::create_directories(dir.path());
  constexpr int n = 150;
  auto work = [&](const char* who, std::uint64_t initial) {
    auto s = open_store(dir.str(), durability::relaxed, initial);
    for (int i = 0; i < n; ++i) {
      put(*s, table::runs, std::string(who) + std::to_string(i), std::string(i % 7 == 0 ? 20000 : 100, 'x'));
      increment(*s, "counter");
    }
    return 0;
  };
  // Fork before the parent opens anything: LMDB envs do not survive fork.
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 3;
    try {
      // A small map in the child: it grows the map while the parent has it
      // open, so the parent meets MDB_MAP_RESIZED and must adopt the size.
      code = work("child/", 64 << 10);
    } catch (...) {
    }
    std::_Exit(code);
  }
  work("parent/", 1 << 20);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto s = open_store(dir.str());
  CHECK(get(*s, table::meta, "counter") == std::to_string(2 * n));
  std::size_t child = 0, parent = 0;
  s->read([&](read_transaction& tx) {
    tx.scan(table::runs, "child/", [&](std::string_view, std::string_view) { return ++child, true; });
    tx.scan(table::runs, "parent/", [&](std::string_view, std::string_view) { return ++parent, true; });
  });
  CHECK(child == n);
  CHECK(parent == n);
}

/// Thread 0 writes "t0" and holds the write transaction until threads
/// 1..7 have all called `writer(t)` and waited a moment in the queue; the
/// next leader then commits their seven bodies as one batch.
static void batch_behind_held_writer(store& s, const std::function<void(int)>& writer) {
  constexpr int threads = 8;
  std::atomic<int> queued{0};
  std::atomic<bool> inside{false}, release{false};
  std::vector<std::thread> pool;
  pool.emplace_back([&] {
    s.write([&](write_transaction& tx) {
      tx.put(table::runs, "t0", "v");
      inside = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  while (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] {
      ++queued;
      writer(t);
    });
  while (queued.load() < threads - 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them reach the queue
  release = true;
  for (auto& t : pool) t.join();
}

TEST_CASE("lmdb: concurrent writers are committed together (group commit)", "[storage][lmdb]") {
  scratch_dir dir("lmdb-group");
  auto s = open_store(dir.str());
  constexpr int threads = 8;
  std::atomic<int> foreign{0};
  // The bodies of threads 1..7 run on the next leader's thread, not on
  // their callers'.
  batch_behind_held_writer(*s, [&](int t) {
    const auto caller = std::this_thread::get_id();
    try {
      s->write([&](write_transaction& tx) {
        if (std::this_thread::get_id() != caller) ++foreign;
        tx.put(table::runs, "t" + std::to_string(t), "v");
        if (t == 3) throw std::runtime_error("only mine");
      });
      if (t == 3) ++foreign, foreign += 1000;  // must not happen
    } catch (const std::runtime_error& e) {
      if (t != 3 || std::string(e.what()) != "only mine") foreign += 1000;
    }
  });
  CHECK(foreign > 0);
  CHECK(foreign < 1000);
  for (int t = 0; t < threads; ++t) CHECK(get(*s, table::runs, "t" + std::to_string(t)) == (t == 3 ? std::nullopt : std::optional<std::string>("v")));
}

TEST_CASE("lmdb: every durable write that returned survives SIGKILL", "[storage][lmdb]") {
  scratch_dir dir("lmdb-kill");
  std::filesystem::create_directories(dir.path());
  std::mt19937 rng(7);
  std::set<std::string> reported;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      try {
        auto s = open_store(dir.str());
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t)
          writers.emplace_back([&, t] {
            for (int i = 0;; ++i) {
              const std::string key = "r" + std::to_string(round) + "/" + std::to_string(t) + "/" + std::to_string(i);
              put(*s, table::runs, key, "v");
              const std::string line = key + "\n";
              if (::write(fds[1], line.data(), line.size()) < 0) std::_Exit(4);
            }
          });
        for (auto& w : writers) w.join();
      } catch (...) {
      }
      std::_Exit(3);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 120));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    std::string text;
    char buf[4096];
    for (ssize_t got; (got = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(got));
    ::close(fds[0]);
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      reported.insert(text.substr(start, nl - start));
    // The store opens cleanly after the kill and holds every reported write.
    auto s = open_store(dir.str());
    std::size_t missing = 0;
    for (auto& k : reported)
      if (!get(*s, table::runs, k)) ++missing;
    CHECK(missing == 0);
  }
  CHECK(reported.size() > 10);
}

TEST_CASE("lmdb: random bytes behind intact meta pages are an error, not a crash", "[storage][lmdb]") {
  // The meta pages are fine, so the damage shows only when the damaged pages
  // are read. LMDB trusts its pages (garbage page numbers end in SIGBUS), so
  // opening walks them with bounds checks first (lmdb_verify.cpp). Run in a
  // child so that a crash fails this case instead of killing the runner.
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    scratch_dir dir("lmdb-random-pages");
    populate(dir.str(), 3000);
    const auto data = dir.path() / "data.mdb";
    const auto size = std::filesystem::file_size(data);
    std::mt19937 rng(seed);
    {
      std::fstream f(data, std::ios::binary | std::ios::in | std::ios::out);
      const std::uint64_t page = 4096;
      for (std::uint64_t off = 2 * page; off + page <= size; off += page) {
        std::string noise(page, '\0');
        for (auto& c : noise) c = static_cast<char>(rng());
        f.seekp(static_cast<std::streamoff>(off));
        f.write(noise.data(), static_cast<std::streamsize>(noise.size()));
      }
    }
    const int status = in_child([&] {
      lmdb_options o;
      o.path = dir.str();
      auto r = open_lmdb_store(o);
      if (!r) return r.error().code == errc::STORE_CORRUPT ? 0 : 10;
      try {
        r.value()->read([](read_transaction& tx) {
          tx.scan(table::nodes, "", [](std::string_view, std::string_view) { return true; });
        });
      } catch (const failure& f) {
        return f.err().code == errc::STORE_CORRUPT ? 0 : 11;
      }
      return 12;  // garbage read as if it were fine
    });
    INFO("seed " << seed);
    CHECK(status == 0);
  }
}

TEST_CASE("lmdb: scattered flipped bytes never crash open or a full read", "[storage][lmdb]") {
  // Bytes flipped inside values are not detectable (LMDB keeps no
  // checksums) and read back changed; anywhere else they must be
  // STORE_CORRUPT. Either way: no crash.
  int detected = 0;
  for (unsigned seed = 10; seed < 30; ++seed) {
    scratch_dir dir("lmdb-flip");
    {
      auto s = open_store(dir.str());
      s->write([&](write_transaction& tx) {
        for (int i = 0; i < 3000; ++i) tx.put(table::nodes, "k" + std::to_string(i), std::string(i % 100 == 0 ? 9000 : 150, 'v'));
      });
    }
    const auto data = dir.path() / "data.mdb";
    const auto size = std::filesystem::file_size(data);
    std::mt19937_64 rng(seed);
    {
      std::fstream f(data, std::ios::binary | std::ios::in | std::ios::out);
      for (int i = 0; i < 16; ++i) {
        f.seekp(static_cast<std::streamoff>(8192 + rng() % (size - 8192)));
        const char c = static_cast<char>(rng());
        f.write(&c, 1);
      }
    }
    const int status = in_child([&] {
      lmdb_options o;
      o.path = dir.str();
      auto r = open_lmdb_store(o);
      if (!r) return r.error().code == errc::STORE_CORRUPT ? 0 : 10;
      try {
        r.value()->read([](read_transaction& tx) {
          for (auto t : {table::nodes, table::meta, table::runs})
            tx.scan(t, "", [](std::string_view, std::string_view) { return true; });
        });
      } catch (const failure& f) {
        return f.err().code == errc::STORE_CORRUPT ? 0 : 11;
      }
      return 12;  // damage only inside values
    });
    INFO("seed " << seed);
    CHECK((status == 0 || status == 12));
    if (status == 0) ++detected;
  }
  CHECK(detected > 0);
}

TEST_CASE("lmdb: a map grown by another process is adopted (MDB_MAP_RESIZED)", "[storage][lmdb]") {
  scratch_dir dir("lmdb-resized");
  auto s = open_store(dir.str(), durability::relaxed, 1 << 20);
  put(*s, table::runs, "before", "1");
  // The child opens its own env (the registry of a forked child starts
  // empty) and grows the map far beyond the parent's 1 MB.
  const int status = in_child([&] {
    auto c = open_store(dir.str(), durability::relaxed, 64 << 10);
    const std::string big(256 << 10, 'b');
    for (int i = 0; i < 32; ++i) put(*c, table::workflows, "w" + std::to_string(i), big);
    return 0;
  });
  REQUIRE(status == 0);
  // Without adopting the new size, these would fail with MDB_MAP_RESIZED.
  CHECK(get(*s, table::workflows, "w31") == std::string(256 << 10, 'b'));
  put(*s, table::runs, "after", "1");
  CHECK(get(*s, table::runs, "after") == "1");
  CHECK(s->stats().entries == 34);
}

TEST_CASE("lmdb: in a group commit, only the body that does not fit gets STORE_FULL", "[storage][lmdb]") {
  scratch_dir dir("lmdb-group-full");
  auto s = open_store(dir.str(), durability::relaxed, 256 << 10, 2 << 20);
  std::vector<errc> outcome(8, errc::INTERNAL);
  batch_behind_held_writer(*s, [&](int t) {
    try {
      s->write([&](write_transaction& tx) {
        // Thread 4 writes more than the whole store may hold.
        tx.put(table::runs, "t" + std::to_string(t), std::string(t == 4 ? (3 << 20) : 1000, 'x'));
      });
      outcome[t] = errc::STORAGE_ERROR;  // stands for "committed"
    } catch (const failure& f) {
      outcome[t] = f.err().code;
    }
  });
  for (int t = 1; t < 8; ++t) {
    INFO("thread " << t);
    CHECK(outcome[t] == (t == 4 ? errc::STORE_FULL : errc::STORAGE_ERROR));
    CHECK(static_cast<bool>(get(*s, table::runs, "t" + std::to_string(t))) == (t != 4));
  }
}

TEST_CASE("lmdb: the map grows while readers never pause", "[storage][lmdb]") {
  // Readers that overlap without a gap pin old pages, so the map fills and
  // must grow; growing needs every reader of the process out for a moment.
  // A reader-preferring lock would starve the writer here forever.
  scratch_dir dir("lmdb-grow-busy");
  auto s = open_store(dir.str(), durability::relaxed, 64 << 10);
  put(*s, table::runs, "x", "0");
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        s->read([&](read_transaction& tx) {
          (void)tx.get(table::runs, "x");
          std::this_thread::yield();
        });
        ++reads;
      }
    });
  // The readers are running before the first write (on a loaded machine a
  // thread can otherwise start only after the writes are done).
  while (reads.load() < 4) std::this_thread::yield();
  const std::string value(2000, 'g');
  for (int i = 0; i < 400; ++i)
    s->write([&](write_transaction& tx) {
      tx.put(table::runs, "x", std::to_string(i));
      tx.put(table::events, "e" + std::to_string(i), value);
    });
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(get(*s, table::runs, "x") == "399");
  CHECK(s->stats().entries == 401);
}

TEST_CASE("lmdb: a durable write returns only after its commit is synced (disk model, group commit)",
          "[storage][lmdb][durability]") {
  // 8 writers group-commit through one handle while 2 readers read what
  // the writers are writing; the disk model above checks every returned
  // write and every value a reader saw against what an fdatasync covered.
  // Also a durable handle on an environment another handle opened relaxed
  // (MDB_NOSYNC: that handle syncs after each of its commits).
  const bool relaxed_env = GENERATE(false, true);
  INFO((relaxed_env ? "durable handle on a relaxed env" : "durable env"));
  scratch_dir dir("lmdb-diskmodel");
  std::unique_ptr<store> keep_relaxed;
  if (relaxed_env) keep_relaxed = open_store(dir.str(), durability::relaxed, 64ull << 20);
  auto s = open_store(dir.str(), durability::durable, 64ull << 20);  // no map growth: bodies run once
  disk_model::state model;
  struct stat st;
  REQUIRE(::stat((dir.str() + "/data.mdb").c_str(), &st) == 0);
  model.dev = st.st_dev;
  model.ino = st.st_ino;
  disk_model::armed = &model;

  constexpr int writers = 8, per_writer = 60;
  auto writer_key = [](int t, int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "w%d/%d", t, i);
    return std::string(buf);
  };
  std::array<std::atomic<int>, writers> started{};
  std::atomic<int> unknown{0}, early_writes{0}, early_reads{0}, seen{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < writers; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_writer; ++i) {
        const std::string key = writer_key(t, i);
        started[t] = i;  // readers may look for it from now on
        s->write([&](write_transaction& tx) {
          disk_model::pending.push_back(key);  // on the thread that runs the body (the leader)
          tx.put(table::runs, key, "v");
        });
        std::lock_guard lock(model.m);
        auto it = model.txnid_of.find(key);
        if (it == model.txnid_of.end()) ++unknown;
        else if (it->second > model.durable) ++early_writes;
      }
    });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2 && !relaxed_env; ++r)
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      while (!stop) {
        const int t = static_cast<int>(rng() % writers);
        const std::string key = writer_key(t, started[t].load());
        if (!get(*s, table::runs, key)) continue;
        ++seen;
        std::lock_guard lock(model.m);
        auto it = model.txnid_of.find(key);
        if (it == model.txnid_of.end()) ++unknown;
        else if (it->second > model.durable) ++early_reads;
      }
    });
  for (auto& th : pool) th.join();
  stop = true;
  for (auto& th : readers) th.join();
  disk_model::armed = nullptr;

  CHECK(unknown == 0);
  CHECK(early_writes == 0);
  CHECK(early_reads == 0);
  CHECK(model.txnid_of.size() == static_cast<std::size_t>(writers * per_writer));
  // Syncs were seen, and in the durable env group commit happened (fewer
  // commits than writes: each commit waits for the disk, so writers queue
  // up). A relaxed env's commits are too fast to be sure of that; its
  // durable handle shares the syncs instead.
  std::set<std::uint64_t> commits;
  for (auto& [k, t] : model.txnid_of) commits.insert(t);
  if (!relaxed_env) CHECK(commits.size() < static_cast<std::size_t>(writers * per_writer));
  CHECK(model.syncs > 0);
  WARN("disk model: " << writers * per_writer << " writes in " << commits.size() << " commits, " << model.syncs
                      << " fdatasyncs, " << seen.load() << " reads of in-flight keys");
  // The model read LMDB's meta pages right: its newest txnid is LMDB's.
  s.reset();
  keep_relaxed.reset();
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  REQUIRE(mdb_env_open(env, dir.str().c_str(), MDB_RDONLY, 0600) == 0);
  MDB_envinfo info;
  REQUIRE(mdb_env_info(env, &info) == 0);
  CHECK(info.me_last_txnid == model.newest);
  mdb_env_close(env);
}

TEST_CASE("lmdb: another application's LMDB environment is refused and left untouched", "[storage][lmdb]") {
  // A valid LMDB file that some other program wrote (its own named
  // database and a plain key in the main database). Opening it must not
  // add tokenrail's tables to it, nor pass it off as an empty store.
  scratch_dir dir("lmdb-foreign");
  std::filesystem::create_directories(dir.path());
  auto main_keys = [&] {
    std::vector<std::string> keys;
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
    REQUIRE(mdb_env_open(env, dir.str().c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0);
    MDB_dbi main;
    REQUIRE(mdb_dbi_open(txn, nullptr, 0, &main) == 0);
    MDB_cursor* cur = nullptr;
    REQUIRE(mdb_cursor_open(txn, main, &cur) == 0);
    MDB_val k, v;
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) keys.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return keys;
  };
  {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
    REQUIRE(mdb_env_open(env, dir.str().c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi users, main;
    REQUIRE(mdb_dbi_open(txn, "users", MDB_CREATE, &users) == 0);
    REQUIRE(mdb_dbi_open(txn, nullptr, 0, &main) == 0);
    std::string k1 = "alice", k2 = "plain", value = "123";
    MDB_val k{k1.size(), k1.data()}, v{value.size(), value.data()};
    REQUIRE(mdb_put(txn, users, &k, &v, 0) == 0);
    k = MDB_val{k2.size(), k2.data()};
    REQUIRE(mdb_put(txn, main, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  const auto before = main_keys();
  REQUIRE(before == std::vector<std::string>{"plain", "users"});
  for (bool read_only : {false, true}) {
    lmdb_options o;
    o.path = dir.str();
    o.read_only = read_only;
    auto r = open_lmdb_store(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::STORE_CORRUPT);
    CHECK(r.error().details.as_object().at("path").as_string() == std::filesystem::canonical(dir.path()).string());
  }
  CHECK(main_keys() == before);  // nothing was written into it
}

TEST_CASE("lmdb: a zero-length data.mdb opened read-only is STORE_CORRUPT", "[storage][lmdb]") {
  // LMDB takes an empty data.mdb for a store it has to initialize, which a
  // read-only handle cannot do: it failed with a bare EBADF (STORAGE_ERROR,
  // "retry immediately").
  scratch_dir dir("lmdb-zero");
  populate(dir.str(), 10);
  std::filesystem::resize_file(dir.path() / "data.mdb", 0);
  lmdb_options o;
  o.path = dir.str();
  o.read_only = true;
  auto r = open_lmdb_store(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::STORE_CORRUPT);
  CHECK(std::filesystem::file_size(dir.path() / "data.mdb") == 0);
}

TEST_CASE("lmdb: a process file-size limit (RLIMIT_FSIZE) is STORE_FULL and not a SIGXFSZ", "[storage][lmdb]") {
  // A write past RLIMIT_FSIZE raises SIGXFSZ, whose default action kills
  // the whole host process. Runs in a child, which lowers its own limit.
  scratch_dir dir("lmdb-fsize");
  std::filesystem::create_directories(dir.path());
  const int status = in_child([&] {
    const rlimit limit{3u << 20, 3u << 20};  // 3 MB, less than the default 64 MB map
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 20;
    lmdb_options o;
    o.path = dir.str();
    auto r = open_lmdb_store(o);
    if (!r) return 21;
    auto& s = **r;
    const std::string value(50 << 10, 'z');
    int written = 0;
    errc code = errc::INTERNAL;
    for (int i = 0; i < 200; ++i) {
      try {
        put(s, table::workflows, "w" + std::to_string(i), value);
        ++written;
      } catch (const failure& f) {
        code = f.err().code;
        break;
      }
    }
    if (code != errc::STORE_FULL) return 22;
    if (written < 10) return 23;
    // What was committed is intact and the store still takes small writes.
    if (get(s, table::workflows, "w0") != value) return 24;
    if (get(s, table::workflows, "w" + std::to_string(written - 1)) != value) return 25;
    if (get(s, table::workflows, "w" + std::to_string(written))) return 26;
    s.write([](write_transaction& tx) { tx.erase(table::workflows, "w0"); });
    put(s, table::runs, "small", "ok");
    if (get(s, table::runs, "small") != "ok") return 27;
    return 0;
  });
  CHECK(status == 0);  // 100 + 25 would be SIGXFSZ
  // And the store is intact for a process without the limit.
  auto s = open_store(dir.str());
  CHECK(get(*s, table::runs, "small") == "ok");
}

TEST_CASE("lmdb: a data.mdb or lock.mdb that is not a regular file is STORE_CORRUPT", "[storage][lmdb]") {
  // LMDB opens whatever is there: a FIFO as data.mdb blocked a read-only
  // open forever; a directory or a device came back as a bare errno
  // (STORAGE_ERROR, "retry"). Each open runs in a child with an alarm, so a
  // hang fails the check (100 + SIGALRM) instead of the suite.
  scratch_dir dir("lmdb-special");
  std::filesystem::create_directories(dir.path());
  const std::string data = (dir.path() / "data.mdb").string(), lock = (dir.path() / "lock.mdb").string();
  auto reset = [&] {
    std::filesystem::remove_all(data);
    std::filesystem::remove_all(lock);
  };
  auto opened_as = [&](bool read_only) {
    return in_child([&] {
      ::alarm(5);
      return open_error(dir.str(), read_only) == errc::STORE_CORRUPT ? 0 : 1;
    });
  };
  for (bool read_only : {false, true}) {
    INFO("read_only " << read_only);
    reset();
    REQUIRE(::mkfifo(data.c_str(), 0600) == 0);
    CHECK(opened_as(read_only) == 0);
    reset();
    std::filesystem::create_directories(data);
    CHECK(opened_as(read_only) == 0);
    reset();
    std::filesystem::create_symlink("/dev/null", data);
    CHECK(opened_as(read_only) == 0);
    reset();
    populate(dir.str(), 1);
    std::filesystem::remove(lock);
    std::filesystem::create_directories(lock);
    CHECK(opened_as(read_only) == 0);
  }
}

TEST_CASE("lmdb: a read-only open without access to lock.mdb says what readers need", "[storage][lmdb]") {
  // STORE_READ_ONLY's usual advice, "open it read-only to read it", is no
  // help to a handle that is read-only already: LMDB readers write
  // lock.mdb. Root ignores permission bits, so the child drops to "nobody".
  scratch_dir dir("lmdb-ro-perm");
  populate(dir.str(), 10);
  ::chmod(dir.path().c_str(), 0755);
  for (auto& f : {dir.path() / "data.mdb", dir.path() / "lock.mdb"}) ::chmod(f.c_str(), 0644);
  const bool root = ::geteuid() == 0;
  if (!root) ::chmod(dir.path().c_str(), 0555);
  const int status = in_child([&] {
    if (root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 20;
    if (!root && ::chmod((dir.path() / "lock.mdb").c_str(), 0444) != 0) return 21;
    lmdb_options o;
    o.path = dir.str();
    o.read_only = true;
    auto r = open_lmdb_store(o);
    if (r) return 22;
    if (r.error().code != errc::STORE_READ_ONLY) return 23;
    if (r.error().message.find("open it read-only") != std::string::npos) return 24;
    if (r.error().message.find("lock.mdb") == std::string::npos) return 25;
    return 0;
  });
  ::chmod(dir.path().c_str(), 0755);
  if (status == 20) {
    WARN("could not drop privileges; permission case not tested");
    return;
  }
  CHECK(status == 0);
}

TEST_CASE("lmdb: a store larger than RLIMIT_FSIZE stays readable and writes are STORE_FULL", "[storage][lmdb]") {
  // Written by a process without the limit; LMDB may reuse any of its pages,
  // and a write past the limit raises SIGXFSZ (100 + 25 below).
  scratch_dir dir("lmdb-fsize-big");
  {
    // One commit per record, so freed pages (which LMDB reuses first) are
    // spread over the whole file.
    auto s = open_store(dir.str(), durability::relaxed);
    for (int i = 0; i < 1000; ++i) put(*s, table::nodes, "k" + std::to_string(i), std::string(3000, 'v'));
  }
  REQUIRE(std::filesystem::file_size(dir.path() / "data.mdb") > (3u << 20));
  const int status = in_child([&] {
    const rlimit limit{1u << 20, 1u << 20};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 20;
    lmdb_options o;
    o.path = dir.str();
    auto r = open_lmdb_store(o);
    if (!r) return 21;
    auto& s = **r;
    if (get(s, table::nodes, "k999") != std::string(3000, 'v')) return 22;
    try {
      for (int i = 0; i < 50; ++i) put(s, table::nodes, "k" + std::to_string(i), "changed");
      return 23;
    } catch (const failure& f) {
      if (f.err().code != errc::STORE_FULL) return 24;
    }
    if (get(s, table::nodes, "k0") != std::string(3000, 'v')) return 25;
    return 0;
  });
  CHECK(status == 0);
  auto s = open_store(dir.str());
  CHECK(get(*s, table::nodes, "k0") == std::string(3000, 'v'));
}

TEST_CASE("lmdb: a map grown by another process stays capped at this process's RLIMIT_FSIZE", "[storage][lmdb]") {
  // The child (limit 2 MB) opens first; the parent (no limit, a 16 MB map)
  // then commits past the child's map, so the child adopts the map size on
  // its next write (MDB_MAP_RESIZED). Adopted uncapped, LMDB would place
  // new pages past 2 MB: SIGXFSZ (100 + 25).
  scratch_dir dir("lmdb-fsize-adopt");
  std::filesystem::create_directories(dir.path());
  int go[2], ready[2];
  REQUIRE(::pipe(go) == 0);
  REQUIRE(::pipe(ready) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    try {
      const rlimit limit{2u << 20, 2u << 20};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) std::_Exit(20);
      lmdb_options o;
      o.path = dir.str();
      o.mode = durability::relaxed;
      o.initial_map_bytes = 512 << 10;
      auto r = open_lmdb_store(o);
      if (!r) std::_Exit(21);
      char c = 'r';
      if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) std::_Exit(22);
      code = 23;  // no STORE_FULL
      const std::string value(100 << 10, 'c');
      for (int i = 0; i < 40; ++i) {
        try {
          put(**r, table::workflows, "c" + std::to_string(i), value);
        } catch (const failure& f) {
          code = f.err().code == errc::STORE_FULL ? 0 : 24;
          break;
        }
      }
      if (get(**r, table::workflows, "p0") != std::string(100 << 10, 'p')) code = 25;
    } catch (...) {
      code = 3;
    }
    std::_Exit(code);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  {
    auto s = open_store(dir.str(), durability::relaxed, 16u << 20);
    for (int i = 0; i < 8; ++i) put(*s, table::workflows, "p" + std::to_string(i), std::string(100 << 10, 'p'));
  }
  REQUIRE(::write(go[1], "g", 1) == 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  for (int fd : {go[0], go[1], ready[0], ready[1]}) ::close(fd);
  const int outcome = WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  CHECK(outcome == 0);
}

TEST_CASE("lmdb: a full disk or quota is STORE_FULL, not a STORAGE_ERROR to retry at once", "[lmdb]") {
  namespace li = tokenrail::storage::lmdb_impl;
  for (int rc : {ENOSPC, EDQUOT, MDB_MAP_FULL}) {
    INFO(rc);
    const tokenrail::error e = li::lmdb_error(rc, "committing", "/store");
    CHECK(e.code == tokenrail::errc::STORE_FULL);
    CHECK(e.retry == tokenrail::retry_kind::not_retryable);
    CHECK(e.details.at("lmdbCode").as_int64() == rc);
  }
  CHECK(li::lmdb_error(EIO, "committing", "/store").code == tokenrail::errc::STORAGE_ERROR);
}
