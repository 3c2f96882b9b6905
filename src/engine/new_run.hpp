// Creating a run: the one place that writes a new run's records and events,
// for start_workflow and for the child runs of parallelDelegations (D8), so
// that both always store the same resource (D5) and the same events (D7).
#pragma once

#include "engine/context.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tokenrail::engine_detail {

struct new_run_in {
  std::uint64_t run_id = 0;
  std::string session;
  std::shared_ptr<const workflow::compiled> wf;
  const workflow::position* pos = nullptr;  // where the run starts
  std::string_view cursor_text;             // serialized pos->at
  std::string_view context_text;            // canonical context
  const boost::json::object* context = nullptr;
  boost::json::object labels;
  boost::json::object correlation;          // {traceId, flowId, tenantId}
  const std::string* idempotency_key = nullptr;
  const std::string* callback_token = nullptr;  // D8: an input, so spec (seed 000)
  std::int64_t now = 0;
};

/// Pins the workflow (once per hash), writes the run's metadata and spec,
/// its root node and status, the session index, and the events
/// run_started, node_created (and run_completed for an empty run).
std::shared_ptr<run_info> write_new_run(storage::write_transaction& tx, const new_run_in& in);

}  // namespace tokenrail::engine_detail
