// Shared helpers for the engine tests: engines over each backend, calls
// that parse responses, a deterministic clock, and small workflows.
#pragma once

#include "fresh_dir.hpp"

#include <tokenrail/engine/engine.hpp>

#include "engine/context.hpp"   // white-box access (src/engine)
#include "engine/projection.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

namespace trtest {

namespace json = boost::json;

/// The backends every engine test runs on. LMDB joins when it is built:
/// make_engine returns nullptr for a backend this build lacks.
inline std::vector<std::string> backends() { return {"memory", "lmdb"}; }

/// A clock that ticks 1 ms per reading, from a fixed start.
inline tokenrail::clock_fn test_clock() {
  auto t = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);
  return [t] { return t->fetch_add(1); };
}

using tokenrail::testing::fresh_dir;

/// An engine on `backend` with the given in-memory definitions and extra
/// workflow directories. nullptr if the backend is not built.
inline std::unique_ptr<tokenrail::engine> make_engine(const std::string& backend,
                                                      std::vector<json::value> definitions,
                                                      std::vector<std::string> dirs = {},
                                                      json::object limits = {}) {
  json::object cfg;
  json::object store;
  store["backend"] = backend;
  if (backend == "lmdb") {
    store["path"] = fresh_dir("lmdb");
    store["durability"] = "relaxed";
    // A host-supplied key: the LMDB engine then needs no keyring file.
    cfg["keyring"] = json::object{{"secret", std::string(64, 'c')}};
  }
  cfg["store"] = std::move(store);
  json::array defs;
  for (auto& d : definitions) defs.push_back(std::move(d));
  cfg["definitions"] = std::move(defs);
  json::array wd;
  for (auto& d : dirs) wd.emplace_back(d);
  cfg["workflows"] = std::move(wd);
  if (!limits.empty()) cfg["limits"] = std::move(limits);
  auto e = tokenrail::engine::open(json::value(cfg), test_clock());
  if (!e) {
    if (backend == "lmdb" && e.error().code == tokenrail::errc::STORAGE_ERROR) return nullptr;
    FAIL("engine::open failed: " << json::serialize(e.error().to_json()));
  }
  return std::move(*e);
}

/// An engine on the relaxed LMDB store in `dir` with the keyring file
/// <dir>/keyring.json: engines opened on one dir share the store and the
/// keyring (as two hosts in one process would).
inline std::unique_ptr<tokenrail::engine> shared_lmdb_engine(const std::string& dir,
                                                             std::vector<json::value> definitions,
                                                             std::vector<std::string> dirs = {}) {
  json::array defs(definitions.begin(), definitions.end());
  json::array wd(dirs.begin(), dirs.end());
  json::object cfg{{"store", json::object{{"backend", "lmdb"}, {"path", dir}, {"durability", "relaxed"}}},
                   {"definitions", std::move(defs)},
                   {"workflows", std::move(wd)}};
  auto e = tokenrail::engine::open(json::value(cfg), test_clock());
  if (!e) FAIL("engine::open failed: " << json::serialize(e.error().to_json()));
  return std::move(*e);
}

inline json::value call(tokenrail::engine& e, std::string_view op, const json::value& req) {
  return json::parse(e.call(op, json::serialize(req)));
}

inline std::string error_code(const json::value& r) {
  if (!r.is_object()) return "<not an object>";
  auto* err = r.as_object().if_contains("error");
  if (!err) return "";
  return std::string(err->at("code").as_string());
}

inline std::string error_pointer(const json::value& r) {
  auto* err = r.as_object().if_contains("error");
  if (!err) return "<no error>";
  auto* d = err->as_object().if_contains("details");
  if (!d || !d->is_object()) return "<no details>";
  auto* p = d->as_object().if_contains("pointer");
  return p ? std::string(p->as_string()) : "<no pointer>";
}

inline std::string str(const json::value& v, std::string_view k) {
  return std::string(v.at(k).as_string());
}

/// A linear workflow of n steps "s1".."sn".
inline json::value linear_workflow(const std::string& id, int n) {
  json::array steps;
  for (int i = 1; i <= n; ++i) {
    json::object s;
    s["id"] = "s" + std::to_string(i);
    s["title"] = "Step " + std::to_string(i);
    s["prompt"] = "Do step " + std::to_string(i) + " for {{ticket}}.";
    steps.push_back(std::move(s));
  }
  json::object wf;
  wf["id"] = id;
  wf["name"] = "Linear " + std::to_string(n);
  wf["description"] = "A linear workflow for tests";
  wf["version"] = "1.0.0";
  wf["steps"] = std::move(steps);
  return wf;
}

/// continue_workflow with both tokens from `r` and the given notes.
inline json::value advance(tokenrail::engine& e, const json::value& r, const std::string& notes = "done") {
  json::object req;
  req["stateToken"] = r.at("stateToken");
  req["ackToken"] = r.at("ackToken");
  req["output"] = json::object{{"notesMarkdown", notes}};
  return call(e, "continue_workflow", req);
}

