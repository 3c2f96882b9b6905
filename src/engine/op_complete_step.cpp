// complete_step (D8, the step-result contract of seed 002): resolves a
// callback exactly once.
//
// Request: {callbackToken, result: {status: success|error|timeout|cancelled,
// errorCode?, output?: {notesMarkdown?, artifacts?}, metadata?: {traceId,
// flowId, stepId, tenantId}}}.
//   - errorCode: a registry name ("RUN_CANCELLED") or four digits in the
//     numeric families of D6 (1000-5999, e.g. "4005"); not allowed with
//     success. Recorded as given.
//   - metadata: correlation ids; missing ones are filled from the run's
//     spec.correlation and the suspended step. A stepId that names another
//     step than the suspended one is refused (INVALID_REQUEST).
//   - success: the run advances exactly like continue_workflow with the
//     suspended (stateToken, ackToken) and this output; the response has the
//     same shape (kind "ok"). An output the step's validation refuses comes
//     back as kind "blocked" and resolves nothing (fix it and complete again).
//   - error / timeout / cancelled: the step stays pending, the failed attempt
//     is recorded (event step_completed, status.lastResult), and the response
//     is kind "blocked" with a blocker whose code is the errorCode (or
//     STEP_<STATUS>) and a fresh ackToken to retry with.
// A repeat with the same body returns the first response byte for byte; any
// other use of a resolved callback: CALLBACK_ALREADY_RESOLVED (or
// RUN_CANCELLED after a cancellation) with the recorded response in details.
#include "engine/callbacks.hpp"

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

namespace {

std::string replay_or_refuse(const boost::json::object& rec, std::string_view digest_hex) {
  if (!digest_hex.empty() && str_of(rec, "digest") == digest_hex) return recorded_response(str_of(rec, "response"));
  refuse_resolved(rec, "/callbackToken");
}

}  // namespace

std::string op_complete_step(engine::impl& e, const boost::json::object& req) {
  const token::payload cb = verify_token(e, token::kind::callback, req, "callbackToken");
  const auto& result = req.at("result").as_object();
  step_result r;
  r.status = std::string(result.at("status").as_string());
  r.resolved_by = "complete_step";
  if (auto* c = result.if_contains("errorCode")) {
    const std::string code(c->as_string());
    if (!parse_error_code(code))
      throw failure(error::at(errc::INVALID_REQUEST, "/result/errorCode",
                              "a registry error name or four digits in the families 1xxx-5xxx (e.g. \"4005\")"));
    if (r.status == "success")
      throw failure(error::at(errc::INVALID_REQUEST, "/result/errorCode", "no errorCode when status is success"));
    r.error_code = code;
  }
  if (auto* o = result.if_contains("output")) {
    r.output = *o;
    if (auto* notes = o->as_object().if_contains("notesMarkdown"); notes && notes->as_string().size() > e.limits.max_notes_bytes)
      throw failure(error::at(errc::PAYLOAD_TOO_LARGE, "/result/output/notesMarkdown",
                              "at most " + std::to_string(e.limits.max_notes_bytes) + " bytes of notes"));
  }
  if (auto* m = result.if_contains("metadata")) r.metadata = m->as_object();
  const std::string digest = to_hex(as_view(blake2b(json::canonicalize(result))));

  // ---- read: replay, refusal, or validation (nothing written when blocked).
  std::optional<std::string> answer;
  e.store->read([&](storage::read_transaction& tx) {
    auto rec = load_record(tx, cb);
    if (!rec)
      throw failure(error::at(errc::STEP_NOT_SUSPENDED, "/callbackToken", "the callbackToken of a suspended step",
                              "the callback does not match a suspended step"));
    if (str_of(*rec, "state") != "open") {
      answer = replay_or_refuse(*rec, digest);
      return;
    }
    if (auto* s = r.metadata.if_contains("stepId"); s && s->is_string() && s->get_string() != str_of(*rec, "stepId"))
      throw failure(error::at(errc::INVALID_REQUEST, "/result/metadata/stepId",
                              "the suspended step's id ('" + std::string(str_of(*rec, "stepId")) + "')"));
    if (r.status == "success" && str_of(*rec, "origin") == "suspend") {
      auto info = e.run(tx, cb.run_id);
      auto node = load_node(tx, cb.run_id, cb.node_seq);
      const workflow::cursor at = parse_cursor(node.rec.cursor);
      auto blockers = workflow::check_output(*info->wf->prog, at, node.context, r.output);
      if (!blockers.empty()) {
        for (auto& b : blockers)
          if (b.pointer.rfind("/output", 0) == 0) b.pointer = "/result" + b.pointer;
        answer = blocked_response(e, *info, cb.node_seq, cb.attempt, at, node.context, blockers);
      }
    }
  });
  if (answer) return std::move(*answer);

  // ---- write: the first resolution wins; later ones replay or lose.
  const std::int64_t now = e.now();
  std::string response;
  e.store->write([&](storage::write_transaction& tx) {
    auto rec = load_record(tx, cb);
    if (!rec) fail(errc::STEP_NOT_SUSPENDED, "the callback does not match a suspended step");
    if (str_of(*rec, "state") != "open") {
      response = replay_or_refuse(*rec, digest);
      return;
    }
    response = resolve_callback(e, tx, cb, r, digest, now);
  });
  return response;
}

}  // namespace tokenrail::engine_detail
