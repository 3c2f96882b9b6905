// Child runs of a callback (D8): parent links (start_workflow {parent}),
// starting a step's parallelDelegations, and a finished child completing its
// parent's callback. Separate from resolution: this is where callbacks open.
#include "engine/callback_detail.hpp"
#include "engine/new_run.hpp"

#include "workflow/program.hpp"   // a step's parallelDelegations without rendering it

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

namespace json = boost::json;

namespace {

/// Counts nested in-transaction run creations: a workflow whose first step
/// delegates to itself would otherwise recurse without end.
thread_local int nesting_depth = 0;
constexpr int max_nesting_depth = 16;

}  // namespace

nesting_guard::nesting_guard() {
  if (++nesting_depth > max_nesting_depth) {
    --nesting_depth;
    fail(errc::WORKFLOW_RECURSIVE,
         "child runs (parallelDelegations or parent links) nest deeper than 16 levels in one transaction");
  }
}

nesting_guard::~nesting_guard() { --nesting_depth; }

namespace {

/// The step at `at` in the compiled program (same walk as the interpreter).
const workflow::step* step_at(const workflow::program& p, const workflow::cursor& at) {
  const workflow::block* b = &p.blocks.at(0);
  for (const auto& f : at.loops) {
    if (f.index >= b->steps.size() || !b->steps[f.index].is_loop) return nullptr;
    const auto body = b->steps[f.index].loop.body;
    if (body >= p.blocks.size()) return nullptr;
    b = &p.blocks[body];
  }
  if (at.step >= b->steps.size()) return nullptr;
  return &b->steps[at.step];
}

bool program_has_delegations(const workflow::program& p) {
  for (const auto& b : p.blocks)
    for (const auto& st : b.steps)
      if (!st.delegations.empty()) return true;
  return false;
}

/// A run created inside another operation's transaction (a delegation's
/// child): the same records and events as start_workflow.
std::shared_ptr<run_info> create_child_run(storage::write_transaction& tx,
                                           std::shared_ptr<const workflow::compiled> wf, const json::object& context,
                                           const std::string& session, const json::value& correlation,
                                           const std::string& callback_token, std::uint64_t run_id, std::int64_t now,
                                           workflow::position& pos) {
  pos = workflow::start(*wf->prog, context);
  const std::string cursor_text = tokenrail::json::serialize(pos.at.to_json());
  const std::string context_text = tokenrail::json::canonicalize(context);
  new_run_in in;
  in.run_id = run_id;
  in.session = session;
  in.wf = std::move(wf);
  in.pos = &pos;
  in.cursor_text = cursor_text;
  in.context_text = context_text;
  in.context = &context;
  in.correlation = correlation.is_object()
                       ? correlation.as_object()
                       : json::object{{"traceId", nullptr}, {"flowId", nullptr}, {"tenantId", nullptr}};
  in.callback_token = &callback_token;
  in.now = now;
  return write_new_run(tx, in);
}

}  // namespace

/// Adds each child's root stateToken, so the host (or agent) can drive the
/// children (continue_workflow with it alone gives the pending step).
json::array with_child_tokens(engine::impl& e, json::array rows) {
  auto codec = e.codec();
  for (auto& r : rows) {
    auto& o = r.as_object();
    if (auto id = parse_run_id(str_of(o, "runId"))) o["stateToken"] = codec->mint(token::kind::state, {*id, 0, 0});
  }
  return rows;
}

// ---- parent links ---------------------------------------------------------------

std::optional<parent_link> read_parent_link(engine::impl& e, const json::object& req) {
  auto* p = req.if_contains("parent");
  if (!p) return std::nullopt;
  const auto& po = p->as_object();
  parent_link link;
  auto* t = po.if_contains("callbackToken");
  if (!t) throw failure(error::at(errc::INVALID_REQUEST, "/parent/callbackToken", "a callbackToken"));
  link.token = std::string(t->as_string());
  auto v = verify_adopting_keys(e, token::kind::callback, link.token, "parent/callbackToken");
  if (!v) {
    auto err = std::move(v).error();
    if (err.details.is_object()) err.details.as_object()["pointer"] = "/parent/callbackToken";
    throw failure(std::move(err));
  }
  link.cb = *v;
  e.store->read([&](storage::read_transaction& tx) {
    if (!load_record(tx, link.cb))
      throw failure(error::at(errc::STEP_NOT_SUSPENDED, "/parent/callbackToken", "the callbackToken of a suspended step",
                              "the callback does not match a suspended step"));
    link.session_id = e.run(tx, link.cb.run_id)->session_id;
  });
  return link;
}

std::optional<async_extra> after_start(engine::impl& e, storage::write_transaction& tx, const run_info& run,
                                       const parent_link* link, bool complete, const json::object& context,
                                       std::int64_t now) {
  if (link) {
    auto rec = load_record(tx, link->cb);
    if (!rec)
      throw failure(error::at(errc::STEP_NOT_SUSPENDED, "/parent/callbackToken", "the callbackToken of a suspended step",
                              "the callback does not match a suspended step"));
    if (str_of(*rec, "state") != "open") refuse_resolved(*rec, "/parent/callbackToken");
    if (rec->contains("childRunId"))
      throw failure(error::at(errc::INVALID_REQUEST, "/parent/callbackToken",
                              "a callback no other child run is linked to",
                              "another child run (" + std::string(str_of(*rec, "childRunId")) +
                                  ") already completes this callback"));
    (*rec)["childRunId"] = format_run_id(run.run_id);
    save_record(tx, link->cb, *rec);
    tx.put(storage::table::callbacks, child_link_key(link->cb.run_id, run.run_id), "");
  }
  return after_node_created(e, tx, run, 0, complete, {}, context, now);
}

