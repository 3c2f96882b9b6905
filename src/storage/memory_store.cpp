// The memory backend: ordered maps guarded by a reader/writer lock.
//
// Concurrency (reported through capabilities):
// - write() calls are serialized by writer_mutex_. The body runs without
//   the data lock: it reads the committed maps (only a commit changes them,
//   and commits are serialized by the same writer mutex) and writes into a
//   transaction-local overlay. Readers therefore never wait for a body.
// - Committing takes the data lock exclusively for as long as it takes to
//   splice the overlay's map nodes into the tables (no allocation, no
//   copy), so a long read() body delays the commit: readers_block_writers.
// - read() holds the data lock shared for the whole body: a consistent
//   snapshot that sees every write of a commit or none. A commit waiting
//   for the lock goes before readers that arrive after it.
// - Each committed table keeps a finger: the element the last commit put.
//   Engine workloads are sequential per run and session (node n+1 after n,
//   event i+1 after i, the same status and session head rewritten), so a
//   get or put checks the finger and its successor first: one or two key
//   comparisons instead of a walk of ~20 levels of a large tree, each a
//   memcmp of keys that share a long prefix (run id, session id). Anything
//   else falls back to an ordinary lookup.
// - Bodies must not call back into the same store (a read() nested in a
//   read() body can deadlock against a waiting commit; a write() nested in
//   a write() body deadlocks on the writer mutex).
#include "prefix.hpp"

#include <tokenrail/storage/store.hpp>

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

namespace tokenrail::storage {
namespace {

using table_map = std::map<std::string, std::string, std::less<>>;
using key_set = std::set<std::string, std::less<>>;

void check_key(std::string_view key) {
  // LMDB refuses empty keys; refusing them here too keeps the backends
  // interchangeable (the conformance suite checks both).
  if (key.empty()) fail(errc::INTERNAL, "storage: empty keys are not allowed");
}

/// [first, last) of the keys of m that start with prefix.
template <class Map>
auto prefix_range(Map& m, std::string_view prefix) {
  auto first = prefix.empty() ? m.begin() : m.lower_bound(prefix);
  auto last = m.end();
  std::string successor;
  if (prefix_util::prefix_successor(prefix, successor)) last = m.lower_bound(std::string_view(successor));
  return std::pair{first, last};
}

void scan_map(const table_map& m, std::string_view prefix,
              tokenrail::detail::function_ref<bool(std::string_view, std::string_view)> visit,
              bool reverse) {
  auto [first, last] = prefix_range(m, prefix);
  if (!reverse) {
    for (auto it = first; it != last; ++it)
      if (!visit(it->first, it->second)) return;
  } else {
    for (auto it = last; it != first;) {
      --it;
      if (!visit(it->first, it->second)) return;
    }
  }
}

/// A committed table and its finger (see the top of the file). Only a
/// commit moves the finger, under the exclusive data lock; readers only
/// read it.
struct committed_table {
  table_map map;
  table_map::iterator finger = map.end();

  committed_table() = default;
  committed_table(const committed_table&) = delete;  // the finger points into map
  committed_table& operator=(const committed_table&) = delete;

  table_map::const_iterator find(std::string_view key) const {
    if (finger != map.end()) {
      const int at = finger->first.compare(key);
      if (at == 0) return finger;
      if (at < 0) {
        // Past the finger: its successor, or nothing if the key falls
        // between the two. That is the usual miss: the engine looks for
        // the ack record of the step it is about to record, whose key comes
        // right after the last one put.
        const auto next = std::next(finger);
        if (next == map.end()) return map.end();
        const int after = next->first.compare(key);
        if (after == 0) return next;
        if (after > 0) return map.end();
      }
    }
    return map.find(key);
  }

