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
#include <string>
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