std::optional<async_extra> after_node_created(engine::impl& e, storage::write_transaction& tx, const run_info& run,
                                              std::uint32_t seq, bool complete, std::string_view output_json,
                                              const json::object& context, std::int64_t now) {
  nesting_guard guard;
  if (complete) {
    // A child run completes its parent's step with its final output.
    json::object spec = read_spec(tx, run.run_id);
    auto* t = spec.if_contains("callbackToken");
    if (!t || !t->is_string()) return std::nullopt;
    auto cb = e.codec()->verify(token::kind::callback, t->get_string());
    if (!cb) return std::nullopt;   // minted under a retired key: nothing to complete
    auto rec = load_record(tx, *cb);
    if (!rec || str_of(*rec, "state") != "open") return std::nullopt;   // lost to a timeout or a cancellation
    step_result r;
    r.status = "success";
    r.output = output_json.empty() ? json::value(nullptr) : parse_json_text(output_json);
    r.resolved_by = "child_run";
    r.child_run = run.run_id;
    resolve_callback(e, tx, *cb, r, {}, now);
    return std::nullopt;
  }
  // Entering a step with parallelDelegations starts one child per entry.
  // Hot path (every advance): most programs have no delegations at all.
  if (!program_has_delegations(*run.wf->prog)) return std::nullopt;
  auto nv = tx.get(storage::table::nodes, node_key(run.run_id, seq));
  if (!nv) fail(errc::STORE_CORRUPT, "a node just created is missing");
  const workflow::cursor at = parse_cursor(decode_node(*nv, seq).cursor);
  const workflow::step* st = step_at(*run.wf->prog, at);
  if (!st || st->delegations.empty()) return std::nullopt;
  if (st->delegations.size() > max_delegations)
    fail(errc::WORKFLOW_INVALID, "a step has more than 256 parallelDelegations");
  std::vector<workflow::warning> warnings;
  auto rendered = workflow::render(*run.wf->prog, at, context, warnings);
  const json::object spec = read_spec(tx, run.run_id);
  const json::value correlation = correlation_of(spec);
  async_extra extra;
  struct planned {
    token::payload cb;
    std::shared_ptr<const workflow::compiled> wf;
    json::object args;
    std::uint64_t child;
  };
  std::vector<planned> plan;
  for (std::size_t i = 0; i < rendered.delegations.size(); ++i) {
    const auto& d = rendered.delegations[i];
    auto wf = e.library.find_delegate(d.workflow_id);
    if (!wf)
      fail_workflow_not_found(e, d.workflow_id, st->pointer + "/parallelDelegations/" + std::to_string(i) + "/workflowId",
                              "a delegation names no known workflow ('" + d.workflow_id + "')");
    std::uint64_t child = random_u64();
    while (tx.get(storage::table::runs, run_spec_key(child))) child = random_u64();
    planned p{{run.run_id, seq, delegation_attempt_base + static_cast<std::uint32_t>(i)}, wf,
              d.args.is_object() ? d.args.as_object() : json::object(), child};
    // The callback first (open), so a child that completes at once finds it.
    json::object rec;
    rec["state"] = "open";
    rec["origin"] = "delegation";
    rec["stepId"] = st->id;
    rec["index"] = i;
    rec["workflowId"] = d.workflow_id;
    rec["childRunId"] = format_run_id(child);
    save_record(tx, p.cb, rec);
    tx.put(storage::table::callbacks, child_link_key(run.run_id, child), "");
    json::object ev;
    ev["attempt"] = p.cb.attempt;
    ev["origin"] = "delegation";
    ev["stepId"] = st->id;
    ev["index"] = i;
    ev["workflowId"] = d.workflow_id;
    ev["childRunId"] = format_run_id(child);
    ev["correlation"] = correlation;
    record_async_event(tx, run, event_kind::step_suspended, seq, std::move(ev), now);
    plan.push_back(std::move(p));
  }
  const auto codec = e.codec();
  for (auto& p : plan) {
    workflow::position pos;
    auto child = create_child_run(tx, p.wf, p.args, run.session_id, correlation,
                                  codec->mint(token::kind::callback, p.cb), p.child, now, pos);
    after_node_created(e, tx, *child, 0, pos.complete, {}, p.args, now);
  }
  extra.delegations = with_child_tokens(e, delegations_of(tx, run.run_id, seq));
  return extra;
}

std::string decorate_response(std::string_view response, const async_extra& extra) {
  auto r = parse_json_text(response);
  auto& o = r.as_object();
  if (auto* p = o.if_contains("pending"); p && p->is_object()) {
    p->as_object()["delegations"] = extra.delegations;
    p->as_object()["suspended"] = true;
  }
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
