// start_workflow (D6): pins the workflow, creates the run and its root node
// in one write transaction, with events run_started and node_created.
#include "engine/callbacks.hpp"   // D8 (issue 5): parent links, parallelDelegations
#include "engine/context.hpp"
#include "engine/new_run.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

namespace {

boost::json::value opt_string(const boost::json::object* o, std::string_view k) {
  if (!o) return nullptr;
  if (auto* v = o->if_contains(k)) return *v;
  return nullptr;
}

/// Refuses a start whose idempotencyKey names an earlier start of another
/// request (see op_start_workflow). `recorded` is that start's response.
void check_same_start(storage::read_transaction& tx, const boost::json::object& req, std::string_view recorded,
                      std::string_view workflow_id, const boost::json::object& context,
                      const std::string* parent_token) {
  boost::system::error_code ec;
  auto resp = parse_json_text(recorded, ec);
  const boost::json::value* rid = nullptr;
  if (!ec && resp.is_object())
    if (auto* s = resp.as_object().if_contains("session"); s && s->is_object()) rid = s->as_object().if_contains("runId");
  auto run = rid && rid->is_string() ? parse_run_id(std::string_view(rid->get_string())) : std::nullopt;
  if (!run) return;   // not a step response we can compare with: keep the replay
  auto doc_text = tx.get(storage::table::runs, run_spec_key(*run));
  if (!doc_text) return;
  auto doc = parse_json_text(*doc_text, ec);
  if (ec || !doc.is_object()) return;
  const auto* md = doc.as_object().if_contains("metadata");
  const auto* spec = doc.as_object().if_contains("spec");
  if (!md || !md->is_object() || !spec || !spec->is_object()) return;
  const auto& m = md->as_object();
  const auto& sp = spec->as_object();
  auto field = [](const boost::json::object& o, std::string_view k) -> boost::json::value {
    if (auto* v = o.if_contains(k)) return *v;
    return nullptr;
  };
  const boost::json::object* corr = member(req, "correlation") ? &member(req, "correlation")->as_object() : nullptr;
  boost::json::object want_corr{{"traceId", opt_string(corr, "traceId")},
                                {"flowId", opt_string(corr, "flowId")},
                                {"tenantId", opt_string(corr, "tenantId")}};
  const boost::json::value want_labels = member(req, "labels") ? *member(req, "labels") : boost::json::object();
  // Canonical texts: the recorded document went through canonical JSON
  // (1.0 and 1 are one number there, not two boost::json kinds).
  auto same = [](const boost::json::value& a, const boost::json::value& b) {
    return json::canonicalize(a) == json::canonicalize(b);
  };
  const char* differs = nullptr;
  if (!same(field(sp, "workflowId"), boost::json::value(boost::json::string_view(workflow_id)))) differs = "/workflowId";
  else if (!same(field(sp, "context"), boost::json::value(context))) differs = "/context";
  else if (auto* s = member(req, "sessionId"); s && !same(field(m, "sessionId"), *s)) differs = "/sessionId";
  else if (!same(field(m, "labels"), want_labels)) differs = "/labels";
  else if (!same(field(sp, "correlation"), boost::json::value(want_corr))) differs = "/correlation";
  else if (!same(field(sp, "callbackToken"),
                 parent_token ? boost::json::value(*parent_token) : boost::json::value(nullptr)))
    differs = "/parent";
  if (!differs) return;
  boost::json::object d;
  d["pointer"] = "/idempotencyKey";
  d["differs"] = differs;
  d["recordedResponse"] = std::move(resp);
  d["hint"] = "this idempotencyKey was used by a start with another request; resend that request to get its "
              "response, or use a new key for a new run";
  fail(errc::INVALID_REQUEST, "this idempotencyKey was already used by a different start_workflow request",
       std::move(d));
}

}  // namespace

std::string op_start_workflow(engine::impl& e, const boost::json::object& req) {
  const auto& workflow_id = req.at("workflowId").as_string();
  auto wf = e.library.find(std::string_view(workflow_id.data(), workflow_id.size()));
  if (!wf) fail_workflow_not_found(e, workflow_id, "/workflowId", "no workflow has the id '" + std::string(workflow_id) + "'");
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
        // Same key, same request: the first response (D6's replay rule).
        // Same key, another request: refused with the recorded response,
        // like ACK_ALREADY_USED; silently handing back a run of another
        // workflow or context would hide the caller's mistake. The request
        // is compared with the recorded run's document (it holds every
        // field of it), so no extra record is needed.
        check_same_start(tx, req, *v, wf->id, context, link ? &link->token : nullptr);
        response = recorded_response(*v);
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
