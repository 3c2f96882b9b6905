// Opening, sharing, checking and resizing an LMDB environment.
#include "lmdb_env.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenrail::storage::lmdb_impl {
namespace {

constexpr const char* store_db_name = "_store";
constexpr std::string_view format_key = "format_version";

errc classify(int rc) noexcept {
  switch (rc) {
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:  // a named database that is not one (garbage where a table should be)
      return errc::STORE_CORRUPT;
    case MDB_VERSION_MISMATCH:  // the lock file or data file of another LMDB version
      return errc::STORE_VERSION_UNSUPPORTED;
    case EACCES:
    case EROFS:
    case EPERM:
      return errc::STORE_READ_ONLY;
    case EAGAIN:
    case EBUSY:
    case MDB_READERS_FULL:
      return errc::STORE_BUSY;
    case MDB_MAP_FULL:
    // A full disk or quota: the store cannot grow either, and retrying at
    // once (STORAGE_ERROR's advice) cannot help until space is freed.
    case ENOSPC:
    case EDQUOT:
      return errc::STORE_FULL;
    case ENOMEM:
      return errc::OUT_OF_MEMORY;
    default:
      return errc::STORAGE_ERROR;
  }
}

/// LMDB's text for rc. mdb_strerror passes system error numbers to
/// strerror, which is not thread-safe; those go through std::system_category.
std::string lmdb_message(int rc) {
  if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) return mdb_strerror(rc);
  return std::system_category().message(rc);
}

error make_error(errc code, std::string message, const std::string& path, int rc = 0) {
  boost::json::object details;
  details["path"] = path;
  if (rc != 0) {
    details["lmdbCode"] = rc;
    details["lmdbMessage"] = lmdb_message(rc);
  }
  return error::make(code, std::move(message), std::move(details));
}

struct registry_t {
  // Recursive: an env whose open fails is closed (close_env) while
  // open_env still holds the lock.
  std::recursive_mutex mutex;
  std::unordered_map<std::string, std::weak_ptr<env>> envs;
  pid_t pid = ::getpid();
};

registry_t& registry() {
  // Never destroyed: handles may outlive static destruction order.
  static registry_t* r = new registry_t;
  return *r;
}

/// The registry of a forked child must not share its parent's envs (LMDB
/// environments do not survive fork): it starts empty.
void forget_parent_envs(registry_t& r) {
  if (r.pid != ::getpid()) {
    r.envs.clear();
    r.pid = ::getpid();
  }
}

void close_env(env* e) {
  auto& r = registry();
  {
    // Under the registry lock, so that a new open of the same path cannot
    // create a second env while this one still holds the file locks.
    std::lock_guard lock(r.mutex);
    forget_parent_envs(r);
    auto it = r.envs.find(e->path);
    if (it != r.envs.end() && it->second.expired()) r.envs.erase(it);
    if (e->handle) mdb_env_close(e->handle);
  }
  delete e;
}

/// A transaction aborted on scope exit unless committed.
struct txn_guard {
  MDB_txn* txn = nullptr;
  ~txn_guard() {
    if (txn) mdb_txn_abort(txn);
  }
  int commit() {
    int rc = mdb_txn_commit(txn);
    txn = nullptr;
    return rc;
  }
};

/// Refuses a data.mdb shorter than its own meta page says: reading such a
/// file through the map would end in SIGBUS instead of an error.
result<void> check_not_truncated(env& e) {
  MDB_envinfo info;
  MDB_stat st;
  if (int rc = mdb_env_info(e.handle, &info)) return lmdb_error(rc, "reading the environment info", e.path);
  if (int rc = mdb_env_stat(e.handle, &st)) return lmdb_error(rc, "reading the environment stat", e.path);
  struct stat file;
  const std::string data = e.path + "/data.mdb";
  if (::stat(data.c_str(), &file) != 0)
    return make_error(errc::STORE_CORRUPT, "the store's data.mdb is missing", e.path);
  const std::uint64_t needed = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
  if (static_cast<std::uint64_t>(file.st_size) < needed)
    return make_error(errc::STORE_CORRUPT,
                      fmt::format("the store's data.mdb is truncated: {} bytes, its meta page needs {}",
                                  file.st_size, needed),
                      e.path);
  return {};
}

