// Cancelling a run (D8): the cascade through its children and open callbacks,
// and the cancelled child completing its parent's step. Separate: cancel_run
// and expire_callbacks (a timed-out child) need only this recursive walk.
#include "engine/callback_detail.hpp"

#include <tokenrail/json/canonical.hpp>

#include <algorithm>
#include <tuple>

namespace tokenrail::engine_detail {

namespace json = boost::json;

void cancel_run_in_tx(engine::impl& e, storage::write_transaction& tx, std::uint64_t run,
                      std::optional<std::string> reason, std::optional<std::uint64_t> cascaded_from,
                      std::int64_t now, json::array& cancelled) {
  nesting_guard guard;
  run_status s = read_status(tx, run);
  if (s.phase == run_phase::cancelled || s.phase == run_phase::completed) return;
  auto info = e.run(tx, run);
  json::array mine;

  // 1. Children that still hold an open callback of this run, first: each
  //    child's cancellation completes our step with `cancelled`. The open
  //    callbacks are the status's waitingOn (every step_suspended not yet
  //    followed by its step_completed, the same events that open and
  //    resolve the records), read by key: a scan of callback_run_prefix
  //    would read every callback the run ever had (one per async attempt).
  //    Sorted as that scan visited them, so the cascade order is the same.
  std::vector<std::uint64_t> children;
  std::vector<token::payload> open;
  const json::object ext = ext_of(s);
  if (auto* w = ext.if_contains("waitingOn"); w && w->is_array())
    for (const auto& entry : w->as_array())
      if (const auto* o = entry.if_object(); o && o->contains("node") && o->contains("attempt"))
        open.push_back({run, o->at("node").to_number<std::uint32_t>(), o->at("attempt").to_number<std::uint32_t>()});
  std::sort(open.begin(), open.end(), [](const token::payload& a, const token::payload& b) {
    return std::tie(a.node_seq, a.attempt) < std::tie(b.node_seq, b.attempt);
  });
  for (const auto& cb : open)
    if (auto rec = load_record(tx, cb); rec && str_of(*rec, "state") == "open")
      if (auto c = parse_run_id(str_of(*rec, "childRunId"))) children.push_back(*c);
  // D8 "cancel_run cascades to children": also every other child linked to
  // the run (its callback already resolved: by complete_step from the host,
  // for instance) that still runs; nothing will ever consume its result.
  // Finished ones contribute nothing (see the top of this function). Link
  // keys are unique, so only the open callbacks' children can repeat: a run
  // with 10,000 children is not searched 10,000 times over.
  const auto open_children = static_cast<std::ptrdiff_t>(children.size());
  tx.scan(storage::table::callbacks, child_link_prefix(run), [&](std::string_view key, std::string_view) {
    const std::uint64_t c = get_be64(key.data() + 9);
    if (std::find(children.begin(), children.begin() + open_children, c) == children.begin() + open_children)
      children.push_back(c);
    return true;
  });
  for (auto c : children) cancel_run_in_tx(e, tx, c, reason, run, now, mine);

  // 2. Callbacks still open (suspended steps without a child): cancelled.
  for (const auto& cb : open) {
    resolve_if_open(e, tx, cb, "cancelled", "cancel_run", now);
  }

  // 3. The run itself.
  s = read_status(tx, run);
  json::object ev;
  if (reason) ev["reason"] = *reason;
  if (cascaded_from) ev["cascadedFrom"] = format_run_id(*cascaded_from);
  record_async_event(tx, *info, event_kind::run_cancelled, s.preferred_tip, std::move(ev), now);
  mine.push_back(json::value(format_run_id(run)));

  json::object resp;
  resp["runId"] = format_run_id(run);
  resp["phase"] = "Cancelled";
  resp["cancelled"] = mine;
  if (reason) resp["reason"] = *reason;
  if (cascaded_from) resp["cascadedFrom"] = format_run_id(*cascaded_from);
  tx.put(storage::table::callbacks, cancel_record_key(run), tokenrail::json::serialize(resp));
  for (auto& m : mine) cancelled.push_back(m);

  // 4. A cancelled child completes its parent's step with `cancelled`.
  json::object spec = read_spec(tx, run);
  if (auto* t = spec.if_contains("callbackToken"); t && t->is_string()) {
    if (auto cb = e.codec()->verify(token::kind::callback, t->get_string())) {
      auto rec = load_record(tx, *cb);
      if (rec && str_of(*rec, "state") == "open" && read_status(tx, cb->run_id).phase != run_phase::cancelled) {
        step_result r;
        r.status = "cancelled";
        r.error_code = "RUN_CANCELLED";
        r.resolved_by = "child_run";
        r.child_run = run;
        resolve_callback(e, tx, *cb, r, {}, now);
      }
    }
  }
}

}  // namespace tokenrail::engine_detail
