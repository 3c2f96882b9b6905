// One open LMDB environment, shared by every store handle of this process
// that names the same directory.
//
// LMDB forbids opening one environment twice in a process: closing the
// second handle's file descriptors would drop the first one's POSIX locks.
// So open_lmdb_env() keeps a process-wide registry keyed by canonical path
// and hands out reference-counted handles; the last handle closes the env
// while holding the registry lock, so a concurrent open cannot interleave.
#pragma once

#include <tokenrail/error.hpp>
#include <tokenrail/storage/store.hpp>

#include <lmdb.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tokenrail::storage::lmdb_impl {

/// The format of what this backend writes. Stored in the "_store" database;
/// a store written by a newer format is refused with STORE_VERSION_UNSUPPORTED.
inline constexpr std::uint32_t format_version = 1;

/// An LMDB return code as an error: STORE_CORRUPT, STORE_VERSION_UNSUPPORTED,
/// STORE_READ_ONLY, STORE_BUSY, STORE_FULL (the map's maximum, a full disk,
/// a quota), OUT_OF_MEMORY or STORAGE_ERROR, with details {path, lmdbCode,
/// lmdbMessage}.
error lmdb_error(int rc, std::string_view what, const std::string& path);
[[noreturn]] void throw_lmdb(int rc, std::string_view what, const std::string& path);

/// One write() call waiting to be committed (group commit).
struct write_request {
  const tokenrail::detail::function_ref<void(write_transaction&)>* body = nullptr;
  std::exception_ptr error;
  bool needs_sync = false;  // durable caller on an env opened relaxed
  bool taken = false;       // in a leader's batch: wait for it, never lead
  bool done = false;        // committed (and synced) or failed: return
  // Its caller waits here (under env::queue_mutex), woken only when it is
  // done or when it is first in the queue and the leadership is free: a
  // batch wakes its own callers, not every writer (with one shared
  // condition variable, each hand-over woke all of them, and on two cores
  // those needless wakeups cost more than the batch's CPU work).
  std::condition_variable cv;
};

struct env {
  MDB_env* handle = nullptr;
  std::string path;  // canonical
  bool read_only = false;
  bool relaxed = false;            // opened with MDB_NOSYNC (see lmdb_env.cpp)
  // Durable and writable: opened with MDB_NOMETASYNC, so a commit syncs its
  // data pages but leaves its meta page in the page cache; the committer
  // calls sync_through() afterwards, outside the write lock (lmdb_env.cpp
  // explains why this is safe and what it buys).
  bool deferred_meta_sync = false;
  // Relaxed mode flushes at most this far apart, from the committing
  // thread (the engine starts no threads of its own).
  static constexpr std::int64_t relaxed_flush_interval_ms = 1000;
  std::atomic<std::int64_t> last_flush_ms{0};
  std::uint64_t max_map_bytes = 0;  // lmdb_options::max_map_bytes, capped at file_size_limit
  std::uint64_t file_size_limit = 0;  // RLIMIT_FSIZE at open (0: none); see open_env
  std::array<MDB_dbi, table_count> dbi{};
  std::array<bool, table_count> dbi_present{};  // false only in a read-only, never-written store
  std::size_t max_key_bytes = 0;

  // Transactions hold this shared; changing the map size holds it
  // exclusively (LMDB requires that no transaction of this process is
  // active then). Readers otherwise never wait for anyone.
  std::shared_mutex resize_mutex;
  // Passed by every shared locker and held by an exclusive one while it
  // waits: glibc's rwlock prefers readers, so without it a steady stream of
  // readers starves a resize forever (seen in the snapshot test: readers
  // pin old pages, the map fills, the writer waits to grow it).
  std::mutex resize_gate;
  std::shared_lock<std::shared_mutex> share() {
    { std::lock_guard gate(resize_gate); }
    return std::shared_lock(resize_mutex);
  }
  std::unique_lock<std::shared_mutex> exclusive() {
    std::lock_guard gate(resize_gate);
    return std::unique_lock(resize_mutex);
  }
  // The current mapping, to tell whether a value a write transaction read
  // lives in the map (stable until the transaction ends) or in a dirty page
  // (which later writes may move). Changed only under resize_mutex.
  const char* map_begin = nullptr;
  const char* map_end = nullptr;

  // Group commit: writers queue here; one of them leads a batch.
  std::mutex queue_mutex;
  std::deque<write_request*> queue;
  bool leader_active = false;
  // Set by a leader that left its batch's meta sync to the next leader
  // (lmdb_store.cpp, write()); taken by that next leader, which then owes
  // a sync covering every txnid wanted so far.
  bool cover_due = false;
  std::uint64_t cover_epoch = 0;  // which hand-off cover_due belongs to
  // Writers inside write() (queued, in a batch, or done and leaving): a
  // leader that finds none but its own batch's syncs at once.
  std::size_t writers_inside = 0;
  // How long a leader whose batch found no one queued waits for a writer
  // still inside write() to come back and lead the next batch (whose
  // commit would cover ours) before it syncs by itself.
  static constexpr auto tentative_hand_off_wait = std::chrono::microseconds(100);
  // Gathering a batch (lmdb_store.cpp, write()): callers of batches just
  // released (their commits are on disk) that have not entered write()
  // again yet. A leader forming a batch waits up to gather_wait for them.
  std::size_t returning = 0;
  std::condition_variable gather_cv;
  static constexpr auto gather_wait = std::chrono::microseconds(150);

