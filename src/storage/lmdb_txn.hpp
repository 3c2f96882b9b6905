// The LMDB backend's transactions: get and scan over one MDB_txn (shared
// by reads and writes), and the put/erase of a write body. The store that
// runs them, with group commit, is lmdb_store.cpp.
#pragma once

#include "lmdb_env.hpp"
#include "prefix.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::storage::lmdb_impl {

/// Thrown through a body when a put found the map full; write() grows the
/// map and runs the body again. Bodies that catch everything still cannot
/// hide it: the transaction remembers.
struct map_full_signal {};

inline MDB_val as_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view as_view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

struct cursor_guard {
  MDB_cursor* c = nullptr;
  ~cursor_guard() {
    if (c) mdb_cursor_close(c);
  }
};

/// Shared by read and write transactions: get and scan over one MDB_txn.
class lmdb_reader {
 public:
  lmdb_reader(env& e, MDB_txn* txn) : env_(e), txn_(txn) {}

  // Durable reads only: the newest unsynced txnid among the records this
  // transaction looked at (see env::pending_keys), capped at the snapshot.
  std::uint64_t* must_sync = nullptr;
  std::uint64_t snapshot = 0;

  std::optional<std::string_view> do_get(table t, std::string_view key) {
    if (must_sync) need(env_.pending_txnid(t, key));  // a miss counts too: it may be an unsynced delete
    const auto i = static_cast<std::size_t>(t);
    if (!env_.dbi_present[i] || key.empty() || key.size() > env_.max_key_bytes) return std::nullopt;
    MDB_val k = as_val(key), v;
    int rc = mdb_get(txn_, env_.dbi[i], &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    if (rc) throw_lmdb(rc, "reading a record", env_.path);
    return stable(as_view(v));
  }

  void do_scan(table t, std::string_view prefix,
               tokenrail::detail::function_ref<bool(std::string_view, std::string_view)> visit, bool reverse) {
    if (must_sync) need(env_.pending_prefix_txnid(t, prefix));
    const auto i = static_cast<std::size_t>(t);
    if (!env_.dbi_present[i]) return;
    cursor_guard cur;
    if (int rc = mdb_cursor_open(txn_, env_.dbi[i], &cur.c)) throw_lmdb(rc, "opening a cursor", env_.path);
    MDB_val k, v;
    int rc;
    if (!reverse) {
      if (prefix.empty()) {
        rc = mdb_cursor_get(cur.c, &k, &v, MDB_FIRST);
      } else {
        k = as_val(prefix);
        rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE);
      }
    } else {
      // Position after the last key with the prefix, then step back.
      std::string successor;
      if (prefix_util::prefix_successor(prefix, successor)) {
        k = as_val(successor);
        rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE);
        if (rc == 0) rc = mdb_cursor_get(cur.c, &k, &v, MDB_PREV);
        else if (rc == MDB_NOTFOUND) rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST);
      } else {
        rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST);
      }
    }
    const MDB_cursor_op step = reverse ? MDB_PREV : MDB_NEXT;
    while (rc == 0) {
      const std::string_view key = as_view(k);
      if (!prefix_util::starts_with(key, prefix)) return;
      if (!visit(stable(key), stable(as_view(v)))) return;
      rc = mdb_cursor_get(cur.c, &k, &v, step);
    }
    if (rc != MDB_NOTFOUND) throw_lmdb(rc, "scanning a table", env_.path);
  }

 protected:
  /// A key newer than the snapshot was not seen, but an older unsynced
  /// version of it may have been: then the snapshot itself must be synced.
  void need(std::uint64_t txnid) {
    if (txnid) *must_sync = std::max(*must_sync, std::min(txnid, snapshot));
  }

  /// A view that stays valid until the transaction ends. Clean pages live
  /// in the read-only map and never move during a transaction; a write
  /// transaction's dirty pages (allocated outside the map) may, so those
  /// bytes are copied into the transaction.
  std::string_view stable(std::string_view v) {
    if (v.empty() || (v.data() >= env_.map_begin && v.data() + v.size() <= env_.map_end)) return v;
    return copies_.emplace_back(v);
  }

  env& env_;
  MDB_txn* txn_;
  std::deque<std::string> copies_;
};

class lmdb_read_txn final : public read_transaction, private lmdb_reader {
 public:
  using lmdb_reader::lmdb_reader;
  void track(std::uint64_t* unsynced_seen, std::uint64_t snapshot_txnid) {
    must_sync = unsynced_seen;
    snapshot = snapshot_txnid;
  }
  std::optional<std::string_view> get(table t, std::string_view key) override { return do_get(t, key); }
  void scan(table t, std::string_view prefix,
            tokenrail::detail::function_ref<bool(std::string_view, std::string_view)> visit,
            bool reverse) override {
    do_scan(t, prefix, visit, reverse);
  }
};

class lmdb_write_txn final : public write_transaction, private lmdb_reader {
 public:
  using lmdb_reader::lmdb_reader;
  std::optional<std::string_view> get(table t, std::string_view key) override { return do_get(t, key); }
  void scan(table t, std::string_view prefix,
            tokenrail::detail::function_ref<bool(std::string_view, std::string_view)> visit,
            bool reverse) override {
    do_scan(t, prefix, visit, reverse);
  }

  void put(table t, std::string_view key, std::string_view value) override {
    check_key(key);
    touch(t, key);
    MDB_val k = as_val(key), v = as_val(value);
    int rc = mdb_put(txn_, env_.dbi[static_cast<std::size_t>(t)], &k, &v, 0);
    if (rc == MDB_MAP_FULL) {
      map_full = true;
      throw map_full_signal{};
    }
    if (rc) throw_lmdb(rc, "writing a record", env_.path);
    wrote = true;
  }

  void erase(table t, std::string_view key) override {
    check_key(key);
    touch(t, key);
    MDB_val k = as_val(key);
    int rc = mdb_del(txn_, env_.dbi[static_cast<std::size_t>(t)], &k, nullptr);
    if (rc == MDB_MAP_FULL) {  // a delete can need fresh pages too
      map_full = true;
      throw map_full_signal{};
    }
    if (rc && rc != MDB_NOTFOUND) throw_lmdb(rc, "erasing a record", env_.path);
    if (rc == 0) wrote = true;
  }

  bool map_full = false;
  // A put or a delete that changed something: the commit writes a meta page
  // with the transaction's own txnid (LMDB skips empty commits entirely).
  bool wrote = false;
  // Durable envs: every (table byte + key) this body wrote or erased.
  std::vector<std::string>* touched = nullptr;

 private:
  void touch(table t, std::string_view key) {
    if (!touched) return;
    std::string k;
    k.reserve(key.size() + 1);
    k.push_back(static_cast<char>(t));
    k.append(key);
    touched->push_back(std::move(k));
  }

  void check_key(std::string_view key) const {
    if (key.empty()) fail(errc::INTERNAL, "storage: empty keys are not allowed");
    if (key.size() > env_.max_key_bytes)
      fail(errc::INTERNAL, "storage: key of " + std::to_string(key.size()) + " bytes exceeds LMDB's limit of " +
                               std::to_string(env_.max_key_bytes));
  }
};

}  // namespace tokenrail::storage::lmdb_impl
