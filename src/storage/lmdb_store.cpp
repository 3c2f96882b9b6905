// The LMDB backend: one environment, one named database per table.
//
// - Reads run in MDB_RDONLY transactions (MVCC): they never block a writer
//   and see one committed snapshot.
// - Writes are group-committed. A write() call queues its body; the first
//   waiting caller becomes the leader, takes the queued bodies (up to
//   max_batch), runs each in a nested transaction of one parent transaction
//   (a body that throws aborts only its child), commits the parent once,
//   hands the leadership on, waits for the sync that makes its batch
//   durable and wakes the batch's callers. Every caller returns only after
//   that commit (and, for durable stores, that sync) is done, with its own
//   exception if its body threw. A batch of one runs directly in the
//   parent, without nesting. A lone writer never waits for company: it
//   leads a batch of one at once.
// - Durable stores sync in two steps (see open_env in lmdb_env.cpp): the
//   commit syncs the data pages and writes the meta page to the page cache
//   (MDB_NOMETASYNC); after the leadership is handed on, env::sync_through()
//   flushes the meta page, shared by every batch that needs it by then. So
//   batch n+1 runs its bodies and syncs its data while batch n syncs its
//   meta page, instead of waiting for both of batch n's syncs.
// - A leader forming a durable batch first waits (at most
//   env::gather_wait) for the callers the last release woke: they write
//   again at once, and a batch formed without them would leave them a whole
//   commit in the queue.
// - When the map is full (MDB_MAP_FULL), the batch is aborted, the map
//   doubled (at most max_map_bytes, else STORE_FULL) and the bodies run
//   again: the interface allows a backend to run a body more than once.
// - Values that a write transaction reads from its own dirty pages are
//   copied, so every view stays valid until the transaction ends, as the
//   interface promises (LMDB alone only keeps them until the next write).
#include "lmdb_txn.hpp"

#include <chrono>
#include <boost/json/object.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace tokenrail::storage {
namespace {

using lmdb_impl::env;
using lmdb_impl::throw_lmdb;
using lmdb_impl::write_request;
using lmdb_impl::lmdb_read_txn;
using lmdb_impl::lmdb_write_txn;
using lmdb_impl::map_full_signal;

constexpr std::size_t max_batch = 64;

enum class batch_outcome { done, map_full };

/// What a batch's commit needs before its callers may return.
struct batch_commit {
  bool sync = false;          // synced_txnid must reach sync_txnid first
  std::uint64_t sync_txnid = 0;
  bool data_synced = false;   // a commit of this batch ran LMDB's data fdatasync
};

class lmdb_store final : public store {
 public:
  lmdb_store(std::shared_ptr<env> e, bool read_only, bool durable)
      : env_(std::move(e)), read_only_(read_only || env_->read_only), needs_sync_(durable && env_->relaxed) {}

  void read(tokenrail::detail::function_ref<void(read_transaction&)> body) override {
    std::uint64_t snapshot = 0, must_sync = 0;
    std::exception_ptr body_error;
    {
      auto lock = env_->share();
      MDB_txn* txn = begin(MDB_RDONLY, lock);
      struct guard {
        MDB_txn* t;
        ~guard() { mdb_txn_abort(t); }
      } g{txn};
      snapshot = mdb_txn_id(txn);
      lmdb_read_txn rt(*env_, txn);
      rt.track(&must_sync, snapshot);
      try {
        body(rt);
      } catch (...) {
        body_error = std::current_exception();
      }
    }
    // A durable store shows only what is on disk: if the snapshot holds a
    // commit whose meta page is not synced yet (a group commit between its
    // commit and its sync), nothing the body computed from it leaves
    // read(), neither its results nor its exception, before that sync. The
    // wait comes after the body, so the body's work overlaps the sync, and
    // after the transaction ended, so the wait holds nothing a writer (one
    // growing the map) could need.
    //
    // Which sync: a snapshot newer than this process's last commit may
    // hold another process's unsynced commit anywhere: the whole snapshot.
    // Otherwise only this process's unsynced records the body looked at.
    if (!env_->relaxed) {
      if (snapshot > env_->local_committed_txnid.load(std::memory_order_acquire)) must_sync = snapshot;
      env_->sync_for_read(must_sync);
    }
    if (body_error) std::rethrow_exception(body_error);
  }

