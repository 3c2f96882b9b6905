// Resolving a callback (D8): recording its result once and, when the step's
// async work succeeded, advancing the parent past it (or answering blocked /
// waiting). Separate because it is the one path every resolver goes through.
#include "engine/callback_detail.hpp"

#include <tokenrail/json/canonical.hpp>

#include <algorithm>

namespace tokenrail::engine_detail {

namespace json = boost::json;

namespace {

std::string expiry_key(std::int64_t expires_at, std::uint64_t run, std::uint32_t seq, std::uint32_t attempt) {
  return callback_expiry_key(expires_at, {run, seq, attempt});
}

std::string blocker_code(const step_result& r) {
  if (r.error_code) return *r.error_code;
  std::string c = "STEP_";
  for (char ch : r.status) c.push_back(static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch));
  return c;
}

/// The step response for a node whose step stays pending: kind + blockers.
std::string pending_response(engine::impl& e, const run_info& run, std::uint32_t seq, const loaded_node& node,
                             std::string_view kind, const std::vector<workflow::blocker>* blockers) {
  workflow::cursor at = parse_cursor(node.rec.cursor);
  step_response_in out;
  out.kind = kind;
  out.run = &run;
  out.seq = seq;
  out.complete = node.rec.complete;
  // A fresh attempt: the caller may suspend it again or continue with it.
  out.attempt = random_nonzero_u32();
  out.at = &at;
  out.context = &node.context;
  out.blockers = blockers;
  return step_response(e, std::move(out));
}

struct advanced {
  bool blocked = false;
  std::vector<workflow::blocker> blockers;
  std::string response;
  std::uint32_t child = 0;
  bool complete = false;
  std::string output_text;
  workflow::cursor at;
  json::object context;
};

/// The advance of continue_workflow, inside an open write transaction and an
/// open event appender of the run's session: node, ack record, events. The
/// caller writes `status`. Validation failures come back as blocked (nothing
/// written).
advanced advance_in_tx(engine::impl& e, storage::write_transaction& tx, const run_info& run, std::uint32_t seq,
                       std::uint32_t attempt, const json::value& output, const json::object* delta,
                       std::int64_t now, event_appender& log, run_status& status) {
  advanced a;
  auto node = load_node(tx, run.run_id, seq);
  if (node.rec.complete)
    fail(errc::RUN_COMPLETE, "the node is complete; there is no pending step to acknowledge",
         json::object{{"nodeId", format_node_id(run.run_id, seq)}});
  const workflow::program& prog = *run.wf->prog;
  const workflow::cursor at = parse_cursor(node.rec.cursor);
  a.context = std::move(node.context);
  const bool context_changed = delta && !delta->empty();
  if (context_changed) merge_context(a.context, *delta);
  a.blockers = workflow::check_output(prog, at, a.context, output);
  if (!a.blockers.empty()) {
    a.blocked = true;
    return a;
  }
  auto next = workflow::advance(prog, at, a.context, output);
  std::vector<workflow::warning> warnings = std::move(next.warnings);
  const std::string child_step = next.complete ? std::string() : workflow::step_id_at(prog, next.at);
  a.child = status.node_count;
  a.complete = next.complete;
  a.at = next.at;
  a.output_text = output.is_null() ? std::string() : tokenrail::json::canonicalize(output);

  node_record c;
  c.parent = seq;
  c.from_attempt = attempt;
  c.created_at = now;
  c.complete = next.complete;
  c.context_owner = context_changed ? a.child : node.rec.context_owner;
  c.step_id = child_step;
  c.cursor = tokenrail::json::serialize(next.at.to_json());
  if (context_changed) c.context = tokenrail::json::canonicalize(a.context);
  tx.put(storage::table::nodes, node_key(run.run_id, a.child), encode_node(c, a.child));

  step_response_in out;
  out.kind = "ok";
  out.run = &run;
  out.seq = a.child;
  out.complete = next.complete;
  out.attempt = 0;
  out.at = &next.at;
  out.context = &a.context;
  out.warnings = warnings;
  a.response = step_response(e, std::move(out));

  // The ack record makes continue_workflow with the suspended pair and the
  // same body replay this response (same digest rule as continue_workflow).
  json::object body;
  if (delta) body["context"] = *delta;
  if (!output.is_null()) body["output"] = output;
  const hash32 digest = blake2b(tokenrail::json::canonicalize(body));
  tx.put(storage::table::acks, ack_key(run.run_id, seq, attempt), encode_ack(as_view(digest), a.child, a.response));

  write_tips_change(tx, run.run_id, status,
                    status_on_node_created(status, seq, a.child, next.complete, now, child_step, a.output_text));

  if (context_changed) log.append(event_kind::context_set, run.run_id, a.child, json::object{{"context", *delta}});
  if (!output.is_null()) log.append(event_kind::output_appended, run.run_id, a.child, json::object{{"output", output}});
  json::object nd;
  nd["parent"] = seq;
  nd["attempt"] = attempt;
  nd["cursor"] = next.at.to_json();
  nd["complete"] = next.complete;
  if (!next.complete) nd["stepId"] = child_step;
  log.append(event_kind::node_created, run.run_id, a.child, std::move(nd));
  log.append(event_kind::edge_created, run.run_id, a.child,
             json::object{{"from", seq}, {"to", a.child}, {"attempt", attempt}});
  log.append(event_kind::advance_recorded, run.run_id, seq,
             json::object{{"attempt", attempt}, {"child", a.child}, {"digest", to_hex(as_view(digest))}});
  if (next.complete) log.append(event_kind::run_completed, run.run_id, a.child, json::object{{"node", a.child}});
  return a;
}

}  // namespace

