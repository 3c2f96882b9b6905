// continue_workflow (D6): advance with an ackToken, rehydrate without.
//
// Advance, the heart of idempotency:
//   1. read transaction: an ack record for (run, node, attempt)? Same
//      request digest -> the recorded response text, byte for byte, and no
//      write lock is ever taken; different digest -> ACK_ALREADY_USED.
//      Otherwise everything that depends only on immutable data (the node,
//      its context, the pinned program) is computed here: validation
//      (blocked -> respond, write nothing), context merge, the interpreter's
//      next position and the rendered pending step.
//   2. ONE write transaction: re-check the ack record (another thread may
//      have won the race: then its response is returned), then child node,
//      ack record with the response, status, events. All or nothing.
#include "engine/callbacks.hpp"   // D8 (issue 5): child completion, parallelDelegations
#include "engine/context.hpp"
#include "engine/status_store.hpp"

#include <boost/json/monotonic_resource.hpp>

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

namespace {

/// A recorded advance: the response if the digest matches, else the error.
std::string replay_or_refuse(std::string_view stored, const hash32& digest) {
  ack_view a = decode_ack(stored);
  if (a.digest == as_view(digest)) return recorded_response(a.response);
  boost::json::object d;
  d["pointer"] = "/ackToken";
  d["recordedResponse"] = parse_stored_json(a.response, "a recorded response");
  d["hint"] =
      "this ackToken was already used with a different request; send the same request to get the "
      "recorded response, or call continue_workflow with only the stateToken (rehydrate) for a fresh "
      "ackToken and advance that to branch";
  fail(errc::ACK_ALREADY_USED, "this ackToken was already used with a different request; rehydrate to branch",
       std::move(d));
}

/// Appends the canonical text of request member `name`; a value without a
/// JSON form (a non-finite number) is refused with its pointer in the request.
void canonical_member(std::string& out, std::string_view name, const boost::json::value& v) {
  try {
    json::canonicalize_to(out, v);
  } catch (const failure& f) {
    const auto& d = f.err().details;
    const auto* ptr = d.is_object() ? d.as_object().if_contains("pointer") : nullptr;
    const auto* exp = d.is_object() ? d.as_object().if_contains("expected") : nullptr;
    if (!ptr || !exp || !ptr->is_string() || !exp->is_string()) throw;
    throw failure(error::at(errc::INVALID_REQUEST, "/" + std::string(name) + std::string(ptr->as_string()),
                            exp->as_string()));
  }
}

void refuse_phase(run_phase phase, std::uint64_t run) {
  // Runs twice per advance: build the error details only when refusing.
  if (phase != run_phase::cancelled && phase != run_phase::waiting) return;
  boost::json::object d;
  d["runId"] = format_run_id(run);
  if (phase == run_phase::cancelled) fail(errc::RUN_CANCELLED, "the run was cancelled", std::move(d));
  if (phase == run_phase::waiting)
    fail(errc::STEP_SUSPENDED, "the step is suspended on a callback; complete it with complete_step", std::move(d));
}

std::string rehydrate(engine::impl& e, const token::payload& st) {
  std::string response;
  e.store->read([&](storage::read_transaction& tx) {
    auto info = e.run(tx, st.run_id);
    auto node = load_node(tx, st.run_id, st.node_seq);
    // A cancelled run takes no more advances, and a waiting one none until
    // its callback resolves: a fresh ackToken with "perform_pending_then_
    // continue" would send the agent to do work it cannot hand in. The
    // same refusal an advance would get, before the work is done. (A
    // complete node hands out no ackToken: it still reads back.)
    if (!node.rec.complete)
      if (auto sv = tx.get(storage::table::runs, run_status_key(st.run_id))) refuse_phase(status_phase(*sv), st.run_id);
    step_response_in out;
    out.kind = "ok";
    out.run = info.get();
    out.seq = st.node_seq;
    out.complete = node.rec.complete;
    // A fresh attempt: advancing it from a node that already has a child
    // is a fork; rehydrating writes nothing.
    out.attempt = random_nonzero_u32();
    workflow::cursor at;
    if (!node.rec.complete) at = parse_cursor(node.rec.cursor);
    out.at = &at;
    out.context = &node.context;
    response = step_response(e, std::move(out));
  });
  return response;
}

}  // namespace

