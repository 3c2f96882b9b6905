// suspend_step (D8): hands the pending step of (stateToken, ackToken) to
// something else and returns its callbackToken; the run waits (phase
// Waiting) until complete_step, a linked child run, expire_callbacks or
// cancel_run resolves the callback.
//
// Idempotent per (stateToken, ackToken): the callback token is minted from
// (run, node, ack attempt), and a repeat while the callback is open returns
// the first response byte for byte (a different timeoutMs does not change
// it). Once resolved, the pair cannot be suspended again
// (CALLBACK_ALREADY_RESOLVED): rehydrate for a fresh ackToken. An ackToken
// already used to advance: ACK_ALREADY_USED. Another callback open on the
// run: STEP_SUSPENDED. Cancelled run: RUN_CANCELLED. Complete node:
// RUN_COMPLETE.
#include "engine/callbacks.hpp"
#include "engine/status_store.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

std::string op_suspend_step(engine::impl& e, const boost::json::object& req) {
  const token::payload st = verify_token(e, token::kind::state, req, "stateToken");
  const token::payload ak = verify_ack_for(e, st, req);
  std::optional<std::int64_t> timeout;
  if (auto* t = member(req, "timeoutMs")) timeout = t->to_number<std::int64_t>();
  const std::int64_t now = e.now();
  const token::payload cb{ak.run_id, ak.node_seq, ak.attempt};
  std::string response;
  e.store->write([&](storage::write_transaction& tx) {
    if (auto rec = load_record(tx, cb)) {
      if (str_of(*rec, "origin") == "suspend" && str_of(*rec, "state") == "open") {
        response = std::string(str_of(*rec, "suspendResponse"));
        return;
      }
      refuse_resolved(*rec, "/ackToken");
    }
    if (tx.get(storage::table::acks, ack_key(ak.run_id, ak.node_seq, ak.attempt))) {
      boost::json::object d;
      d["pointer"] = "/ackToken";
      d["hint"] = "rehydrate (continue_workflow with the stateToken alone) for a fresh ackToken";
      fail(errc::ACK_ALREADY_USED, "this ackToken was already used to advance; it cannot be suspended", std::move(d));
    }
    auto info = e.run(tx, st.run_id);
    auto sv = tx.get(storage::table::runs, run_status_key(st.run_id));
    if (!sv) fail_missing_status(tx, st.run_id);
    const run_status status = decode_status(*sv);
    boost::json::object rid{{"runId", format_run_id(st.run_id)}};
    if (status.phase == run_phase::cancelled) fail(errc::RUN_CANCELLED, "the run was cancelled", rid);
    if (status.phase == run_phase::waiting)
      fail(errc::STEP_SUSPENDED, "the run already waits on a callback; complete it with complete_step", rid);
    auto node = load_node(tx, st.run_id, st.node_seq);
    if (node.rec.complete)
      fail(errc::RUN_COMPLETE, "the node is complete; there is no pending step to suspend",
           boost::json::object{{"nodeId", format_node_id(st.run_id, st.node_seq)}});

    boost::json::object r;
    r["callbackToken"] = e.codec()->mint(token::kind::callback, cb);
    r["runId"] = format_run_id(st.run_id);
    r["nodeId"] = format_node_id(st.run_id, st.node_seq);
    r["stepId"] = node.rec.step_id;
    r["sessionId"] = info->session_id;
    if (timeout) r["expiresAt"] = format_time(now + *timeout);
    response = tokenrail::json::serialize(r);

    boost::json::object rec;
    rec["state"] = "open";
    rec["origin"] = "suspend";
    rec["stepId"] = node.rec.step_id;
    if (timeout) rec["expiresAt"] = now + *timeout;
    rec["suspendResponse"] = response;
    save_record(tx, cb, rec);
    if (timeout) tx.put(storage::table::callbacks, callback_expiry_key(now + *timeout, cb), "");

    // Correlation ids of the run (spec.correlation) travel on the event.
    boost::json::object ev;
    ev["attempt"] = cb.attempt;
    ev["origin"] = "suspend";
    ev["stepId"] = node.rec.step_id;
    if (timeout) ev["expiresAt"] = now + *timeout;
    {
      auto doc = tx.get(storage::table::runs, run_spec_key(st.run_id));
      boost::system::error_code ec;
      auto v = parse_json_text(*doc, ec);
      if (!ec && v.is_object())
        if (auto* s = v.as_object().if_contains("spec"); s && s->is_object())
          if (auto* c = s->as_object().if_contains("correlation")) ev["correlation"] = *c;
    }
    run_status s = status;
    status_on_async_event(s, event_kind::step_suspended, st.node_seq, ev, now);
    write_status(tx, st.run_id, s);
    event_appender log(tx, info->session_id, now);
    log.append(event_kind::step_suspended, st.run_id, st.node_seq, std::move(ev));
    log.finish();
  });
  return response;
}

}  // namespace tokenrail::engine_detail
