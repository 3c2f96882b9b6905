// start_workflow (D6): pins the workflow, creates the run and its root node
// in one write transaction, with events run_started and node_created.
#include "engine/callbacks.hpp"   // D8 (issue 5): parent links, parallelDelegations
#include "engine/context.hpp"
#include "engine/new_run.hpp"

#include <tokenrail/json/canonical.hpp>

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
  const std::string cursor_text = tokenrail::json::serialize(pos.at.to_json());
  const std::string context_text = json::canonicalize(context);

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

    new_run_in in;
    in.run_id = run_id;
    in.session = std::move(session);
    in.wf = wf;
    in.pos = &pos;
    in.cursor_text = cursor_text;
    in.context_text = context_text;
    in.context = &context;
    if (auto* l = member(req, "labels")) in.labels = l->as_object();
    const auto* corr = member(req, "correlation") ? &member(req, "correlation")->as_object() : nullptr;
    in.correlation["traceId"] = opt_string(corr, "traceId");
    in.correlation["flowId"] = opt_string(corr, "flowId");
    in.correlation["tenantId"] = opt_string(corr, "tenantId");
    if (idem) in.idempotency_key = &*idem;
    if (link) in.callback_token = &link->token;
    in.now = now;
    info = write_new_run(tx, in);
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
