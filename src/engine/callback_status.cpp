// The status of async steps (D8): the step-result contract's errorCode check,
// the status rule shared by the live path and the replay (projection.cpp),
// and what get_run shows of it (waitingOn, lastResult, children, delegations).
#include "engine/callback_detail.hpp"

#include <tokenrail/json/canonical.hpp>

#include <algorithm>
#include <charconv>

namespace tokenrail::engine_detail {

namespace json = boost::json;

namespace {

/// Live phase of a run ("Running", ...), or null if it does not exist.
json::value phase_of(storage::read_transaction& tx, std::uint64_t run) {
  auto sv = tx.get(storage::table::runs, run_status_key(run));
  if (!sv) return nullptr;
  return json::value(phase_name(status_phase(*sv)));
}

}  // namespace

/// Delegations of node (run, seq): [{index, workflowId, runId, phase, state, status?}], by index.
json::array delegations_of(storage::read_transaction& tx, std::uint64_t run, std::uint32_t seq) {
  std::vector<std::pair<std::int64_t, json::object>> rows;
  tx.scan(storage::table::callbacks, delegation_callbacks_prefix(run, seq), [&](std::string_view, std::string_view v) {
    auto rec = parse_object(v, "a callback record");
    if (str_of(rec, "origin") != "delegation") return true;
    json::object o;
    const std::int64_t index = rec.at("index").to_number<std::int64_t>();
    o["index"] = index;
    o["workflowId"] = rec.at("workflowId");
    o["runId"] = rec.at("childRunId");
    auto child = parse_run_id(str_of(rec, "childRunId"));
    o["phase"] = child ? phase_of(tx, *child) : json::value(nullptr);
    o["callback"] = rec.at("state");
    if (auto* s = rec.if_contains("resultStatus")) o["result"] = *s;
    rows.emplace_back(index, std::move(o));
    return true;
  });
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json::array out;
  for (auto& r : rows) out.push_back(std::move(r.second));
  return out;
}

// ---- the step-result contract ----------------------------------------------

std::optional<int> parse_error_code(std::string_view code) {
  if (code.size() == 4 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = 0;
    std::from_chars(code.data(), code.data() + 4, v);
    if (v >= 1000 && v <= 5999) return v;
    return std::nullopt;
  }
  if (auto c = errc_from_name(code)) return static_cast<int>(*c);
  return std::nullopt;
}

// ---- status (live path and replay) -------------------------------------------

void status_on_async_event(run_status& s, std::string_view kind, std::uint32_t node, const json::object& data,
                           std::int64_t at) {
  json::object ext = ext_of(s);
  json::array waiting;
  if (auto* w = ext.if_contains("waitingOn"); w && w->is_array()) waiting = w->as_array();
  if (kind == event_kind::step_suspended) {
    json::object entry;
    entry["node"] = node;
    for (std::string_view k : {"attempt", "origin", "stepId", "expiresAt", "childRunId", "index", "workflowId"})
      if (auto* v = data.if_contains(k)) entry[k] = *v;
    waiting.push_back(std::move(entry));
    // A completed run waits too when a fork of one of its old nodes is
    // suspended (D4: old stateTokens fork): without it continue_workflow
    // (which refuses only Waiting/Cancelled runs) would advance the
    // suspended pair, and the callback's completion would then advance the
    // same attempt a second time.
    if (s.phase == run_phase::running || s.phase == run_phase::completed) s.phase = run_phase::waiting;
  } else if (kind == event_kind::step_completed) {
    const json::value attempt = data.contains("attempt") ? data.at("attempt") : json::value(nullptr);
    json::array kept;
    for (auto& w : waiting) {
      const auto& o = w.as_object();
      const bool same = o.at("node").to_number<std::uint32_t>() == node && o.contains("attempt") &&
                        !attempt.is_null() &&
                        o.at("attempt").to_number<std::uint64_t>() == attempt.to_number<std::uint64_t>();
      if (!same) kept.push_back(w);
    }
    waiting = std::move(kept);
    json::object last;
    last["node"] = node;
    for (std::string_view k : {"attempt", "stepId", "status", "errorCode", "metadata", "resolvedBy", "childRunId", "origin"})
      if (auto* v = data.if_contains(k)) last[k] = *v;
    last["at"] = at;
    ext["lastResult"] = std::move(last);
    // Back to what the preferred tip says: completed_at is set exactly when
    // the newest node is complete (status_on_node_created), i.e. a suspended
    // fork of a completed run that resolves without advancing.
    if (s.phase == run_phase::waiting && waiting.empty())
      s.phase = s.completed_at ? run_phase::completed : run_phase::running;
  } else if (kind == event_kind::run_cancelled) {
    waiting.clear();
    json::object c;
    for (std::string_view k : {"reason", "cascadedFrom"})
      if (auto* v = data.if_contains(k)) c[k] = *v;
    c["at"] = at;
    ext["cancellation"] = std::move(c);
    // Unconditional: cancel_run_in_tx never records it for a run that was
    // Completed when the cancel began, but resolving the run's open callbacks
    // first (step 2) may turn a Waiting run whose tip is complete back into
    // Completed; the cancellation still wins.
    s.phase = run_phase::cancelled;
  }
  if (waiting.empty()) ext.erase("waitingOn");
  else ext["waitingOn"] = std::move(waiting);
  s.async = tokenrail::json::canonicalize(ext);
  s.last_activity = at;
}

void add_async_status(storage::read_transaction& tx, std::uint64_t run, const run_status& s, json::object& out) {
  json::object ext = ext_of(s);
  json::array waiting;
  if (auto* w = ext.if_contains("waitingOn"); w && w->is_array()) {
    for (const auto& v : w->as_array()) {
      json::object o = v.as_object();
      const auto node = o.at("node").to_number<std::uint32_t>();
      o.erase("node");
      o["nodeId"] = format_node_id(run, node);
      if (auto* x = o.if_contains("expiresAt"); x && x->is_number()) o["expiresAt"] = format_time(x->to_number<std::int64_t>());
      // A child linked after the suspension (start_workflow with parent).
      if (!o.contains("childRunId") && o.contains("attempt")) {
        if (auto rec = load_record(tx, {run, node, o.at("attempt").to_number<std::uint32_t>()}))
          if (auto* c = rec->if_contains("childRunId")) o["childRunId"] = *c;
      }
      if (auto* c = o.if_contains("childRunId"); c && c->is_string())
        if (auto id = parse_run_id(c->get_string())) o["childPhase"] = phase_of(tx, *id);
      waiting.push_back(std::move(o));
    }
  }
  out["waitingOn"] = std::move(waiting);
  if (auto* l = ext.if_contains("lastResult"); l && l->is_object()) {
    json::object o = l->as_object();
    o["nodeId"] = format_node_id(run, o.at("node").to_number<std::uint32_t>());
    o.erase("node");
    o["at"] = format_time(o.at("at").to_number<std::int64_t>());
    out["lastResult"] = std::move(o);
  } else {
    out["lastResult"] = nullptr;
  }
  if (auto* c = ext.if_contains("cancellation"); c && c->is_object()) {
    json::object o = c->as_object();
    o["at"] = format_time(o.at("at").to_number<std::int64_t>());
    out["cancellation"] = std::move(o);
  }
  // Child runs linked to this run, with their live phases.
  json::array children;
  tx.scan(storage::table::callbacks, child_link_prefix(run), [&](std::string_view key, std::string_view) {
    const std::uint64_t child = get_be64(key.data() + 9);
    json::object o;
    o["runId"] = format_run_id(child);
    o["phase"] = phase_of(tx, child);
    children.push_back(std::move(o));
    return true;
  });
  if (!children.empty()) out["children"] = std::move(children);
  // The pending step's delegations (preferred tip), live.
  if (s.node_count) {
    json::array d = delegations_of(tx, run, s.preferred_tip);
    if (!d.empty()) out["delegations"] = std::move(d);
  }
}

}  // namespace tokenrail::engine_detail