result<void> check_format(std::string_view stored, const std::string& path) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(stored.data(), stored.data() + stored.size(), v);
  if (ec != std::errc() || end != stored.data() + stored.size())
    return make_error(errc::STORE_CORRUPT, "the store's format version record is not a number", path);
  if (v > format_version) {
    auto e = make_error(errc::STORE_VERSION_UNSUPPORTED,
                        fmt::format("the store has format version {}; this build reads up to {}", v,
                                    format_version),
                        path);
    e.details.as_object()["storeFormat"] = v;
    e.details.as_object()["supportedFormat"] = format_version;
    return e;
  }
  return {};
}

/// Refuses a valid LMDB environment that another application wrote. Every
/// store this backend writes has "_store" in its main database (created in
/// the same transaction as the tables); a fresh environment has nothing
/// there. Anything else is someone else's data: without this check a
/// writable open added our tables to it and a read-only open showed it as
/// an empty store.
result<void> check_ours(MDB_txn* txn, const std::string& path) {
  MDB_dbi main;
  if (int rc = mdb_dbi_open(txn, nullptr, 0, &main)) return lmdb_error(rc, "opening the main database", path);
  MDB_val k{std::strlen(store_db_name), const_cast<char*>(store_db_name)}, v;
  int rc = mdb_get(txn, main, &k, &v);
  if (rc == 0) return {};
  if (rc != MDB_NOTFOUND) return lmdb_error(rc, "looking for the store's own database", path);
  MDB_stat st;
  if ((rc = mdb_stat(txn, main, &st))) return lmdb_error(rc, "reading the main database", path);
  if (st.ms_entries == 0) return {};
  return make_error(errc::STORE_CORRUPT,
                    "the store's data.mdb is an LMDB environment of another application (it holds databases "
                    "but not tokenrail's \"_store\"); it was left untouched",
                    path);
}

/// Opens every table's database (creating them when writable) and checks
/// or writes the format version record.
result<void> open_databases(env& e) {
  for (int attempt = 0;; ++attempt) {
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(e.handle, nullptr, e.read_only ? MDB_RDONLY : 0, &raw);
    if (rc == MDB_MAP_RESIZED && attempt < 3) {
      mdb_env_set_mapsize(e.handle, 0);
      continue;
    }
    if (rc) return lmdb_error(rc, "beginning the opening transaction", e.path);
    txn_guard txn{raw};
    const unsigned create = e.read_only ? 0 : MDB_CREATE;
    if (auto r = check_ours(raw, e.path); !r) return r;

    MDB_dbi store_dbi;
    rc = mdb_dbi_open(raw, store_db_name, create, &store_dbi);
    if (rc == MDB_NOTFOUND) {
      // Read-only and never written: every table is empty.
      e.dbi_present.fill(false);
      return {};
    }
    if (rc) return lmdb_error(rc, "opening the store's own database", e.path);
    MDB_val k{format_key.size(), const_cast<char*>(format_key.data())};
    MDB_val v;
    rc = mdb_get(raw, store_dbi, &k, &v);
    if (rc == 0) {
      if (auto r = check_format({static_cast<const char*>(v.mv_data), v.mv_size}, e.path); !r) return r;
    } else if (rc == MDB_NOTFOUND) {
      if (!e.read_only) {
        const std::string text = std::to_string(format_version);
        MDB_val nv{text.size(), const_cast<char*>(text.data())};
        if ((rc = mdb_put(raw, store_dbi, &k, &nv, 0)))
          return lmdb_error(rc, "writing the format version", e.path);
      }
    } else {
      return lmdb_error(rc, "reading the format version", e.path);
    }

    for (std::size_t i = 0; i < table_count; ++i) {
      const std::string name(table_name(static_cast<table>(i)));
      rc = mdb_dbi_open(raw, name.c_str(), create, &e.dbi[i]);
      if (rc == MDB_NOTFOUND) {
        e.dbi_present[i] = false;
        continue;
      }
      if (rc) return lmdb_error(rc, "opening table " + name, e.path);
      e.dbi_present[i] = true;
    }
    rc = txn.commit();
    if (rc == MDB_MAP_FULL) return lmdb_error(rc, "creating the tables: initial_map_bytes is too small", e.path);
    if (rc) return lmdb_error(rc, "committing the opening transaction", e.path);
    return {};
  }
}

