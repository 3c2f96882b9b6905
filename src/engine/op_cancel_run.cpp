// cancel_run (D8): {runId, reason?}. Phase Cancelled, event run_cancelled,
// in one write transaction with the cascade: every child run linked to the
// run (an open callback's child first, then children whose callback was
// already resolved but still run) is cancelled first (recursively), and a cancelled
// child completes its parent's step with status cancelled. Open callbacks
// left (suspended steps) are resolved as cancelled, so a racing
// complete_step loses with RUN_CANCELLED.
// Returns {runId, phase: "Cancelled", cancelled: [runIds, the run last],
// reason?}; repeating it returns that response (also for a run cancelled by
// a cascade: then with its cascadedFrom). A Completed run: RUN_COMPLETE.
#include "engine/callbacks.hpp"

namespace tokenrail::engine_detail {

std::string op_cancel_run(engine::impl& e, const boost::json::object& req) {
  const auto& id_text = req.at("runId").as_string();
  auto run = parse_run_id(std::string_view(id_text.data(), id_text.size()));
  if (!run) throw failure(error::at(errc::INVALID_REQUEST, "/runId", "run_ and 16 lowercase hex digits"));
  std::optional<std::string> reason;
  if (auto* r = member(req, "reason")) reason = std::string(r->as_string());
  const std::int64_t now = e.now();
  std::string response;
  e.store->write([&](storage::write_transaction& tx) {
    if (auto v = tx.get(storage::table::callbacks, cancel_record_key(*run))) {
      response = recorded_response(*v);
      return;
    }
    auto sv = tx.get(storage::table::runs, run_status_key(*run));
    if (!sv) {
      boost::json::object d;
      d["runId"] = id_text;
      d["pointer"] = "/runId";
      fail(errc::RUN_NOT_FOUND, "no run has that id in this store", std::move(d));
    }
    if (decode_status(*sv).phase == run_phase::completed)
      fail(errc::RUN_COMPLETE, "the run is complete; there is nothing to cancel",
           boost::json::object{{"runId", id_text}, {"pointer", "/runId"}});
    boost::json::array cancelled;
    cancel_run_in_tx(e, tx, *run, reason, std::nullopt, now, cancelled);
    auto v = tx.get(storage::table::callbacks, cancel_record_key(*run));
    if (!v) fail(errc::INTERNAL, "cancel_run recorded no response");
    response = std::string(*v);
  });
  return response;
}

}  // namespace tokenrail::engine_detail
