// get_run (D5): the run as a resource {apiVersion, kind, metadata, spec, status}.
#include "engine/callbacks.hpp"   // D8 (issue 5): waitingOn, lastResult, children
#include "engine/context.hpp"
#include "engine/status_store.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

boost::json::object status_json(std::uint64_t run, const run_status& s, const std::vector<std::uint32_t>& leaves) {
  boost::json::object o;
  o["phase"] = phase_name(s.phase);
  o["pendingStepId"] = s.pending_step_id.empty() ? boost::json::value(nullptr) : boost::json::value(s.pending_step_id);
  boost::json::array tips;
  for (auto t : leaves) tips.emplace_back(format_node_id(run, t));
  o["tips"] = std::move(tips);
  o["preferredTip"] = s.node_count ? boost::json::value(format_node_id(run, s.preferred_tip)) : nullptr;
  o["completedAt"] = s.completed_at ? boost::json::value(format_time(*s.completed_at)) : nullptr;
  o["output"] = s.output.empty() ? boost::json::value(nullptr) : parse_stored_json(s.output, "a run's output");
  o["error"] = s.error.empty() ? boost::json::value(nullptr) : parse_stored_json(s.error, "a run's error");
  o["nodeCount"] = s.node_count;
  o["lastActivityAt"] = format_time(s.last_activity);
  return o;
}

std::string op_get_run(engine::impl& e, const boost::json::object& req) {
  const auto& id_text = req.at("runId").as_string();
  auto run = parse_run_id(std::string_view(id_text.data(), id_text.size()));
  if (!run) throw failure(error::at(errc::INVALID_REQUEST, "/runId", "run_ and 16 lowercase hex digits"));
  std::string response;
  e.store->read([&](storage::read_transaction& tx) {
    auto doc_text = tx.get(storage::table::runs, run_spec_key(*run));
    auto st = tx.get(storage::table::runs, run_status_key(*run));
    if (!doc_text || !st) {
      boost::json::object d;
      d["runId"] = id_text;
      d["pointer"] = "/runId";
      fail(errc::RUN_NOT_FOUND, "no run has that id in this store", std::move(d));
    }
    boost::system::error_code ec;
    auto doc = parse_json_text(*doc_text, ec);
    if (ec || !doc.is_object()) fail(errc::STORE_CORRUPT, "a run record does not parse");
    boost::json::object r;
    r["apiVersion"] = "tokenrail/v1";
    r["kind"] = "WorkflowRun";
    r["metadata"] = doc.as_object()["metadata"];
    r["spec"] = doc.as_object()["spec"];
    const run_status status = decode_status(*st);
    r["status"] = status_json(*run, status, read_tips(tx, *run, status));
    add_async_status(tx, *run, status, r["status"].as_object());   // D8 (issue 5)
    response = tokenrail::json::serialize(r);
  });
  return response;
}

}  // namespace tokenrail::engine_detail