result<void> prepare_directory(const env_options& o) {
  struct stat st;
  if (::stat(o.path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return make_error(errc::INVALID_CONFIG, "the store path exists and is not a directory", o.path);
    return {};
  }
  const int err = errno;
  if (err != ENOENT) return make_error(classify(err), fmt::format("cannot reach the store path: {}", std::system_category().message(err)), o.path);
  if (o.read_only) return make_error(errc::INVALID_CONFIG, "no store at this path (opened read-only)", o.path);
  std::error_code ec;
  std::filesystem::create_directories(o.path, ec);
  if (ec)
    return make_error(classify(ec.value()), "cannot create the store directory: " + ec.message(), o.path);
  return {};
}

/// Before LMDB opens them: data.mdb and lock.mdb, where they exist, must be
/// regular files. LMDB opens whatever is there: a FIFO blocked a read-only
/// open forever, and a directory or a device came back as a bare errno
/// (STORAGE_ERROR, which says "retry").
result<void> check_store_files(const std::string& dir, bool read_only) {
  for (const char* name : {"data.mdb", "lock.mdb"}) {
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;  // missing: LMDB creates it or reports it
    if (!S_ISREG(st.st_mode))
      return make_error(errc::STORE_CORRUPT, fmt::format("the store's {} is not a regular file", name), dir);
    // LMDB takes an empty data.mdb for a new environment and writes its
    // meta pages, which a read-only handle cannot (it failed with EBADF).
    if (read_only && st.st_size == 0 && std::string_view(name) == "data.mdb")
      return make_error(errc::STORE_CORRUPT,
                        "the store's data.mdb is empty (never initialized, or truncated to nothing)", dir);
  }
  return {};
}

}  // namespace

error lmdb_error(int rc, std::string_view what, const std::string& path) {
  const errc code = classify(rc);
  std::string message = fmt::format("LMDB: {}: {}", what, lmdb_message(rc));
  if (code == errc::STORE_READ_ONLY) message += " (the store cannot be written; open it read-only to read it)";
  return make_error(code, std::move(message), path, rc);
}

void throw_lmdb(int rc, std::string_view what, const std::string& path) { throw failure(lmdb_error(rc, what, path)); }

void env::refresh_map_bounds() {
  MDB_envinfo info;
  if (mdb_env_info(handle, &info) == 0) {
    map_begin = static_cast<const char*>(info.me_mapaddr);
    map_end = map_begin + info.me_mapsize;
  }
}

void env::adopt_new_map_size() {
  auto lock = exclusive();
  if (int rc = mdb_env_set_mapsize(handle, 0)) throw_lmdb(rc, "adopting the map size another process set", path);
  // Keep the RLIMIT_FSIZE cap (open_env): LMDB raises a smaller size to
  // what the data already uses, so this never hides committed pages.
  MDB_envinfo info;
  if (file_size_limit && mdb_env_info(handle, &info) == 0 && info.me_mapsize > file_size_limit)
    if (int rc = mdb_env_set_mapsize(handle, file_size_limit)) throw_lmdb(rc, "capping the map size", path);
  refresh_map_bounds();
}

