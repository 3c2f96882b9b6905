// The keyring file beside the store: mode 0600, created once (also under a
// race), refused when others can read it, replaced atomically; checked
// without creating anything (check_keyring).
#include "storage/backend_fixture.hpp"

#include <tokenrail/storage/keyring_file.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tokenrail;
using namespace tokenrail::storage;
using tokenrail::storage::testing::scratch_dir;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

ino_t inode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("keyring file: created with mode 0600 and read back", "[storage][keyring]") {
  scratch_dir dir("keyring");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();
  ::umask(022);
  auto created = load_or_create_keyring(path);
  REQUIRE(created);
  CHECK(mode_of(path) == 0600);
  CHECK(files_in(dir.path()) == 1);  // no temporary file left behind
  auto loaded = load_or_create_keyring(path);
  REQUIRE(loaded);
  CHECK(loaded->current().id == created->current().id);
  CHECK(loaded->current().key == created->current().key);
  CHECK(loaded->entries().size() == 1);
}

TEST_CASE("keyring file: refused when group or others have any access", "[storage][keyring]") {
  scratch_dir dir("keyring-mode");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();
  REQUIRE(load_or_create_keyring(path));
  for (unsigned mode : {0644u, 0640u, 0604u, 0660u, 0602u}) {
    ::chmod(path.c_str(), mode);
    auto r = load_or_create_keyring(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::KEYRING_ERROR);
    CHECK(r.error().details.as_object().at("path").as_string() == path);
  }
  ::chmod(path.c_str(), 0644);
  CHECK(load_or_create_keyring(path).error().details.as_object().at("mode").as_string() == "0644");
  ::chmod(path.c_str(), 0400);  // stricter than 0600 is fine
  CHECK(load_or_create_keyring(path));
}

TEST_CASE("keyring file: bad files are KEYRING_ERROR", "[storage][keyring]") {
  scratch_dir dir("keyring-bad");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();
  SECTION("not JSON") {
    std::ofstream(path) << "not json";
    ::chmod(path.c_str(), 0600);
    CHECK(load_or_create_keyring(path).error().code == errc::KEYRING_ERROR);
  }
  SECTION("wrong shape names the field") {
    std::ofstream(path) << R"({"version":1,"keys":[{"id":1,"key":"zz","state":"current","createdAt":0}]})";
    ::chmod(path.c_str(), 0600);
    auto r = load_or_create_keyring(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::KEYRING_ERROR);
    CHECK(r.error().details.as_object().at("pointer").as_string() == "/keys/0/key");
    CHECK(r.error().details.as_object().at("path").as_string() == path);
  }
  SECTION("a directory") {
    std::filesystem::create_directories(path);
    ::chmod(path.c_str(), 0700);
    CHECK(load_or_create_keyring(path).error().code == errc::KEYRING_ERROR);
  }
  SECTION("in a directory that does not exist") {
    CHECK(load_or_create_keyring((dir.path() / "nope" / "k.json").string()).error().code == errc::KEYRING_ERROR);
  }
  SECTION("empty path") { CHECK(load_or_create_keyring("").error().code == errc::KEYRING_ERROR); }
  SECTION("a dangling symlink is named as one, and nothing is created through it") {
    const auto target = dir.path() / "elsewhere.json";
    std::filesystem::create_symlink(target, path);
    auto r = load_or_create_keyring(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::KEYRING_ERROR);
    CHECK(r.error().message.find("symlink") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(target));
    CHECK(files_in(dir.path()) == 1);  // the link; no temporary file left behind
  }
}

