// Rebuilding callback records from a session's events (D8, import_session):
// the callbacks table is not part of a bundle. Separate because only import
// uses it and it reads the log, not the live records.
#include "engine/callback_detail.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

namespace json = boost::json;

void restore_callbacks(engine::impl& e, storage::write_transaction& tx, std::string_view session_id) {
  auto codec = e.codec();
  std::vector<event> events;
  tx.scan(storage::table::events, event_prefix(session_id), [&](std::string_view, std::string_view v) {
    decode_events(v, [&](event&& ev) { events.push_back(std::move(ev)); });
    return true;
  });
  for (const auto& ev : events) {
    if (!ev.run) continue;
    const auto& d = ev.data;
    if (ev.kind == event_kind::run_started) {
      // A child linked by start_workflow {parent}: the link and childRunId.
      auto* spec = d.if_contains("spec");
      auto* t = spec && spec->is_object() ? spec->as_object().if_contains("callbackToken") : nullptr;
      if (!t || !t->is_string()) continue;
      auto cb = codec->verify(token::kind::callback, t->get_string());
      if (!cb) continue;   // minted under another keyring: the link cannot be used here
      tx.put(storage::table::callbacks, child_link_key(cb->run_id, *ev.run), "");
      if (auto rec = load_record(tx, *cb); rec && !rec->contains("childRunId")) {
        (*rec)["childRunId"] = format_run_id(*ev.run);
        save_record(tx, *cb, *rec);
      }
      continue;
    }
    if (!ev.node || !d.contains("attempt")) {
      if (ev.kind == event_kind::run_cancelled) {
        json::object resp{{"runId", format_run_id(*ev.run)}, {"phase", "Cancelled"},
                          {"cancelled", json::array{json::value(format_run_id(*ev.run))}}};
        if (auto* r = d.if_contains("reason")) resp["reason"] = *r;
        if (auto* c = d.if_contains("cascadedFrom")) resp["cascadedFrom"] = *c;
        tx.put(storage::table::callbacks, cancel_record_key(*ev.run), tokenrail::json::serialize(resp));
      }
      continue;
    }
    const token::payload cb{*ev.run, *ev.node, d.at("attempt").to_number<std::uint32_t>()};
    if (ev.kind == event_kind::step_suspended) {
      json::object rec;
      rec["state"] = "open";
      for (std::string_view k : {"origin", "stepId", "expiresAt", "childRunId", "index", "workflowId"})
        if (auto* v = d.if_contains(k)) rec[k] = *v;
      if (str_of(rec, "origin") == "suspend") {
        json::object r;
        r["callbackToken"] = codec->mint(token::kind::callback, cb);
        r["runId"] = format_run_id(cb.run_id);
        r["nodeId"] = format_node_id(cb.run_id, cb.node_seq);
        r["stepId"] = rec.at("stepId");
        r["sessionId"] = session_id;
        if (auto* x = rec.if_contains("expiresAt")) r["expiresAt"] = format_time(x->to_number<std::int64_t>());
        rec["suspendResponse"] = tokenrail::json::serialize(r);
      }
      if (auto* x = rec.if_contains("expiresAt"))
        tx.put(storage::table::callbacks, callback_expiry_key(x->to_number<std::int64_t>(), cb), "");
      if (auto c = parse_run_id(str_of(rec, "childRunId")))
        tx.put(storage::table::callbacks, child_link_key(cb.run_id, *c), "");
      save_record(tx, cb, rec);
    } else if (ev.kind == event_kind::step_completed) {
      auto rec = load_record(tx, cb);
      if (!rec) continue;
      const std::string_view by = str_of(d, "resolvedBy"), status = str_of(d, "status");
      const bool by_cancellation = by == "cancel_run" || (by == "child_run" && status == "cancelled");
      (*rec)["state"] = by == "expire_callbacks" ? "expired" : by_cancellation ? "cancelled" : "completed";
      (*rec)["resultStatus"] = status;
      if (auto* o = d.if_contains("output")) (*rec)["output"] = *o;
      if (auto* x = rec->if_contains("expiresAt"))
        tx.erase(storage::table::callbacks, callback_expiry_key(x->to_number<std::int64_t>(), cb));
      save_record(tx, cb, *rec);
    }
  }
}

}  // namespace tokenrail::engine_detail
