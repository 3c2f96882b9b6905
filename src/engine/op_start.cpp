// start_workflow (D6): pins the workflow, creates the run and its root node
// in one write transaction, with events run_started and node_created.
#include "engine/callbacks.hpp"   // D8 (issue 5): parent links, parallelDelegations
#include "engine/context.hpp"

#include <tokenrail/json/canonical.hpp>

#include <boost/json/serialize.hpp>

namespace tokenrail::engine_detail {

namespace {

boost::json::value opt_string(const boost::json::object* o, std::string_view k) {
  if (!o) return nullptr;
  if (auto* v = o->if_contains(k)) return *v;
  return nullptr;
}

}  // namespace

std::string op_start_workflow(engine::impl& e, const boost::json::object& req) {
  const auto& workflow_id = req.at("workflowId").as_string();
  auto wf = e.library.find(std::string_view(workflow_id.data(), workflow_id.size()));
  if (!wf) {
    boost::json::object d;
    d["workflowId"] = workflow_id;
    d["pointer"] = "/workflowId";
    fail(errc::WORKFLOW_NOT_FOUND, "no workflow has the id '" + std::string(workflow_id) + "'", std::move(d));
  }
  boost::json::object context;
  if (auto* c = member(req, "context")) context = c->as_object();
  std::string session_id;
  if (auto* s = member(req, "sessionId")) session_id = std::string(s->as_string());
  std::optional<std::string> idem;
  if (auto* k = member(req, "idempotencyKey")) idem = std::string(k->as_string());
  // D8 (issue 5): parent.callbackToken links this run to a suspended step;
  // the child joins the parent's session unless it names one.
  const std::optional<parent_link> link = read_parent_link(e, req);
  if (link && session_id.empty()) session_id = link->session_id;

  // Pure part first: where the run starts (no store involved).
  auto pos = workflow::start(*wf->prog, context);
  const std::string cursor_text = boost::json::serialize(pos.at.to_json());
  const std::string context_text = json::canonicalize(context);
  const std::string& step_id = pos.complete ? std::string() : workflow::step_id_at(*wf->prog, pos.at);

  const std::int64_t now = e.now();
  std::string response;
  std::shared_ptr<run_info> info;
  e.store->write([&](storage::write_transaction& tx) {
    response.clear();
    info.reset();
    if (idem) {
      if (auto v = tx.get(storage::table::indexes, idempotency_index_key(*idem))) {
        response = std::string(*v);
        return;
      }
    }
    std::uint64_t run_id = random_u64();
    while (tx.get(storage::table::runs, run_spec_key(run_id))) run_id = random_u64();
    std::string session = session_id.empty() ? "ses_" + format_run_id(random_u64()).substr(4) : session_id;

    info = std::make_shared<run_info>();
    info->run_id = run_id;
    info->session_id = session;
    info->workflow_id = wf->id;
    info->workflow_hash = wf->workflow_hash;
    info->wf = wf;

    event_appender log(tx, session, now, /*create=*/true);
    if (!tx.get(storage::table::workflows, wf->workflow_hash))
      tx.put(storage::table::workflows, wf->workflow_hash, json::canonicalize(wf->definition));

    // The resource's metadata and spec (D5): written once, never changed.
    boost::json::object metadata;
    metadata["runId"] = format_run_id(run_id);
    metadata["sessionId"] = session;
    metadata["createdAt"] = format_time(now);
    metadata["labels"] = member(req, "labels") ? *member(req, "labels") : boost::json::object();
    boost::json::object spec;
    spec["workflowId"] = wf->id;
    spec["workflowHash"] = wf->workflow_hash;
    spec["context"] = context;
    const auto* corr = member(req, "correlation") ? &member(req, "correlation")->as_object() : nullptr;
    boost::json::object correlation;
    correlation["traceId"] = opt_string(corr, "traceId");
    correlation["flowId"] = opt_string(corr, "flowId");
    correlation["tenantId"] = opt_string(corr, "tenantId");
    spec["correlation"] = std::move(correlation);
    if (idem) spec["idempotencyKey"] = *idem;
    if (link) spec["callbackToken"] = link->token;   // D8: an input, so spec (seed 000)
    boost::json::object doc;
    doc["metadata"] = std::move(metadata);
    doc["spec"] = std::move(spec);
    // Canonicalized once: the same text is the run record and the data of
    // run_started.
    const std::string doc_text = json::canonicalize(doc);
    tx.put(storage::table::runs, run_spec_key(run_id), doc_text);
    tx.put(storage::table::indexes, session_run_index_key(session, run_id), "");

    node_record root;
    root.parent = no_node;
    root.created_at = now;
    root.complete = pos.complete;
    root.context_owner = 0;
    root.step_id = step_id;
    root.cursor = cursor_text;
    root.context = context_text;
    tx.put(storage::table::nodes, node_key(run_id, 0), encode_node(root, 0));

    run_status status;
    status_on_node_created(status, no_node, 0, pos.complete, now, step_id, "");
    tx.put(storage::table::runs, run_status_key(run_id), encode_status(status));

    log.append_canonical(event_kind::run_started, run_id, std::nullopt, doc_text);
    boost::json::object nd;
    nd["attempt"] = 0;
    nd["cursor"] = pos.at.to_json();
    nd["complete"] = pos.complete;
    if (!pos.complete) nd["stepId"] = step_id;
    log.append(event_kind::node_created, run_id, 0u, std::move(nd));
    if (pos.complete) log.append(event_kind::run_completed, run_id, 0u, boost::json::object{{"node", 0}});
    log.finish();
    // D8 (issue 5): link to the parent's callback; start root delegations.
    auto async = after_start(e, tx, *info, link ? &*link : nullptr, pos.complete, context, now);

    step_response_in out;
    out.run = info.get();
    out.seq = 0;
    out.complete = pos.complete;
    out.attempt = 0;
    out.at = &pos.at;
    out.context = &context;
    out.warnings = pos.warnings;
    response = step_response(e, std::move(out));
    if (async) response = decorate_response(response, *async);
    if (idem) tx.put(storage::table::indexes, idempotency_index_key(*idem), response);
  });
  if (info) e.remember(std::move(info));
  return response;
}

}  // namespace tokenrail::engine_detail
