// Helpers for the async-completion tests (D8, issue 5): an engine with the
// fixture workflows of tests/fixtures/engine/async, and one-line wrappers
// for suspend_step / complete_step / get_run.
#pragma once

#include "engine/support.hpp"
#include "engine/callbacks.hpp"   // restore_callbacks (white-box)

#include <optional>
#include <string>

namespace trtest {

inline std::unique_ptr<tokenrail::engine> async_engine(const std::string& backend) {
  return make_engine(backend, {linear_workflow("lin3", 3)}, {std::string(TOKENRAIL_FIXTURES) + "/engine/async"});
}

inline json::value suspend(tokenrail::engine& e, const json::value& r, std::optional<std::int64_t> timeout_ms = {}) {
  json::object req;
  req["stateToken"] = r.at("stateToken");
  req["ackToken"] = r.at("ackToken");
  if (timeout_ms) req["timeoutMs"] = *timeout_ms;
  return call(e, "suspend_step", req);
}

inline json::object result(const std::string& status, const std::string& notes = {}) {
  json::object res;
  res["status"] = status;
  if (!notes.empty()) res["output"] = json::object{{"notesMarkdown", notes}};
  return res;
}

inline std::string complete_text(tokenrail::engine& e, const json::value& cb, const json::object& res) {
  json::object req;
  req["callbackToken"] = cb;
  req["result"] = res;
  return e.call("complete_step", json::serialize(req));
}

inline json::value complete(tokenrail::engine& e, const json::value& cb, const json::object& res) {
  return json::parse(complete_text(e, cb, res));
}

inline json::value get_run(tokenrail::engine& e, const json::value& run_id) {
  return call(e, "get_run", json::object{{"runId", run_id}});
}

inline std::string phase(tokenrail::engine& e, const json::value& run_id) {
  auto g = get_run(e, run_id);
  INFO(json::serialize(g));
  return std::string(g.at("status").at("phase").as_string());
}

inline json::value run_id_of(const json::value& r) { return r.at("session").at("runId"); }

/// Rehydrates `state_token` and advances until the run completes.
inline json::value drive_to_end(tokenrail::engine& e, const json::value& state_token, const std::string& notes) {
  auto r = call(e, "continue_workflow", json::object{{"stateToken", state_token}});
  for (int i = 0; i < 50 && !r.as_object().contains("error") && !r.at("isComplete").as_bool(); ++i)
    r = advance(e, r, notes);
  return r;
}

/// The context of a run's preferred tip (white-box).
inline json::object tip_context(tokenrail::engine& e, const json::value& run_id) {
  namespace ed = tokenrail::engine_detail;
  auto id = ed::parse_run_id(std::string(run_id.as_string()));
  json::object ctx;
  e.internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    auto sv = tx.get(tokenrail::storage::table::runs, ed::run_status_key(*id));
    auto s = ed::decode_status(*sv);
    ctx = ed::load_node(tx, *id, s.preferred_tip).context;
  });
  return ctx;
}

/// Every event of the store with the given kind (white-box).
inline std::vector<json::object> events_of_kind(tokenrail::engine& e, std::string_view kind) {
  namespace ed = tokenrail::engine_detail;
  std::vector<json::object> out;
  e.internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    tx.scan(tokenrail::storage::table::events, "", [&](std::string_view, std::string_view v) {
      ed::decode_events(v, [&](ed::event&& ev) {
        if (ev.kind == kind) out.push_back(json::parse(ev.canonical).as_object());
      });
      return true;
    });
  });
  return out;
}

}  // namespace trtest