  void write(tokenrail::detail::function_ref<void(write_transaction&)> body) override {
    if (read_only_) fail(errc::STORE_READ_ONLY, "the store was opened read-only");
    write_request req;
    req.body = &body;
    req.needs_sync = needs_sync_;
    std::unique_lock lock(env_->queue_mutex);
    env_->queue.push_back(&req);
    ++env_->writers_inside;
    if (env_->returning > 0 && --env_->returning == 0) env_->gather_cv.notify_one();
    while (!req.done) {
      if (env_->leader_active || req.taken) {
        req.cv.wait(lock);
        continue;
      }
      // Lead one batch: everything queued so far (FIFO, at most max_batch).
      env_->leader_active = true;
      // Gather. The writers the last release woke (their batch's meta page
      // just got synced) are about to write again; a batch formed this
      // instant would miss them, so they would wait a whole commit in the
      // queue and each writer would go around in three commit cycles
      // instead of two. Wait briefly for them to come back (durable mode
      // only: in relaxed mode there is no sync to share).
      if (env_->deferred_meta_sync && env_->returning > 0) {
        const auto until = std::chrono::steady_clock::now() + env::gather_wait;
        env_->gather_cv.wait_until(lock, until, [&] { return env_->returning == 0; });
        env_->returning = 0;   // those not back by now are not coming soon
      }
      // The previous leader may have left its meta sync to us (see below).
      const bool cover_owed = std::exchange(env_->cover_due, false);
      std::vector<write_request*> batch;
      while (!env_->queue.empty() && batch.size() < max_batch) {
        batch.push_back(env_->queue.front());
        batch.back()->taken = true;
        env_->queue.pop_front();
      }
      lock.unlock();
      batch_commit committed;
      try {
        committed = run_batch(batch);
      } catch (...) {
        // An LMDB failure outside any body (begin, commit): every caller of
        // the batch gets it, nothing of the batch was committed.
        for (auto* r : batch)
          if (!r->error) r->error = std::current_exception();
      }
      // The commit is in LMDB; only its meta page's sync is left. Hand the
      // leadership on first, so the next batch runs while this one waits
      // for the disk. Its callers stay parked (taken, not done): none
      // returns before synced_txnid covers the batch.
      //
      // Who syncs. With writers queued, a next leader starts at once, and
      // the commit it runs fdatasyncs data.mdb (MDB_NOMETASYNC still syncs
      // the data pages) after our meta page was written: that one sync
      // covers our batch too (it publishes covered_by_commit). So we leave
      // it to them (cover_due) instead of issuing a second fdatasync that
      // would queue behind theirs at the device; if their batch commits
      // nothing, they owe an explicit sync instead (cover_owed above).
      // With no one queued but other writers inside write() (typically the
      // previous batch's callers, returning now and about to write again),
      // the hand-off is tentative: if no one has led a new batch within
      // tentative_hand_off_wait, we take the cover back and sync ourselves.
      // A lone writer (no other writer inside) syncs at once: it never
      // waits for company.
      lock.lock();
      env_->leader_active = false;
      const bool queued = !env_->queue.empty();
      const bool hand_off = committed.sync && env_->deferred_meta_sync &&
                            (queued || env_->writers_inside > batch.size());
      std::uint64_t epoch = 0;
      if (hand_off) {
        env_->want_sync(committed.sync_txnid);  // before a successor can read sync_wanted
        env_->cover_due = true;
        epoch = ++env_->cover_epoch;
      }
      // The first queued writer leads next (it takes everyone queued).
      if (!env_->queue.empty()) env_->queue.front()->cv.notify_one();
      lock.unlock();
      if (cover_owed && !committed.data_synced) {
        // Our commit did not fdatasync (nothing written, or it failed):
        // cover the predecessor explicitly.
        try {
          env_->sync_all_wanted();
        } catch (...) {
          for (auto* r : batch)
            if (!r->error) r->error = std::current_exception();
        }
      }
      if (committed.sync) {
        try {
          bool synced = false;
          if (hand_off && !queued &&
              !env_->wait_synced_for(committed.sync_txnid, env::tentative_hand_off_wait)) {
            lock.lock();
            const bool taken_over = env_->cover_epoch != epoch || !env_->cover_due;
            if (!taken_over) env_->cover_due = false;  // no successor came: ours again
            lock.unlock();
            if (!taken_over) {
              env_->sync_through(committed.sync_txnid);
              synced = true;
            }
          }
          if (!synced) {
            if (hand_off)
              env_->wait_synced(committed.sync_txnid);
            else
              env_->sync_through(committed.sync_txnid);
          }
        } catch (...) {
          for (auto* r : batch)
            if (!r->error) r->error = std::current_exception();
        }
      }
      lock.lock();
      for (auto* r : batch) {
        r->done = true;
        r->cv.notify_one();  // under the lock: the request lives until its caller reacquires it
      }
      // They will likely write again at once (see Gather above); a lone
      // writer's batch is not counted: no leader should wait for it.
      if (env_->writers_inside > batch.size()) env_->returning += batch.size();
    }
    --env_->writers_inside;
    lock.unlock();
    if (req.error) std::rethrow_exception(req.error);
  }

