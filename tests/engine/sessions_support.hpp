// Helpers for the session tests (resume, export/import, tamper, verify,
// markdown): a session with forks, checkpoints and two runs; bundle access.
#pragma once

#include "engine/support.hpp"
#include "engine/projection.hpp"

#include <tokenrail/json/canonical.hpp>

namespace trtest {

/// An engine whose keyring is the given 64-hex secret (two engines with one
/// secret mint the same tokens), on a memory or lmdb store.
inline std::unique_ptr<tokenrail::engine> make_engine_with_secret(const std::string& backend,
                                                                  std::vector<json::value> definitions,
                                                                  const std::string& secret) {
  json::object cfg;
  json::object store{{"backend", backend}};
  if (backend == "lmdb") {
    store["path"] = fresh_dir("lmdb_secret");
    store["durability"] = "relaxed";
  }
  cfg["store"] = std::move(store);
  json::array defs;
  for (auto& d : definitions) defs.push_back(std::move(d));
  cfg["definitions"] = std::move(defs);
  cfg["keyring"] = json::object{{"secret", secret}};
  auto e = tokenrail::engine::open(json::value(cfg), test_clock());
  if (!e) {
    if (backend == "lmdb" && e.error().code == tokenrail::errc::STORAGE_ERROR) return nullptr;
    FAIL("engine::open failed: " << json::serialize(e.error().to_json()));
  }
  return std::move(*e);
}

inline tokenrail::engine_detail::verify_report verify_report_of(tokenrail::engine& e) {
  tokenrail::engine_detail::verify_report rep;
  e.internals().store->read([&](auto& tx) { rep = tokenrail::engine_detail::verify_store(tx); });
  for (auto& p : rep.problems) UNSCOPED_INFO(p);
  return rep;
}

inline json::value checkpoint(tokenrail::engine& e, const json::value& r, const std::string& notes) {
  return call(e, "checkpoint_workflow", json::object{{"stateToken", r.at("stateToken")}, {"notesMarkdown", notes}});
}

inline json::value start_in(tokenrail::engine& e, const std::string& workflow, const std::string& session,
                            json::object context = {}) {
  json::object req{{"workflowId", workflow}, {"sessionId", session}};
  if (!context.empty()) req["context"] = std::move(context);
  return call(e, "start_workflow", req);
}

/// Session `sid` with two runs:
///  - lin3: s1 (checkpoint, notes) -> s2, then a rewind to s1 with other
///    notes and a context delta (a fork), the first branch completed;
///  - lin2: s1 pending.
/// Returns the first run's start response.
inline json::value build_session(tokenrail::engine& e, const std::string& sid) {
  auto r0 = start_in(e, "lin3", sid, json::object{{"ticket", "T-42"}});
  REQUIRE(error_code(r0).empty());
  REQUIRE(error_code(checkpoint(e, r0, "looked at the auth middleware")).empty());
  auto r1 = advance(e, r0, "first try:\nsplit the handler");
  REQUIRE(error_code(r1).empty());
  auto r2 = advance(e, r1, "step two done");
  auto r3 = advance(e, r2, "finished");
  REQUIRE(r3.at("isComplete") == true);
  REQUIRE(error_code(checkpoint(e, r3, "post-run review")).empty());
  auto h = call(e, "continue_workflow", json::object{{"stateToken", r0.at("stateToken")}});
  json::object req{{"stateToken", h.at("stateToken")}, {"ackToken", h.at("ackToken")},
                   {"output", json::object{{"notesMarkdown", "second try"},
                                           {"artifacts", json::array{json::object{{"kind", "note"}, {"n", 1}}}}}},
                   {"context", json::object{{"approach", "rewrite"}}}};
  auto f = call(e, "continue_workflow", req);
  REQUIRE(error_code(f).empty());
  auto other = start_in(e, "lin2", sid);
  REQUIRE(error_code(other).empty());
  return r0;
}

inline json::object export_bundle(tokenrail::engine& e, const std::string& sid) {
  auto r = call(e, "export_session", json::object{{"sessionId", sid}});
  INFO(json::serialize(r));
  REQUIRE(error_code(r).empty());
  return r.at("bundle").as_object();
}

inline json::value import_bundle(tokenrail::engine& e, const json::value& bundle) {
  return call(e, "import_session", json::object{{"bundle", bundle}});
}

inline std::vector<json::value> session_defs() { return {linear_workflow("lin3", 3), linear_workflow("lin2", 2)}; }

/// Recomputes prev/hash of every event and the manifest's headHash and
/// eventCount: a forgery whose chain is consistent, to reach the replay.
inline void rechain(json::object& bundle) {
  using namespace tokenrail;
  crypto::digest32 prev{};
  auto& events = bundle["events"].as_array();
  for (auto& ev : events) {
    auto& o = ev.as_object();
    o.erase("prev");
    o.erase("hash");
    std::string canonical = tokenrail::json::canonicalize(json::value(o));
    auto h = crypto::blake2b_state().update(std::span<const std::uint8_t>(prev)).update(canonical).final();
    o["prev"] = crypto::to_hex(std::span<const std::uint8_t>(prev));
    o["hash"] = crypto::to_hex(std::span<const std::uint8_t>(h));
    prev = h;
  }
  auto& m = bundle["manifest"].as_object();
  m["eventCount"] = events.size();
  m["headHash"] = crypto::to_hex(std::span<const std::uint8_t>(prev));
}

inline std::int64_t details_position(const json::value& r) {
  auto* d = r.at("error").as_object().if_contains("details");
  if (!d || !d->is_object() || !d->as_object().contains("position")) return -1;
  return d->at("position").to_number<std::int64_t>();
}

}  // namespace trtest
