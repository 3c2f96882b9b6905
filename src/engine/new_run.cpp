#include "engine/new_run.hpp"

#include "engine/status_store.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

std::shared_ptr<run_info> write_new_run(storage::write_transaction& tx, const new_run_in& in) {
  const auto& wf = in.wf;
  const auto& pos = *in.pos;
  const std::string step_id = pos.complete ? std::string() : workflow::step_id_at(*wf->prog, pos.at);

  auto info = std::make_shared<run_info>();
  info->run_id = in.run_id;
  info->session_id = in.session;
  info->workflow_id = wf->id;
  info->workflow_hash = wf->workflow_hash;
  info->wf = wf;

  event_appender log(tx, in.session, in.now, /*create=*/true);
  if (!tx.get(storage::table::workflows, wf->workflow_hash))
    tx.put(storage::table::workflows, wf->workflow_hash, json::canonicalize(wf->definition));

  // The resource's metadata and spec (D5): written once, never changed.
  boost::json::object metadata;
  metadata["runId"] = format_run_id(in.run_id);
  metadata["sessionId"] = in.session;
  metadata["createdAt"] = format_time(in.now);
  metadata["labels"] = in.labels;
  boost::json::object spec;
  spec["workflowId"] = wf->id;
  spec["workflowHash"] = wf->workflow_hash;
  spec["context"] = *in.context;
  spec["correlation"] = in.correlation;
  if (in.idempotency_key) spec["idempotencyKey"] = *in.idempotency_key;
  if (in.callback_token) spec["callbackToken"] = *in.callback_token;
  boost::json::object doc;
  doc["metadata"] = std::move(metadata);
  doc["spec"] = std::move(spec);
  // Canonicalized once: the same text is the run record and the data of
  // run_started.
  const std::string doc_text = json::canonicalize(doc);
  tx.put(storage::table::runs, run_spec_key(in.run_id), doc_text);
  tx.put(storage::table::indexes, session_run_index_key(in.session, in.run_id), "");

  node_record root;
  root.parent = no_node;
  root.created_at = in.now;
  root.complete = pos.complete;
  root.context_owner = 0;
  root.step_id = step_id;
  root.cursor = std::string(in.cursor_text);
  root.context = std::string(in.context_text);
  tx.put(storage::table::nodes, node_key(in.run_id, 0), encode_node(root, 0));

  run_status status;
  write_tips_change(tx, in.run_id, status, status_on_node_created(status, no_node, 0, pos.complete, in.now, step_id, ""));
  write_status(tx, in.run_id, status);

  log.append_canonical(event_kind::run_started, in.run_id, std::nullopt, doc_text);
  boost::json::object nd;
  nd["attempt"] = 0;
  nd["cursor"] = pos.at.to_json();
  nd["complete"] = pos.complete;
  if (!pos.complete) nd["stepId"] = step_id;
  log.append(event_kind::node_created, in.run_id, 0u, std::move(nd));
  if (pos.complete) log.append(event_kind::run_completed, in.run_id, 0u, boost::json::object{{"node", 0}});
  log.finish();
  return info;
}

}  // namespace tokenrail::engine_detail