namespace {

/// One fdatasync of data.mdb. A read-only handle cannot use mdb_env_sync
/// (EACCES) but may fdatasync its read-only descriptor; on a read-only file
/// system nothing can be waiting to be flushed.
int sync_data_file(env& e) {
  if (!e.read_only) return mdb_env_sync(e.handle, 1);
  mdb_filehandle_t fd;
  if (int rc = mdb_env_get_fd(e.handle, &fd)) return rc;
  if (::fdatasync(fd) == 0) return 0;
  const int err = errno;
  return err == EROFS || err == EINVAL ? 0 : err;
}

}  // namespace

void env::sync_through(std::uint64_t txnid) {
  std::unique_lock lock(sync_mutex);
  if (txnid > sync_wanted) sync_wanted = txnid;
  while (synced_txnid.load(std::memory_order_relaxed) < txnid) {
    throw_if_sync_failed();
    if (sync_running) {
      // It may have started before our meta page was written: wait for it
      // and look again (the loop starts the next one if it did not cover us).
      sync_cv.wait(lock);
      continue;
    }
    sync_running = true;
    // Every txnid asked for so far had its meta page written before it was
    // asked for, hence before the fdatasync below starts: it covers them all.
    const std::uint64_t target = sync_wanted;
    lock.unlock();
    const int rc = sync_data_file(*this);
    lock.lock();
    sync_running = false;
    if (rc)
      sync_failed = rc;
    else if (target > synced_txnid.load(std::memory_order_relaxed))
      synced_txnid.store(target, std::memory_order_release);
    sync_cv.notify_all();
  }
}

void env::sync_all_wanted() {
  std::uint64_t t;
  {
    std::lock_guard lock(sync_mutex);
    t = sync_wanted;
  }
  sync_through(t);
}

void env::want_sync(std::uint64_t txnid) {
  std::lock_guard lock(sync_mutex);
  if (txnid > sync_wanted) sync_wanted = txnid;
}

void env::covered_by_commit(std::uint64_t txnid) {
  std::lock_guard lock(sync_mutex);
  if (txnid > synced_txnid.load(std::memory_order_relaxed)) {
    synced_txnid.store(txnid, std::memory_order_release);
    sync_cv.notify_all();
  }
}

void env::throw_if_sync_failed() const {
  if (sync_failed)
    throw_lmdb(sync_failed,
               "syncing the store failed (now or earlier); commits since the last successful sync may not be on "
               "disk, reopen the store",
               path);
}

void env::wait_synced(std::uint64_t txnid) {
  while (!wait_synced_for(txnid, std::chrono::hours(1))) {
  }
}

bool env::wait_synced_for(std::uint64_t txnid, std::chrono::microseconds timeout) {
  std::unique_lock lock(sync_mutex);
  return sync_cv.wait_for(lock, timeout, [&] {
    throw_if_sync_failed();
    return synced_txnid.load(std::memory_order_relaxed) >= txnid;
  });
}

void env::add_pending(const std::vector<std::string>& keys, std::uint64_t txnid) {
  const std::uint64_t synced = synced_txnid.load(std::memory_order_acquire);
  std::lock_guard lock(pending_mutex);
  std::erase_if(pending_keys, [&](const auto& kv) { return kv.second <= synced; });
  for (const auto& k : keys) {
    auto& t = pending_keys[k];
    if (txnid > t) t = txnid;
  }
  pending_count.store(pending_keys.size(), std::memory_order_release);
}

std::uint64_t env::pending_txnid(table t, std::string_view key) {
  if (pending_count.load(std::memory_order_acquire) == 0) return 0;
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(static_cast<char>(t));
  k.append(key);
  std::lock_guard lock(pending_mutex);
  auto it = pending_keys.find(k);
  return it == pending_keys.end() || it->second <= synced_txnid.load(std::memory_order_acquire) ? 0 : it->second;
}