std::string op_continue_workflow(engine::impl& e, const boost::json::object& req) {
  const token::payload st = verify_token(e, token::kind::state, req, "stateToken");
  if (!req.contains("ackToken")) return rehydrate(e, st);
  const token::payload ak = verify_ack_for(e, st, req);

  const boost::json::value* ctx_delta = member(req, "context");
  const boost::json::value* output_v = member(req, "output");
  if (output_v) {
    if (auto* notes = output_v->as_object().if_contains("notesMarkdown");
        notes && notes->as_string().size() > e.limits.max_notes_bytes) {
      throw failure(error::at(errc::PAYLOAD_TOO_LARGE, "/output/notesMarkdown",
                              "at most " + std::to_string(e.limits.max_notes_bytes) + " bytes of notes"));
    }
  }
  // The request's identity, tokens excluded: the tokens are fixed by the ack
  // record's key, and a token re-minted under a rotated key must still match.
  // It is the canonical text of {context?, output?}, composed from the
  // canonical text of each member ("context" sorts before "output") instead
  // of copying both into a new object: the same bytes, and the members'
  // texts are reused below for the events and the status.
  std::string ctx_text, output_text;
  if (ctx_delta) canonical_member(ctx_text, "context", *ctx_delta);
  if (output_v) canonical_member(output_text, "output", *output_v);
  hash32 digest;
  {
    std::string body;
    body.reserve(24 + ctx_text.size() + output_text.size());
    body.push_back('{');
    if (ctx_delta) body.append("\"context\":").append(ctx_text);
    if (ctx_delta && output_v) body.push_back(',');
    if (output_v) body.append("\"output\":").append(output_text);
    body.push_back('}');
    digest = blake2b(body);
  }
  const std::string akey = ack_key(ak.run_id, ak.node_seq, ak.attempt);
  static const boost::json::value null_output;
  const boost::json::value& output = output_v ? *output_v : null_output;

  // ---- 1. read: replay, or prepare everything that depends only on immutable data.
  std::optional<std::string> answer;
  std::shared_ptr<const run_info> info;
  node_record parent;
  // The context only lives for this operation (read, merged with the
  // request's delta, rendered, written as text): parsed into a stack arena,
  // not one heap block per member. The write body may run on the thread of
  // another writer's group commit, while this one waits for it.
  unsigned char context_arena[2048];
  boost::json::monotonic_resource context_storage(context_arena, sizeof context_arena);
  boost::json::object context(&context_storage);
  workflow::position next;
  std::string child_cursor, child_context, child_step;
  bool context_changed = false;
  rendered_step pre;
  std::vector<workflow::warning> warnings;
  e.store->read([&](storage::read_transaction& tx) {
    if (auto v = tx.get(storage::table::acks, akey)) {
      answer = replay_or_refuse(*v, digest);
      return;
    }
    info = e.run(tx, st.run_id);
    auto sv = tx.get(storage::table::runs, run_status_key(st.run_id));
    if (!sv) fail_missing_status(tx, st.run_id);
    refuse_phase(status_phase(*sv), st.run_id);   // the tips are decoded once, when written
    auto node = load_node(tx, st.run_id, st.node_seq, context.storage());
    if (node.rec.complete) {
      boost::json::object d;
      d["nodeId"] = format_node_id(st.run_id, st.node_seq);
      fail(errc::RUN_COMPLETE, "the node is complete; there is no pending step to acknowledge", std::move(d));
    }
    parent = std::move(node.rec);
    context = std::move(node.context);   // the same storage: moved, not copied
  });
  if (answer) return std::move(*answer);

  const workflow::program& prog = *info->wf->prog;
  const workflow::cursor at = parse_cursor(parent.cursor);
  if (ctx_delta && !ctx_delta->as_object().empty()) {
    merge_context(context, ctx_delta->as_object());
    context_changed = true;
  }
  auto blockers = workflow::check_output(prog, at, context, output);
  if (!blockers.empty()) {
    // Not accepted: nothing is written; the same tokens stay valid.
    return blocked_response(e, *info, st.node_seq, ak.attempt, at, context, blockers);
  }
  next = workflow::advance(prog, at, context, output);
  warnings = std::move(next.warnings);
  // Canonical, so the same text serves the node record and the event.
  next.at.append_canonical(child_cursor);
  if (!next.complete) {
    child_step = workflow::step_id_at(prog, next.at);
    pre = render_step(*info, next.at, context, warnings);
  }
  if (context_changed) child_context = json::canonicalize(context);

  // ---- 2. one write transaction.
  const std::int64_t now = e.now();
  std::string response;
  e.store->write([&](storage::write_transaction& tx) {
    if (auto v = tx.get(storage::table::acks, akey)) {
      response = replay_or_refuse(*v, digest);
      return;
    }
    auto sv = tx.get(storage::table::runs, run_status_key(st.run_id));
    if (!sv) fail_missing_status(tx, st.run_id);
    run_status status = decode_status(*sv);
    refuse_phase(status.phase, st.run_id);
    const std::uint32_t child = status.node_count;

    node_record c;
    c.parent = st.node_seq;
    c.from_attempt = ak.attempt;
    c.created_at = now;
    c.complete = next.complete;
    c.context_owner = context_changed ? child : parent.context_owner;
    c.step_id = child_step;
    c.cursor = child_cursor;
    if (context_changed) c.context = child_context;
    tx.put(storage::table::nodes, node_key(st.run_id, child), encode_node(c, child));

    step_response_in out;
    out.kind = "ok";
    out.run = info.get();
    out.seq = child;
    out.complete = next.complete;
    out.attempt = 0;
    out.at = &next.at;
    out.context = &context;
    out.warnings = warnings;
    out.pre = &pre;
    response = step_response(e, std::move(out));
    tx.put(storage::table::acks, akey, encode_ack(as_view(digest), child, response));

    write_tips_change(tx, st.run_id, status,
                      status_on_node_created(status, st.node_seq, child, next.complete, now, child_step, output_text));
    write_status(tx, st.run_id, status);

    // The events' data written as canonical text directly (members in
    // RFC 8785 order), from texts computed above: no JSON values are built
    // or copied for them (see event_appender::append_canonical).
    event_appender log(tx, info->session_id, now);
    std::string d;
    if (context_changed) {
      d.assign("{\"context\":").append(ctx_text).push_back('}');
      log.append_canonical(event_kind::context_set, st.run_id, child, d);
    }
    if (output_v) {
      d.assign("{\"output\":").append(output_text).push_back('}');
      log.append_canonical(event_kind::output_appended, st.run_id, child, d);
    }
    d.assign("{\"attempt\":").append(std::to_string(ak.attempt));
    d.append(next.complete ? ",\"complete\":true" : ",\"complete\":false");
    d.append(",\"cursor\":").append(child_cursor);
    d.append(",\"parent\":").append(std::to_string(st.node_seq));
    if (!next.complete) {
      d.append(",\"stepId\":");
      json::canonicalize_to(d, boost::json::value(boost::json::string_view(child_step)));
    }
    d.push_back('}');
    log.append_canonical(event_kind::node_created, st.run_id, child, d);
    d.assign("{\"attempt\":").append(std::to_string(ak.attempt));
    d.append(",\"from\":").append(std::to_string(st.node_seq));
    d.append(",\"to\":").append(std::to_string(child)).push_back('}');
    log.append_canonical(event_kind::edge_created, st.run_id, child, d);
    d.assign("{\"attempt\":").append(std::to_string(ak.attempt));
    d.append(",\"child\":").append(std::to_string(child)).push_back('}');
    log.append_canonical(event_kind::advance_recorded, st.run_id, st.node_seq, d);
    if (next.complete) {
      d.assign("{\"node\":").append(std::to_string(child)).push_back('}');
      log.append_canonical(event_kind::run_completed, st.run_id, child, d);
    }
    log.finish();
    // D8 (issue 5), same transaction: a completed child run completes its
    // parent's step; entering a step with parallelDelegations starts them.
    if (auto async = after_node_created(e, tx, *info, child, next.complete, output_text, context, now)) {
      response = decorate_response(response, *async);
      tx.put(storage::table::acks, akey, encode_ack(as_view(digest), child, response));
    }
  });
  return response;
}

}  // namespace tokenrail::engine_detail
