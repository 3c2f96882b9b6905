// How a storage backend plugs into the generic conformance suite
// (tests/storage/conformance.cpp): a fixture that opens a fresh store,
// reopens the same one, and declares what the backend can do. The suite
// checks the declaration against store::caps() and skips what does not apply.
#pragma once

#include <tokenrail/storage/store.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <unistd.h>

namespace tokenrail::storage::testing {

struct backend_fixture {
  virtual ~backend_fixture() = default;
  /// A fresh, empty store.
  virtual std::unique_ptr<store> open() = 0;
  /// The store of the last open() again; the caller has destroyed the
  /// previous handle. Only called when caps.persistent.
  virtual std::unique_ptr<store> reopen() = 0;
  capabilities caps;
};

/// A directory under the test scratch path, unique per call, removed with
/// the object.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::path(TOKENRAIL_TEST_TMP) /
            (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_.parent_path());
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct memory_fixture : backend_fixture {
  memory_fixture() { caps.readers_block_writers = true; }
  std::unique_ptr<store> open() override { return open_memory_store(); }
  std::unique_ptr<store> reopen() override { return nullptr; }
};

template <durability Mode>
struct lmdb_fixture : backend_fixture {
  lmdb_fixture() : dir("lmdb-conformance") {
    caps.persistent = true;
    caps.multi_process = true;
    caps.readers_block_writers = false;
    caps.group_commit = true;
    caps.max_key_bytes = 511;
  }
  std::unique_ptr<store> open() override { return reopen(); }
  std::unique_ptr<store> reopen() override {
    lmdb_options o;
    o.path = dir.str();
    o.mode = Mode;
    // Small, so that the large-value cases also exercise growing the map.
    o.initial_map_bytes = 1ull << 20;
    auto r = open_lmdb_store(o);
    if (!r) throw failure(r.error());
    return std::move(r).value();
  }
  scratch_dir dir;
};

using lmdb_durable_fixture = lmdb_fixture<durability::durable>;
using lmdb_relaxed_fixture = lmdb_fixture<durability::relaxed>;

}  // namespace tokenrail::storage::testing