std::uint64_t env::pending_prefix_txnid(table t, std::string_view prefix) {
  if (pending_count.load(std::memory_order_acquire) == 0) return 0;
  const std::uint64_t synced = synced_txnid.load(std::memory_order_acquire);
  std::uint64_t newest = 0;
  std::lock_guard lock(pending_mutex);
  for (const auto& [k, txnid] : pending_keys)
    if (txnid > synced && txnid > newest && !k.empty() && k[0] == static_cast<char>(t) &&
        std::string_view(k).substr(1).starts_with(prefix))
      newest = txnid;
  return newest;
}

bool env::grow_map() {
  auto lock = exclusive();
  MDB_envinfo info;
  if (int rc = mdb_env_info(handle, &info)) throw_lmdb(rc, "reading the map size", path);
  const std::uint64_t current = info.me_mapsize;
  std::uint64_t next = current * 2;
  if (max_map_bytes != 0 && next > max_map_bytes) next = max_map_bytes;
  if (next <= current) return false;
  if (int rc = mdb_env_set_mapsize(handle, next)) throw_lmdb(rc, "growing the map", path);
  refresh_map_bounds();
  return true;
}

result<std::shared_ptr<env>> open_env(const env_options& o) {
  if (o.path.empty()) return make_error(errc::INVALID_CONFIG, "the store path is empty", o.path);
  if (auto r = prepare_directory(o); !r) return std::move(r).error();
  std::error_code ec;
  const std::string canonical = std::filesystem::canonical(o.path, ec).string();
  if (ec) return make_error(classify(ec.value()), "cannot resolve the store path: " + ec.message(), o.path);

  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  forget_parent_envs(reg);
  if (auto it = reg.envs.find(canonical); it != reg.envs.end()) {
    if (auto shared = it->second.lock()) {
      if (shared->read_only && !o.read_only)
        return make_error(errc::STORE_READ_ONLY, "the store is already open read-only in this process", canonical);
      return shared;
    }
  }

  if (auto r = check_store_files(canonical, o.read_only); !r) return std::move(r).error();
  std::shared_ptr<env> e(new env, close_env);
  e->path = canonical;
  e->read_only = o.read_only;
  e->relaxed = o.relaxed;
  e->max_map_bytes = o.max_map_bytes;
  if (!o.read_only) {
    // LMDB writes pages at offsets anywhere below the map size. A write at
    // or past the process's RLIMIT_FSIZE raises SIGXFSZ (its default
    // action kills the host) or, straddling it, comes back short (LMDB
    // reports EIO). Capping the map at the limit turns both into the
    // ordinary MDB_MAP_FULL: STORE_FULL, the write not applied.
    struct rlimit fsize;
    if (::getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY) {
      e->file_size_limit = static_cast<std::uint64_t>(fsize.rlim_cur);
      if (e->max_map_bytes == 0 || e->max_map_bytes > e->file_size_limit) e->max_map_bytes = e->file_size_limit;
    }
  }
  if (int rc = mdb_env_create(&e->handle)) return lmdb_error(rc, "creating the environment", canonical);
  mdb_env_set_maxdbs(e->handle, table_count + 4);
  mdb_env_set_maxreaders(e->handle, 254);
  std::uint64_t initial = o.initial_map_bytes ? o.initial_map_bytes : (64ull << 20);
  if (e->max_map_bytes && initial > e->max_map_bytes) initial = e->max_map_bytes;
  mdb_env_set_mapsize(e->handle, initial);
  // MDB_NOTLS: read transactions are not tied to a thread (and a thread may
  // hold several). Relaxed = MDB_NOSYNC: a commit is written to the OS but
  // not flushed; the committing thread flushes at most a second apart
  // (lmdb_store.cpp). Per-commit fsync costs milliseconds on real disks,
  // which no "fast" mode can afford. What it trades: a process crash loses
  // nothing (the OS has the pages); an OS crash or power failure may lose
  // the commits since the last flush. LMDB documents that the store stays
  // consistent then as long as the filesystem preserves write order (ext4
  // data=ordered, XFS, ...); durable mode makes no such assumption.
  //
  // Durable = MDB_NOMETASYNC plus our own sync after every commit (group
  // commit, lmdb_store.cpp). In LMDB 0.9.24, mdb_txn_commit writes the dirty
  // pages, fdatasyncs data.mdb (skipped only under MDB_NOSYNC), and then
  // writes the meta page that makes the commit current: by default through
  // a second descriptor opened O_DSYNC (a second synchronous disk write
  // inside the commit, under LMDB's write lock), under MDB_NOMETASYNC with a
  // plain pwrite to the page cache. So with MDB_NOMETASYNC:
  // - integrity does not depend on the filesystem's write order (unlike
  //   MDB_NOSYNC): the pages a meta page points to are on disk before that
  //   meta page is written at all. LMDB keeps both meta pages' snapshots
  //   intact (a transaction only reuses pages freed at least two commits
  //   ago), and the data sync of the next commit also flushes the previous
  //   meta page, so the newest meta page on disk is always the last synced
  //   one or the one just after it, each pointing at synced pages. LMDB
  //   documents this mode as keeping A, C and I and giving up only D;
  // - D comes back from env::sync_through(): every durable write() returns
  //   only after an fdatasync of data.mdb that started after its commit
  //   returned (so after its meta page was written) has completed.
  // What it buys: the meta page's sync no longer happens inside the commit
  // while holding the group-commit leadership and LMDB's write lock. The
  // next batch starts its transaction while the previous one is still
  // syncing its meta page, and concurrent callers share one fdatasync.
  unsigned flags = MDB_NOTLS;
  if (o.read_only) flags |= MDB_RDONLY;
  if (o.relaxed) flags |= MDB_NOSYNC;
  if (!o.read_only && !o.relaxed) flags |= MDB_NOMETASYNC;
  if (int rc = mdb_env_open(e->handle, canonical.c_str(), flags, 0600)) {
    if (rc == ENOENT && o.read_only) return make_error(errc::INVALID_CONFIG, "no store at this path (opened read-only)", canonical);
    if (o.read_only && classify(rc) == errc::STORE_READ_ONLY) {
      // lmdb_error's advice ("open it read-only") would send the caller in a
      // circle: LMDB readers also write lock.mdb (the reader table), so it
      // has to be writable, or creatable in the directory.
      error err = lmdb_error(rc, "opening the store read-only", canonical);
      err.message = fmt::format("LMDB: opening the store read-only: {} (readers need to read data.mdb and to "
                                "write lock.mdb, LMDB's reader table, or create it in the store directory)",
                                lmdb_message(rc));
      return err;
    }
    return lmdb_error(rc, "opening the store", canonical);
  }
  e->max_key_bytes = static_cast<std::size_t>(mdb_env_get_maxkeysize(e->handle));
  if (auto r = check_not_truncated(*e); !r) return std::move(r).error();
  int dead = 0;
  mdb_reader_check(e->handle, &dead);  // free slots of readers in crashed processes
  if (o.check_pages)
    if (auto r = verify_pages(*e); !r) return std::move(r).error();
  if (auto r = open_databases(*e); !r) return std::move(r).error();
  e->refresh_map_bounds();
  e->deferred_meta_sync = (flags & MDB_NOMETASYNC) != 0;
  if (!o.relaxed) {
    // Start from a synced state: the tables open_databases may just have
    // created, and commits of other processes that may not be synced yet.
    MDB_envinfo info;
    if (int rc = mdb_env_info(e->handle, &info)) return lmdb_error(rc, "reading the environment info", canonical);
    try {
      e->sync_through(info.me_last_txnid);
    } catch (const failure& f) {
      return f.err();
    }
  }
  reg.envs[canonical] = e;
  return e;
}

}  // namespace tokenrail::storage::lmdb_impl