  // Sync combining. synced_txnid: every commit with an LMDB txnid <= it is
  // on disk (an fdatasync that started after its meta page was written
  // has completed). Read without the lock on the reader fast path.
  std::mutex sync_mutex;
  std::condition_variable sync_cv;
  bool sync_running = false;
  std::uint64_t sync_wanted = 0;        // highest txnid anyone asked for
  int sync_failed = 0;                  // sticky: the first failed sync's errno
  std::atomic<std::uint64_t> synced_txnid{0};

  /// Returns once every commit with txnid <= `txnid` is on disk. The caller
  /// guarantees that the meta page of `txnid` has been written (its commit
  /// returned, or a read transaction saw it). Concurrent callers share one
  /// fdatasync: whoever finds none running starts one that covers every
  /// txnid asked for so far; the others wait for it, or for the next one if
  /// it started too early to cover them. After a failed sync every later
  /// call fails too (the kernel may have dropped the dirty pages, and a
  /// second fdatasync would wrongly report success).
  void sync_through(std::uint64_t txnid);
  /// sync_through(every txnid wanted so far).
  void sync_all_wanted();
  /// Records that `txnid` needs a sync (before handing its cover on).
  void want_sync(std::uint64_t txnid);
  /// A commit's own data fdatasync, which started after every commit up to
  /// `txnid` had written its meta page, completed: they are on disk.
  void covered_by_commit(std::uint64_t txnid);
  /// Waits, without syncing, until synced_txnid >= txnid (someone else owes
  /// that sync). Throws after a failed sync, like sync_through.
  void wait_synced(std::uint64_t txnid);
  /// Throws the sticky sync failure, if any. sync_mutex must be held.
  void throw_if_sync_failed() const;
  /// wait_synced for at most `timeout`; false when it ran out.
  bool wait_synced_for(std::uint64_t txnid, std::chrono::microseconds timeout);
  /// Durable reads: a snapshot newer than synced_txnid may contain a commit
  /// whose caller has not returned yet (its meta page is written, not yet
  /// synced). read() waits for that sync before it returns, so nothing a
  /// reader saw can be undone by a power failure.
  void sync_for_read(std::uint64_t snapshot_txnid) {
    if (snapshot_txnid <= synced_txnid.load(std::memory_order_acquire)) return;
    // A commit of this process: its batch's leader sees to its sync (the
    // next commit's data sync, usually only microseconds away); wait for
    // it rather than add an fdatasync of our own that would queue behind
    // theirs at the device. Bounded, so a reader never depends on a writer
    // for long.
    if (snapshot_txnid <= local_committed_txnid.load(std::memory_order_acquire) &&
        wait_synced_for(snapshot_txnid, read_wait_for_writer))
      return;
    sync_through(snapshot_txnid);  // another process's commit, or too slow
  }
  static constexpr auto read_wait_for_writer = std::chrono::milliseconds(2);
  // The newest txnid this process committed (its meta page is written).
  std::atomic<std::uint64_t> local_committed_txnid{0};

  // Which records a durable read must wait for. Keys written by this
  // process's commits that may not be on disk yet: (table byte + key) ->
  // newest txnid that wrote it (registered before that commit becomes
  // visible; stale once synced_txnid reaches it). A read whose snapshot is
  // at most local_committed_txnid saw nothing of another process that is
  // not on disk (our own commit's data sync covered it before that txnid
  // was published), so it waits only if it touched one of these keys:
  // readers of other records (other runs) never wait for a group commit.
  std::mutex pending_mutex;
  std::unordered_map<std::string, std::uint64_t> pending_keys;
  std::atomic<std::size_t> pending_count{0};
  /// Registers keys (table byte + key) about to be committed as `txnid`,
  /// dropping entries that are on disk by now.
  void add_pending(const std::vector<std::string>& keys, std::uint64_t txnid);
  /// The newest unsynced txnid that wrote (table, key), 0 if none.
  std::uint64_t pending_txnid(table t, std::string_view key);
  /// The newest unsynced txnid that wrote any key of `t` with `prefix`.
  std::uint64_t pending_prefix_txnid(table t, std::string_view prefix);

  /// Re-reads the mapping bounds (after open and after every resize).
  void refresh_map_bounds();
  /// Another process grew the map (MDB_MAP_RESIZED): adopt its size.
  void adopt_new_map_size();
  /// Doubles the map (at most max_map_bytes). False when it cannot grow.
  bool grow_map();
};

struct env_options {
  std::string path;
  bool read_only = false;
  bool relaxed = false;
  std::uint64_t initial_map_bytes = 0;
  std::uint64_t max_map_bytes = 0;
  bool check_pages = true;
};

/// Walks every page reachable from the current snapshot with pread and
/// bounds checks (lmdb_verify.cpp). STORE_CORRUPT naming the page.
result<void> verify_pages(env& e);

/// Opens (or shares) the environment at options.path, creating the
/// directory and the databases when writable, checking the format version
/// and that data.mdb is not truncated. Errors as data; see open_lmdb_store.
result<std::shared_ptr<env>> open_env(const env_options& options);

}  // namespace tokenrail::storage::lmdb_impl