  capabilities caps() const noexcept override {
    capabilities c;
    c.persistent = true;
    c.multi_process = true;
    c.readers_block_writers = false;
    c.group_commit = true;
    c.max_key_bytes = env_->max_key_bytes;
    return c;
  }

  store_stats stats() override {
    store_stats out;
    struct stat file;
    if (::stat((env_->path + "/data.mdb").c_str(), &file) == 0) out.bytes_used = static_cast<std::uint64_t>(file.st_size);
    auto lock = env_->share();
    MDB_txn* txn = begin(MDB_RDONLY, lock);
    for (std::size_t i = 0; i < table_count; ++i) {
      if (!env_->dbi_present[i]) continue;
      MDB_stat st;
      if (int rc = mdb_stat(txn, env_->dbi[i], &st)) {
        mdb_txn_abort(txn);
        throw_lmdb(rc, "reading table statistics", env_->path);
      }
      out.entries += st.ms_entries;
    }
    mdb_txn_abort(txn);
    return out;
  }

 private:
  /// Begins a transaction while `lock` (shared on resize_mutex) is held. If
  /// another process grew the map, adopts its size (which needs the lock
  /// exclusively) and tries again.
  MDB_txn* begin(unsigned flags, std::shared_lock<std::shared_mutex>& lock, MDB_txn* parent = nullptr) {
    for (int attempt = 0;; ++attempt) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_->handle, parent, flags, &txn);
      if (rc == 0) return txn;
      if (rc == MDB_MAP_RESIZED && parent == nullptr && attempt < 8) {
        lock.unlock();
        env_->adopt_new_map_size();
        lock = env_->share();
        continue;
      }
      throw_lmdb(rc, flags & MDB_RDONLY ? "beginning a read transaction" : "beginning a write transaction",
                 env_->path);
    }
  }

  batch_commit run_batch(std::vector<write_request*>& batch) {
    for (;;) {
      batch_commit committed;
      if (try_batch(batch, committed) == batch_outcome::done) return committed;
      if (env_->grow_map()) continue;
      // The map is at max_map_bytes. Run the bodies one by one, so that only
      // those that do not fit fail. One sync at the end covers them all
      // (their txnids only grow).
      if (batch.size() > 1) {
        batch_commit all;
        for (auto* r : batch) {
          std::vector<write_request*> one{r};
          try {
            const batch_commit c = run_batch(one);
            if (c.sync) {
              all.sync = true;
              all.sync_txnid = std::max(all.sync_txnid, c.sync_txnid);
            }
            all.data_synced = all.data_synced || c.data_synced;
          } catch (...) {
            r->error = std::current_exception();
          }
        }
        return all;
      }
      error full = lmdb_impl::lmdb_error(MDB_MAP_FULL, "the store reached max_map_bytes", env_->path);
      full.details.as_object()["maxMapBytes"] = env_->max_map_bytes;
      if (env_->file_size_limit && env_->max_map_bytes == env_->file_size_limit) {
        full.message += " (capped at the process's file size limit, RLIMIT_FSIZE)";
        full.details.as_object()["fileSizeLimit"] = env_->file_size_limit;
      }
      batch[0]->error = std::make_exception_ptr(failure(std::move(full)));
      return {};
    }
  }

  batch_outcome try_batch(std::vector<write_request*>& batch, batch_commit& committed) {
    auto lock = env_->share();
    MDB_txn* parent = begin(0, lock);
    if (env_->file_size_limit) {
      // The map is capped at RLIMIT_FSIZE (open_env), but a store that is
      // already larger (written by a process without the limit) has pages
      // past it that LMDB may reuse, and a write there raises SIGXFSZ. Such
      // a store stays readable; writes are STORE_FULL.
      MDB_envinfo info;
      MDB_stat st;
      if (mdb_env_info(env_->handle, &info) == 0 && mdb_env_stat(env_->handle, &st) == 0 &&
          (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize > env_->file_size_limit) {
        mdb_txn_abort(parent);
        error full = lmdb_impl::lmdb_error(MDB_MAP_FULL, "the store is larger than the process's file size limit "
                                                         "(RLIMIT_FSIZE); it can be read, not written",
                                           env_->path);
        full.details.as_object()["fileSizeLimit"] = env_->file_size_limit;
        throw failure(std::move(full));
      }
    }
    // The txnid this commit's meta page will carry. A batch that commits
    // nothing (every body failed, or none changed anything: LMDB then skips
    // the commit and the next one reuses the txnid) writes no meta page; its
    // callers wait only for the snapshot they read (txnid - 1), since a
    // body may have read, and answered from, a commit whose sync is still
    // running. Durable environments only: relaxed ones promise no such thing.
    const std::uint64_t txnid = mdb_txn_id(parent);
    committed.sync = !env_->relaxed;
    committed.sync_txnid = txnid - 1;
    const bool nested = batch.size() > 1;
    bool any_ok = false, wrote = false;
    std::vector<std::string> touched;  // durable envs: for env::pending_keys
    for (auto* r : batch) {
      r->error = nullptr;
      MDB_txn* txn = parent;
      if (nested) {
        if (int rc = mdb_txn_begin(env_->handle, parent, 0, &txn)) {
          r->error = std::make_exception_ptr(failure(lmdb_impl::lmdb_error(rc, "beginning a nested transaction", env_->path)));
          continue;
        }
      }
      bool full = false, body_wrote = false;
      {
        lmdb_write_txn w(*env_, txn);
        if (!env_->relaxed) w.touched = &touched;
        try {
          (*r->body)(w);
        } catch (const map_full_signal&) {
          full = true;
        } catch (...) {
          r->error = std::current_exception();
        }
        full = full || w.map_full;
        body_wrote = w.wrote;
      }
      if (full) {
        // Aborting the parent also aborts an open child.
        mdb_txn_abort(parent);
        return batch_outcome::map_full;
      }
      if (r->error) {
        mdb_txn_abort(txn);  // the child, or the whole (single-body) transaction
        if (!nested) return batch_outcome::done;
        continue;
      }
      if (nested) {
        int rc = mdb_txn_commit(txn);  // merges into the parent
        if (rc == MDB_MAP_FULL) {
          mdb_txn_abort(parent);
          return batch_outcome::map_full;
        }
        if (rc) {
          r->error = std::make_exception_ptr(failure(lmdb_impl::lmdb_error(rc, "committing a nested transaction", env_->path)));
          continue;
        }
      }
      any_ok = true;
      wrote = wrote || body_wrote;
    }
    if (!any_ok) {
      mdb_txn_abort(parent);
      return batch_outcome::done;
    }
    // Before the commit becomes visible: a reader that finds one of these
    // records in its snapshot waits for this commit's sync.
    if (!env_->relaxed && wrote) env_->add_pending(touched, txnid);
    int rc = mdb_txn_commit(parent);  // frees parent, also on failure
    if (rc == MDB_MAP_FULL) return batch_outcome::map_full;
    if (rc) throw_lmdb(rc, "committing", env_->path);
    lock.unlock();
    committed.sync_txnid = wrote ? txnid : txnid - 1;
    if (wrote) {
      auto prev = env_->local_committed_txnid.load(std::memory_order_relaxed);
      while (prev < txnid && !env_->local_committed_txnid.compare_exchange_weak(prev, txnid, std::memory_order_release)) {
      }
    }
    if (!env_->relaxed && wrote) {
      // LMDB's commit fdatasynced data.mdb before writing our meta page, and
      // that sync started after every earlier commit (ours began after they
      // returned) had written its meta page: they are on disk now.
      env_->covered_by_commit(txnid - 1);
      committed.data_synced = true;
    }
    bool sync = false;
    for (auto* r : batch) sync = sync || (r->needs_sync && !r->error);
    if (!env_->relaxed || sync) {
      // Durable (MDB_NOMETASYNC: the data pages are synced, the meta page is
      // not), or a durable handle on an environment opened relaxed
      // (MDB_NOSYNC: neither is): the caller syncs after handing the
      // leadership on (write()).
      committed.sync = true;
      return batch_outcome::done;
    }
    {
      // Relaxed: bound how much a power failure can take to about a second.
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch()).count();
      auto last = env_->last_flush_ms.load(std::memory_order_relaxed);
      sync = now - last >= env::relaxed_flush_interval_ms &&
             env_->last_flush_ms.compare_exchange_strong(last, now, std::memory_order_relaxed);
    }
    if (sync) {
      // The periodic relaxed flush: data and meta pages reach the disk.
      if (int src = mdb_env_sync(env_->handle, 1)) throw_lmdb(src, "syncing the commit", env_->path);
    }
    return batch_outcome::done;
  }

  std::shared_ptr<env> env_;
  bool read_only_;
  bool needs_sync_;
};

}  // namespace

result<std::unique_ptr<store>> open_lmdb_store(const lmdb_options& options) {
  lmdb_impl::env_options o;
  o.path = options.path;
  o.read_only = options.read_only;
  o.relaxed = options.mode == durability::relaxed;
  o.initial_map_bytes = options.initial_map_bytes;
  o.max_map_bytes = options.max_map_bytes;
  o.check_pages = options.check_pages_on_open;
  auto e = lmdb_impl::open_env(o);
  if (!e) return std::move(e).error();
  std::unique_ptr<store> s = std::make_unique<lmdb_store>(std::move(e).value(), options.read_only,
                                                          options.mode == durability::durable);
  return s;
}

}  // namespace tokenrail::storage