TEST_CASE("keyring file: a named pipe is KEYRING_ERROR and not a hang", "[storage][keyring]") {
  // Opening a FIFO for reading blocks until a writer shows up: the check
  // for "not a regular file" came only after that open, so the engine hung.
  scratch_dir dir("keyring-fifo");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  std::promise<errc> outcome;
  auto done = outcome.get_future();
  std::thread loader([&] {
    auto r = load_or_create_keyring(path);
    outcome.set_value(r ? errc::INTERNAL : r.error().code);
  });
  const bool finished = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  CHECK(finished);
  if (!finished) {
    // Unblock the stuck open (a writer arrives), so the thread can end.
    const int w = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    loader.join();
    if (w >= 0) ::close(w);
  } else {
    loader.join();
  }
  CHECK(done.get() == errc::KEYRING_ERROR);
}

TEST_CASE("keyring file: concurrent first opens agree on one key", "[storage][keyring]") {
  scratch_dir dir("keyring-race");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();
  std::vector<std::thread> pool;
  std::vector<token::secret> seen(8);
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i)
    pool.emplace_back([&, i] {
      auto r = load_or_create_keyring(path);
      if (!r) {
        ++failures;
        return;
      }
      seen[i] = r->current().key;
    });
  for (auto& t : pool) t.join();
  CHECK(failures == 0);
  for (auto& s : seen) CHECK(s == seen[0]);
  CHECK(files_in(dir.path()) == 1);
}

TEST_CASE("keyring file: save replaces atomically", "[storage][keyring]") {
  scratch_dir dir("keyring-save");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();
  auto ring = load_or_create_keyring(path).value();
  const auto first = ring.current();
  {
    // Replaced by rename, not rewritten in place: while the old file is
    // still open, the new one must be another inode.
    const auto inode = inode_of(path);
    std::ifstream keep_old_open(path);
    ring.rotate(999);
    REQUIRE(save_keyring(path, ring));
    CHECK(inode_of(path) != inode);
  }

  // Readers running during repeated saves always see a whole keyring.
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0}, reads{0};
  std::thread reader([&] {
    while (!stop) {
      auto r = load_or_create_keyring(path);
      if (!r || r->entries().empty()) ++bad_reads;
      ++reads;
    }
  });
  for (int i = 0; i < 30; ++i) {
    ring.rotate(1000 + i);
    REQUIRE(save_keyring(path, ring));
  }
  stop = true;
  reader.join();
  CHECK(bad_reads == 0);
  CHECK(reads > 0);

  CHECK(mode_of(path) == 0600);
  CHECK(files_in(dir.path()) == 1);
  auto back = load_or_create_keyring(path);
  REQUIRE(back);
  CHECK(back->entries().size() == 32);
  CHECK(back->current().key == ring.current().key);
  REQUIRE(back->find(first.id));
  CHECK(back->find(first.id)->key == first.key);
  CHECK(back->find(first.id)->state == token::key_state::active);
}

TEST_CASE("keyring file: check_keyring reads what is there and creates nothing", "[storage][keyring]") {
  scratch_dir dir("keyring-check");
  std::filesystem::create_directories(dir.path());
  const std::string path = (dir.path() / "keyring.json").string();

  // No file, a writable directory: nothing to read, nothing created.
  auto none = check_keyring(path);
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  CHECK(files_in(dir.path()) == 0);

  // A file: read and checked as load_or_create_keyring reads it.
  auto created = load_or_create_keyring(path);
  REQUIRE(created);
  auto read = check_keyring(path);
  REQUIRE(read);
  REQUIRE(read->has_value());
  CHECK((*read)->current().key == created->current().key);
  ::chmod(path.c_str(), 0644);
  auto refused = check_keyring(path);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::KEYRING_ERROR);
  CHECK(refused.error().details.as_object().at("path").as_string() == path);

  // No file, and nowhere to create one.
  for (const std::string& nowhere : {(dir.path() / "missing" / "keyring.json").string(), path + "/keyring.json"}) {
    INFO(nowhere);
    auto r = check_keyring(nowhere);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::KEYRING_ERROR);
    CHECK(r.error().details.as_object().at("path").as_string() == nowhere);
  }
  CHECK(files_in(dir.path()) == 1);
  CHECK_FALSE(check_keyring(""));
}