inline json::value start(tokenrail::engine& e, const std::string& workflow, json::object context = {}) {
  json::object req;
  req["workflowId"] = workflow;
  if (!context.empty()) req["context"] = std::move(context);
  return call(e, "start_workflow", req);
}

/// Storage operations seen by a counting_store: what the scalability tests
/// compare (never time). `scanned` is the number of records scans visited.
struct storage_counts {
  std::uint64_t gets = 0, scans = 0, scanned = 0, puts = 0, erases = 0;
  /// Records read: gets plus records visited by scans.
  std::uint64_t reads() const { return gets + scanned; }
  friend bool operator==(const storage_counts&, const storage_counts&) = default;
  friend std::ostream& operator<<(std::ostream& os, const storage_counts& c) {
    return os << "{gets " << c.gets << ", scans " << c.scans << ", scanned " << c.scanned << ", puts " << c.puts
              << ", erases " << c.erases << "}";
  }
};

/// Wraps a store and counts what the engine asks of it. Not synchronized:
/// for tests that call the engine from one thread.
class counting_store final : public tokenrail::storage::store {
 public:
  explicit counting_store(std::unique_ptr<tokenrail::storage::store> inner) : inner_(std::move(inner)) {}
  storage_counts counts;

  void read(tokenrail::detail::function_ref<void(tokenrail::storage::read_transaction&)> body) override {
    inner_->read([&](tokenrail::storage::read_transaction& tx) {
      counting_tx<tokenrail::storage::read_transaction> w(tx, counts);
      body(w);
    });
  }
  void write(tokenrail::detail::function_ref<void(tokenrail::storage::write_transaction&)> body) override {
    inner_->write([&](tokenrail::storage::write_transaction& tx) {
      counting_tx<tokenrail::storage::write_transaction> w(tx, counts);
      body(w);
    });
  }
  tokenrail::storage::capabilities caps() const noexcept override { return inner_->caps(); }
  tokenrail::storage::store_stats stats() override { return inner_->stats(); }

 private:
  using table = tokenrail::storage::table;
  using visitor = tokenrail::detail::function_ref<bool(std::string_view, std::string_view)>;
  template <class Tx>
  struct counting_tx final : tokenrail::storage::write_transaction {
    Tx& tx;
    storage_counts& c;
    counting_tx(Tx& t, storage_counts& k) : tx(t), c(k) {}
    std::optional<std::string_view> get(table t, std::string_view k) override {
      ++c.gets;
      return tx.get(t, k);
    }
    void scan(table t, std::string_view p, visitor v, bool reverse) override {
      ++c.scans;
      tx.scan(t, p, [&](std::string_view k, std::string_view val) { ++c.scanned; return v(k, val); }, reverse);
    }
    void put(table t, std::string_view k, std::string_view v) override {
      ++c.puts;
      if constexpr (std::is_base_of_v<tokenrail::storage::write_transaction, Tx>) tx.put(t, k, v);
      else FAIL("put in a read transaction");
    }
    void erase(table t, std::string_view k) override {
      ++c.erases;
      if constexpr (std::is_base_of_v<tokenrail::storage::write_transaction, Tx>) tx.erase(t, k);
      else FAIL("erase in a read transaction");
    }
  };
  std::unique_ptr<tokenrail::storage::store> inner_;
};

/// Puts a counting_store between the engine and its store (once) and
/// returns it.
inline counting_store& count_storage(tokenrail::engine& e) {
  auto& slot = e.internals().store;
  if (auto* c = dynamic_cast<counting_store*>(slot.get())) return *c;
  auto* c = new counting_store(std::move(slot));
  slot.reset(c);
  return *c;
}

/// The storage operations of one call (request given as JSON).
inline storage_counts counted_call(tokenrail::engine& e, std::string_view op, const json::value& req,
                                   json::value* response = nullptr) {
  counting_store& c = count_storage(e);
  const storage_counts before = c.counts;
  json::value r = call(e, op, req);
  INFO(op << " -> " << json::serialize(r));
  CHECK(error_code(r).empty());
  const storage_counts& a = c.counts;
  if (response) *response = std::move(r);
  return {a.gets - before.gets, a.scans - before.scans, a.scanned - before.scanned, a.puts - before.puts,
          a.erases - before.erases};
}

/// verify (chain + replay vs the stored records) over the whole store.
inline tokenrail::engine_detail::verify_report verify(tokenrail::engine& e) {
  tokenrail::engine_detail::verify_report rep;
  e.internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    rep = tokenrail::engine_detail::verify_store(tx);
  });
  for (auto& p : rep.problems) UNSCOPED_INFO("verify: " << p);
  return rep;
}

}  // namespace trtest
