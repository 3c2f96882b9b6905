// The storage interface (D9): ordered key/value tables under transactions.
//
// The engine owns the meaning of keys and values (src/engine/records.*); a
// backend only has to keep bytes, order keys bytewise, and make a write
// transaction all-or-nothing. Two backends implement it: memory and LMDB.
// tests/storage/conformance.cpp is the one generic suite both must pass.
//
// Errors: every member may throw tokenrail::failure with a 5xxx code
// (STORAGE_ERROR, STORE_CORRUPT, STORE_READ_ONLY, STORE_FULL, STORE_BUSY...).
// The engine turns them into errors as data at the operation boundary.
#pragma once

#include <tokenrail/detail/function_ref.hpp>
#include <tokenrail/error.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tokenrail::storage {

/// The record types. Keys within a table sort bytewise (memcmp order).
enum class table : std::uint8_t {
  meta,       // store format version, store id, per-store counters
  workflows,  // workflowHash -> canonical definition (pinned, stored once)
  sessions,   // sessionId -> session record (event chain head, runs)
  runs,       // runId -> run record (spec; status projection)
  nodes,      // runId ‖ nodeSeq -> node record (immutable snapshot)
  acks,       // runId ‖ nodeSeq ‖ attempt -> recorded advance (request digest, response)
  events,     // sessionId ‖ index -> event (hash-chained)
  callbacks,  // callback records (D8)
  indexes,    // secondary indexes; the first key byte names the index
};
inline constexpr std::size_t table_count = 9;
std::string_view table_name(table t) noexcept;

/// A consistent snapshot. Views returned by get/scan stay valid until the
/// transaction ends (or, in a write transaction, until that key is written).
class read_transaction {
 public:
  virtual ~read_transaction() = default;
  virtual std::optional<std::string_view> get(table t, std::string_view key) = 0;
  /// Visits every key that starts with prefix, ascending (descending when
  /// reverse). The visitor returns false to stop.
  virtual void scan(table t, std::string_view prefix,
                    detail::function_ref<bool(std::string_view key, std::string_view value)> visit,
                    bool reverse = false) = 0;
};

/// Sees its own writes. Nothing is visible to others until the body that
/// received it returns normally and the store commits.
class write_transaction : public read_transaction {
 public:
  virtual void put(table t, std::string_view key, std::string_view value) = 0;
  virtual void erase(table t, std::string_view key) = 0;
};

enum class durability : std::uint8_t {
  durable,  // a returned write is on disk
  relaxed,  // the last ~second of commits may be lost on power failure (see open_lmdb_store)
};

/// What a backend can do, so the conformance suite skips what does not apply.
struct capabilities {
  bool persistent = false;         // survives close/reopen
  bool multi_process = false;      // several processes may open one store
  bool readers_block_writers = false;
  bool group_commit = false;       // concurrent write() calls may share one commit
  std::size_t max_key_bytes = 0;   // longest key put() accepts; 0: no limit (keys are never empty)
};

struct store_stats {
  std::uint64_t bytes_used = 0;   // what the store occupies (file size, or bytes held)
  std::uint64_t entries = 0;      // records across all tables
};

/// Both backends are thread-safe: any number of threads may call read()
/// and write() on one store at once. The transaction passed to a body is
/// valid only while that body runs; never keep it or use it from another
/// thread.
class store {
 public:
  virtual ~store() = default;

  /// Runs body against a read snapshot. If body throws, the exception
  /// propagates (nothing to undo).
  virtual void read(detail::function_ref<void(read_transaction&)> body) = 0;

  /// Runs body in a write transaction and commits when it returns normally.
  /// If body throws, nothing it wrote is kept and the exception propagates.
  /// A backend may run body more than once (for example after growing a full
  /// map), so body must derive everything from what it reads through the
  /// transaction. A group-committing backend (caps().group_commit) may run
  /// body on another thread than the caller's, one body after another, so
  /// body must not take a lock that the calling thread holds across
  /// write(), nor carry thread-local state from before the call into it.
  /// Bodies must not call write() or read() on the same store. When write()
  /// returns, the commit is as durable as the store's durability mode
  /// promises; if body threw, write() rethrows that same exception.
  virtual void write(detail::function_ref<void(write_transaction&)> body) = 0;

  virtual capabilities caps() const noexcept = 0;
  virtual store_stats stats() = 0;
};

/// The memory backend: tests and ephemeral hosts. Thread-safe.
std::unique_ptr<store> open_memory_store();

struct lmdb_options {
  std::string path;                        // a directory; created if missing
  durability mode = durability::durable;
  std::uint64_t initial_map_bytes = 64ull << 20;
  std::uint64_t max_map_bytes = 0;         // 0: grow without a limit
  bool read_only = false;
  /// Before first use in this process, walk every page of the current
  /// snapshot with bounds checks (pread, one pass over the used part of
  /// data.mdb), so that damaged pages are STORE_CORRUPT at open instead of
  /// a SIGBUS later: LMDB itself trusts its pages.
  bool check_pages_on_open = true;
};

/// The LMDB backend (the embedded default): one named database per table,
/// MVCC readers, group commit, a map that grows by itself. Opening the
/// same directory twice in one process shares one environment.
/// A second handle on a directory this process already has open shares the
/// first handle's environment, so the first handle's map sizes and page
/// check apply; a durable handle on an environment opened relaxed syncs
/// after each of its commits, so it keeps its own promise.
/// Durability: durable = a returned write() is on disk, and a read() sees
/// only records that are (MDB_NOMETASYNC: each commit syncs its data pages
/// before writing its meta page, then one shared fdatasync flushes the meta
/// pages of every commit waiting for it; crash consistency never depends on
/// the filesystem's write order); relaxed = MDB_NOSYNC, flushed at most a second apart by the
/// committing thread: a process crash loses nothing, an OS crash or power
/// failure may lose the commits of that last second; the store stays
/// consistent on filesystems that preserve write order (LMDB's own terms).
/// Errors as data (details.path always set):
///   INVALID_CONFIG   empty path, path is a regular file, read_only and no store
///   STORE_CORRUPT    not an LMDB file, random bytes, truncated data.mdb, damaged pages,
///                    another application's LMDB environment (left untouched),
///                    data.mdb / lock.mdb not regular files, an empty data.mdb (read-only)
///   STORE_READ_ONLY  no permission / read-only file system (EACCES, EROFS)
///   STORE_VERSION_UNSUPPORTED  a newer store format (details.storeFormat) or LMDB lock format
///   STORE_BUSY       reader table full, lock busy
///   STORAGE_ERROR    anything else (details.lmdbCode, lmdbMessage)
/// While open, write() may throw failure STORE_FULL once the map would
/// exceed max_map_bytes or the disk (or quota) is full (the write is not
/// applied; a writable handle also
/// caps the map at the process's RLIMIT_FSIZE, so that LMDB never writes
/// past it and draws SIGXFSZ, and refuses writes to a store already larger
/// than that limit), STORE_READ_ONLY on a
/// read-only handle, STORE_CORRUPT / STORAGE_ERROR from LMDB. A write body
/// must not call back into the same store (the group-commit leader runs it).
result<std::unique_ptr<store>> open_lmdb_store(const lmdb_options& options);

}  // namespace tokenrail::storage