  /// Inserts the node, or replaces the value of an existing key. Returns the
  /// change in bytes held and whether an entry was added. Never allocates.
  std::pair<std::int64_t, bool> put(table_map::node_type&& node) {
    const std::string& key = node.key();
    table_map::iterator hint = map.end();
    if (finger != map.end()) {
      if (finger->first == key) return replace(finger, node);
      if (finger->first < key) {
        auto next = std::next(finger);
        if (next != map.end() && next->first == key) return replace(next, node);
        if (next == map.end() || key < next->first) hint = next;
      }
    }
    if (hint == map.end() && !map.empty() && map.rbegin()->first >= key) {
      // Not right after the finger nor past the last key: an ordinary insert.
      auto ins = map.insert(std::move(node));
      if (!ins.inserted) return replace(ins.position, ins.node);
      finger = ins.position;
      return {static_cast<std::int64_t>(finger->first.size() + finger->second.size()), true};
    }
    finger = map.insert(hint, std::move(node));  // the right place: amortized constant
    return {static_cast<std::int64_t>(finger->first.size() + finger->second.size()), true};
  }

  /// Removes key if present; returns the bytes it held (0 if absent).
  std::size_t erase(std::string_view key) {
    auto it = map.find(key);
    if (it == map.end()) return 0;
    const std::size_t bytes = it->first.size() + it->second.size();
    if (it == finger) finger = map.end();
    map.erase(it);
    return bytes;
  }

 private:
  std::pair<std::int64_t, bool> replace(table_map::iterator at, table_map::node_type& node) {
    const auto delta = static_cast<std::int64_t>(node.mapped().size()) - static_cast<std::int64_t>(at->second.size());
    at->second.swap(node.mapped());
    finger = at;
    return {delta, false};
  }
};
using tables_t = std::array<committed_table, table_count>;

/// Writes not yet committed, for one table. A key is in at most one of
/// puts and erased; erased only holds keys that exist in the committed map.
struct overlay {
  table_map puts;
  key_set erased;
};

class memory_store;

class memory_read_txn final : public read_transaction {
 public:
  explicit memory_read_txn(const tables_t& tables) : tables_(tables) {}

  std::optional<std::string_view> get(table t, std::string_view key) override {
    const auto& c = tables_[static_cast<std::size_t>(t)];
    auto it = c.find(key);
    if (it == c.map.end()) return std::nullopt;
    return std::string_view(it->second);
  }

  void scan(table t, std::string_view prefix,
            tokenrail::detail::function_ref<bool(std::string_view, std::string_view)> visit,
            bool reverse) override {
    scan_map(tables_[static_cast<std::size_t>(t)].map, prefix, visit, reverse);
  }

 private:
  const tables_t& tables_;
};

class memory_write_txn final : public write_transaction {
 public:
  explicit memory_write_txn(const tables_t& tables) : tables_(tables) {}

  std::optional<std::string_view> get(table t, std::string_view key) override {
    const auto i = static_cast<std::size_t>(t);
    if (!overlay_[i]) return base_get(i, key);
    const overlay& o = *overlay_[i];
    if (auto it = o.puts.find(key); it != o.puts.end()) return std::string_view(it->second);
    if (!o.erased.empty() && o.erased.find(key) != o.erased.end()) return std::nullopt;
    return base_get(i, key);
  }

  void scan(table t, std::string_view prefix,
            tokenrail::detail::function_ref<bool(std::string_view, std::string_view)> visit,
            bool reverse) override {
    const auto i = static_cast<std::size_t>(t);
    if (!overlay_[i] || (overlay_[i]->puts.empty() && overlay_[i]->erased.empty()))
      return scan_map(tables_[i].map, prefix, visit, reverse);
    const overlay& o = *overlay_[i];
    auto [bfirst, blast] = prefix_range(tables_[i].map, prefix);
    auto [ofirst, olast] = prefix_range(o.puts, prefix);
    auto hidden = [&](const std::string& key) {
      return !o.erased.empty() && o.erased.find(key) != o.erased.end();
    };
    // A merge of the committed range and the overlay's puts; on equal keys
    // the overlay wins and both advance.
    if (!reverse) {
      auto b = bfirst;
      auto p = ofirst;
      while (b != blast || p != olast) {
        if (p == olast || (b != blast && b->first < p->first)) {
          if (!hidden(b->first) && !visit(b->first, b->second)) return;
          ++b;
        } else {
          if (b != blast && b->first == p->first) ++b;
          if (!visit(p->first, p->second)) return;
          ++p;
        }
      }
    } else {
      auto b = blast;
      auto p = olast;
      while (b != bfirst || p != ofirst) {
        if (p == ofirst || (b != bfirst && std::prev(p)->first < std::prev(b)->first)) {
          --b;
          if (!hidden(b->first) && !visit(b->first, b->second)) return;
        } else {
          --p;
          if (b != bfirst && std::prev(b)->first == p->first) --b;
          if (!visit(p->first, p->second)) return;
        }
      }
    }
  }