std::string resolve_callback(engine::impl& e, storage::write_transaction& tx, const token::payload& cb,
                             const step_result& in, std::string_view digest_hex, std::int64_t now) {
  step_result r = in;   // the effective result (a child's output may be rejected below)
  auto rec_opt = load_record(tx, cb);
  if (!rec_opt) fail(errc::STEP_NOT_SUSPENDED, "the callback does not match a suspended step");
  json::object rec = std::move(*rec_opt);
  if (str_of(rec, "state") != "open") refuse_resolved(rec, "/callbackToken");
  auto info = e.run(tx, cb.run_id);
  const run_info& run = *info;
  const json::object spec = read_spec(tx, cb.run_id);
  const std::string origin(str_of(rec, "origin"));
  const std::string step_id(str_of(rec, "stepId"));

  // Correlation ids: what the result says, completed from the run's spec.
  json::object metadata = r.metadata;
  const json::object corr = correlation_of(spec);
  for (std::string_view k : {"traceId", "flowId", "tenantId"})
    if (!metadata.contains(k) || metadata.at(k).is_null()) metadata[k] = corr.contains(k) ? corr.at(k) : json::value(nullptr);
  if (!metadata.contains("stepId") || metadata.at("stepId").is_null()) metadata["stepId"] = step_id;

  std::vector<workflow::blocker> blockers;
  if (r.status == "success" && origin == "suspend") {
    // complete_step validated the output already; a child's final output
    // may still fail the parent step's validation: then the attempt failed.
    auto node = load_node(tx, cb.run_id, cb.node_seq);
    blockers = workflow::check_output(*run.wf->prog, parse_cursor(node.rec.cursor), node.context, r.output);
    if (!blockers.empty()) {
      r.status = "error";
      r.error_code = "OUTPUT_REJECTED";
    }
  }

  json::object ev;
  ev["attempt"] = cb.attempt;
  ev["origin"] = origin;
  ev["stepId"] = step_id;
  ev["status"] = r.status;
  if (r.error_code) ev["errorCode"] = *r.error_code;
  ev["metadata"] = metadata;
  ev["resolvedBy"] = r.resolved_by;
  if (r.child_run) ev["childRunId"] = format_run_id(*r.child_run);
  // A delegation's output waits in the record until its siblings finish; on
  // the event too, so restore_callbacks can rebuild the record after import.
  if (origin == "delegation") ev["output"] = r.output;

  // The record first: whatever the outcome, this callback is resolved.
  // "cancelled" when a cancellation resolved it (cancel_run, or a cancelled
  // child): a late completion then loses with RUN_CANCELLED.
  const bool by_cancellation =
      r.resolved_by == "cancel_run" || (r.resolved_by == "child_run" && r.status == "cancelled");
  rec["state"] = r.resolved_by == "expire_callbacks" ? "expired" : by_cancellation ? "cancelled" : "completed";
  rec["resultStatus"] = r.status;
  if (!digest_hex.empty()) rec["digest"] = digest_hex;
  if (origin == "delegation") rec["output"] = r.output;
  if (auto* x = rec.if_contains("expiresAt"); x && x->is_number())
    tx.erase(storage::table::callbacks, expiry_key(x->to_number<std::int64_t>(), cb.run_id, cb.node_seq, cb.attempt));
  save_record(tx, cb, rec);

  record_async_event(tx, run, event_kind::step_completed, cb.node_seq, std::move(ev), now);

  std::string response;
  std::optional<advanced> adv;
  auto advance_with = [&](std::uint32_t attempt, const json::value& output, const json::object* delta) {
    run_status status = read_status(tx, cb.run_id);
    event_appender log(tx, run.session_id, now);
    auto a = advance_in_tx(e, tx, run, cb.node_seq, attempt, output, delta, now, log, status);
    if (!a.blocked) {
      write_status(tx, cb.run_id, status);
      log.finish();
    }
    return a;
  };
  const bool success = r.status == "success";
  if (success && origin == "suspend") {
    auto a = advance_with(cb.attempt, r.output, nullptr);
    if (a.blocked) blockers = std::move(a.blockers);   // checked above; kept for safety
    else adv = std::move(a);
  } else if (success && origin == "delegation") {
    // Resume when every delegation of the step succeeded.
    std::vector<std::pair<std::int64_t, json::value>> outputs;
    bool all_resolved = true, all_success = true;
    tx.scan(storage::table::callbacks, delegation_callbacks_prefix(cb.run_id, cb.node_seq),
            [&](std::string_view, std::string_view v) {
              auto o = parse_object(v, "a callback record");
              if (str_of(o, "origin") != "delegation") return true;
              if (str_of(o, "state") == "open") all_resolved = false;
              else if (str_of(o, "resultStatus") != "success") all_success = false;
              outputs.emplace_back(o.at("index").to_number<std::int64_t>(),
                                   o.contains("output") ? o.at("output") : json::value(nullptr));
              return true;
            });
    if (all_resolved && all_success) {
      std::sort(outputs.begin(), outputs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      json::array results;
      for (auto& o : outputs) results.push_back(std::move(o.second));
      auto node = load_node(tx, cb.run_id, cb.node_seq);
      json::object delegations;
      if (auto* d = node.context.if_contains("delegations"); d && d->is_object()) delegations = d->as_object();
      delegations[step_id] = std::move(results);
      json::object delta{{"delegations", std::move(delegations)}};
      auto a = advance_with(delegation_attempt_base, json::value(nullptr), &delta);
      if (a.blocked) blockers = std::move(a.blockers);
      else adv = std::move(a);
    } else if (!all_resolved) {
      auto node = load_node(tx, cb.run_id, cb.node_seq);
      response = pending_response(e, run, cb.node_seq, node, "waiting", nullptr);
      async_extra x;
      x.delegations = with_child_tokens(e, delegations_of(tx, cb.run_id, cb.node_seq));
      response = decorate_response(response, x);
    } else {
      workflow::blocker b;
      b.code = "DELEGATION_FAILED";
      b.pointer = "/result/status";
      b.message = "a delegated child run did not succeed; the step stays pending";
      b.suggested_fix = "inspect status.delegations in get_run, then continue or suspend the step again";
      blockers.push_back(std::move(b));
    }
  } else if (blockers.empty()) {
    workflow::blocker b;
    b.code = blocker_code(r);
    b.pointer = "/result/status";
    b.message = "the step's async execution ended with status '" + r.status + "'" +
                (r.error_code ? " (errorCode " + *r.error_code + ")" : std::string()) + "; the step stays pending";
    b.suggested_fix =
        "retry: suspend the step again with the returned ackToken, or do it and continue_workflow with it";
    blockers.push_back(std::move(b));
  }

  if (adv) {
    response = adv->response;
    if (auto x = after_node_created(e, tx, run, adv->child, adv->complete, adv->output_text, adv->context, now)) {
      response = decorate_response(response, *x);
      // Keep the ack record's response equal to what this call returns.
      auto v = tx.get(storage::table::acks, ack_key(cb.run_id, cb.node_seq, origin == "delegation" ? delegation_attempt_base : cb.attempt));
      if (v) {
        ack_view a = decode_ack(*v);
        const std::string digest(a.digest);
        tx.put(storage::table::acks, ack_key(cb.run_id, cb.node_seq, origin == "delegation" ? delegation_attempt_base : cb.attempt),
               encode_ack(digest, a.child, response));
      }
    }
  } else if (response.empty()) {
    auto node = load_node(tx, cb.run_id, cb.node_seq);
    response = pending_response(e, run, cb.node_seq, node, "blocked", &blockers);
  }
  rec["response"] = response;
  save_record(tx, cb, rec);
  return response;
}

std::optional<boost::json::object> resolve_if_open(engine::impl& e, storage::write_transaction& tx,
                                                   const token::payload& cb, std::string_view status,
                                                   std::string_view resolved_by, std::int64_t now) {
  auto rec = load_record(tx, cb);
  if (!rec || str_of(*rec, "state") != "open") return std::nullopt;
  step_result r;
  r.status = status;
  r.resolved_by = resolved_by;
  resolve_callback(e, tx, cb, r, {}, now);
  return rec;
}

}  // namespace tokenrail::engine_detail