  void put(table t, std::string_view key, std::string_view value) override {
    check_key(key);
    overlay& o = touch(static_cast<std::size_t>(t));
    if (!o.erased.empty())
      if (auto it = o.erased.find(key); it != o.erased.end()) o.erased.erase(it);
    if (auto it = o.puts.find(key); it != o.puts.end()) {
      it->second.assign(value);
    } else {
      o.puts.emplace_hint(it, std::string(key), std::string(value));
    }
  }

  void erase(table t, std::string_view key) override {
    check_key(key);
    const auto i = static_cast<std::size_t>(t);
    overlay& o = touch(i);
    if (auto it = o.puts.find(key); it != o.puts.end()) o.puts.erase(it);
    const auto& c = tables_[i];
    if (c.find(key) != c.map.end()) o.erased.emplace(key);
  }

  /// One overlay per table the body wrote to; the others stay disengaged,
  /// so a transaction costs nothing for tables it does not touch.
  std::array<std::optional<overlay>, table_count>& writes() noexcept { return overlay_; }

 private:
  std::optional<std::string_view> base_get(std::size_t i, std::string_view key) const {
    const auto& c = tables_[i];
    auto it = c.find(key);
    if (it == c.map.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  overlay& touch(std::size_t i) {
    if (!overlay_[i]) overlay_[i].emplace();
    return *overlay_[i];
  }

  const tables_t& tables_;
  std::array<std::optional<overlay>, table_count> overlay_;
};

class memory_store final : public store {
 public:
  void read(tokenrail::detail::function_ref<void(read_transaction&)> body) override {
    // Pass the gate first: while a commit waits for the data lock it holds
    // the gate, so a steady stream of readers cannot starve it (glibc's
    // rwlock prefers readers).
    { std::lock_guard gate(gate_); }
    std::shared_lock lock(data_mutex_);
    memory_read_txn txn(tables_);
    body(txn);
  }

  void write(tokenrail::detail::function_ref<void(write_transaction&)> body) override {
    std::lock_guard writer(writer_mutex_);
    memory_write_txn txn(tables_);
    body(txn);  // throws: the overlay is dropped, nothing was applied
    apply(txn.writes());
  }

  capabilities caps() const noexcept override {
    capabilities c;
    c.persistent = false;
    c.multi_process = false;
    c.readers_block_writers = true;  // only the commit's splice waits for readers
    c.group_commit = false;
    return c;
  }

  store_stats stats() override {
    std::shared_lock lock(data_mutex_);
    return store_stats{bytes_, entries_};
  }

 private:
  /// Moves the overlay into the tables. Map nodes are spliced (extract and
  /// insert), so committing allocates nothing and cannot fail halfway.
  void apply(std::array<std::optional<overlay>, table_count>& writes) noexcept {
    std::unique_lock gate(gate_);
    std::unique_lock lock(data_mutex_);
    gate.unlock();
    for (std::size_t i = 0; i < table_count; ++i) {
      if (!writes[i]) continue;
      committed_table& c = tables_[i];
      overlay& o = *writes[i];
      for (const auto& key : o.erased) {
        if (const std::size_t freed = c.erase(key)) {
          bytes_ -= freed;
          --entries_;
        }
      }
      // The overlay is sorted: consecutive puts land next to each other,
      // so after the first one the finger is the right hint.
      while (!o.puts.empty()) {
        auto [delta, added] = c.put(o.puts.extract(o.puts.begin()));
        bytes_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(bytes_) + delta);
        if (added) ++entries_;
      }
    }
  }

  tables_t tables_;
  std::shared_mutex data_mutex_;
  std::mutex gate_;           // makes a waiting commit go before new readers
  std::mutex writer_mutex_;
  std::uint64_t bytes_ = 0;
  std::uint64_t entries_ = 0;
};

}  // namespace

std::unique_ptr<store> open_memory_store() { return std::make_unique<memory_store>(); }

}  // namespace tokenrail::storage
