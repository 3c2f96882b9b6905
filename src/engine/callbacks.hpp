// Async completion (D8): callback records, child runs, parallel delegations,
// timeouts and cancellation.
//
// Model
//   A callback is the right to complete ONE pending step (run, node) once.
//   Its token is cb1_(run, node, attempt): minted deterministically, so a
//   repeated suspend_step returns the same string without storing tokens.
//   Origins:
//     "suspend"     suspend_step handed the step (ack attempt = its attempt);
//                   a child run may later link to it (start_workflow with
//                   parent.callbackToken) and completes it when it completes;
//     "delegation"  entering a step with parallelDelegations opened one
//                   callback per entry i (attempt = delegation_attempt(i)) and
//                   started one child run holding that token in its spec.
//   A callback is resolved exactly once: by complete_step, by its child run
//   (completion -> success with the child's output, cancellation ->
//   cancelled), by expire_callbacks (timeout) or by cancel_run (cancelled).
//   The first resolution is recorded with its response; a repeat of the same
//   complete_step body returns that response byte for byte, anything else
//   loses with CALLBACK_ALREADY_RESOLVED (or RUN_CANCELLED when the run was
//   cancelled), carrying the recorded response.
//
// Records (table::callbacks; keys big-endian):
//   'r' run:8 seq:4 attempt:4          -> callback record (JSON, see callback_record)
//   't' expiresAt:8 run:8 seq:4 att:4  -> ""   (open callbacks with a deadline, by time)
//   'c' parentRun:8 childRun:8         -> ""   (children linked to a run, for cascades)
//   'x' run:8                          -> cancel_run response (idempotent cancel)
//
// Status (spec/status rule of seed 001): what the caller asked stays in
// spec (the child's spec.callbackToken, spec.correlation); what happened is
// status, derived from the events step_suspended / step_completed /
// run_cancelled by status_on_async_event(), shared by the live path and the
// replay (projection.cpp). It lives in run_status::async as canonical JSON:
//   {waitingOn: [{node, attempt, origin, stepId, expiresAt?, childRunId?,
//                 index?, workflowId?}],
//    lastResult: {node, attempt, stepId, status, errorCode?, metadata, at,
//                 resolvedBy, childRunId?},
//    cancellation: {reason?, cascadedFrom?, at}}
// Phase: Waiting while waitingOn is not empty; back to Running when the last
// callback resolves without advancing; Cancelled after run_cancelled.
//
// Delegation results: when every delegation of a step succeeded, the parent
// advances past the step with context.delegations.<stepId> = [output of
// child 0, output of child 1, ...] (each child's final output, null if it
// had none), in the transaction of the last child's completion.
//
// Code (src/engine/callback_*.cpp; shared helpers in callback_detail.hpp):
//   callback_records.cpp       keys, record I/O, refuse_resolved
//   callback_status.cpp        parse_error_code, status_on_async_event, add_async_status
//   callback_child_runs.cpp    parent links, after_start / after_node_created, decorate_response
//   callback_resolution.cpp    resolve_callback (and resuming the parent)
//   callback_cancellation.cpp  cancel_run_in_tx
//   callback_restore.cpp       restore_callbacks (import)
#pragma once

#include "engine/context.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenrail::engine_detail {

/// Attempt numbers of delegation callbacks (one per entry): the top of the
/// u32 range, disjoint from ack attempt 0 and unlikely for random ones.
inline constexpr std::uint32_t delegation_attempt_base = 0xffff0000u;
inline constexpr std::size_t max_delegations = 256;

std::string callback_key(std::uint64_t run, std::uint32_t seq, std::uint32_t attempt);
std::string callback_node_prefix(std::uint64_t run, std::uint32_t seq);
/// The delegation callbacks of node (run, seq): their attempts share the top
/// 16 bits of delegation_attempt_base, so a scan of this prefix reads the
/// node's delegations without its suspend attempts (random u32s; a step
/// retried 10,000 times holds 10,000 records under callback_node_prefix).
std::string delegation_callbacks_prefix(std::uint64_t run, std::uint32_t seq);
std::string callback_run_prefix(std::uint64_t run);
std::string child_link_key(std::uint64_t parent, std::uint64_t child);
std::string child_link_prefix(std::uint64_t parent);

/// 't' index: open callbacks with a deadline, ordered by it.
std::string callback_expiry_key(std::int64_t expires_at, const token::payload& cb);
bool parse_expiry_key(std::string_view key, std::int64_t& expires_at, token::payload& cb);
/// 'x' run: the recorded cancel_run response.
std::string cancel_record_key(std::uint64_t run);

/// The callback record (JSON object): state open|completed|expired|cancelled,
/// origin suspend|delegation, stepId, expiresAt?, childRunId?, index?,
/// workflowId?, resultStatus?, digest?, response?, suspendResponse?, output?.
std::optional<boost::json::object> load_record(storage::read_transaction& tx, const token::payload& cb);
void save_record(storage::write_transaction& tx, const token::payload& cb, const boost::json::object& rec);
/// A string member, or "" when absent or not a string.
std::string_view str_of(const boost::json::object& o, std::string_view k);
/// Refuses a use of a resolved callback: RUN_CANCELLED when it was resolved
/// by a cancellation, else CALLBACK_ALREADY_RESOLVED; details carry the
/// resolution and the recorded response.
[[noreturn]] void refuse_resolved(const boost::json::object& rec, std::string_view pointer);

/// The step-result contract (seed 002): status, errorCode, output, metadata.
struct step_result {
  std::string status;                 // success | error | timeout | cancelled
  std::optional<std::string> error_code;
  boost::json::value output;          // {notesMarkdown?, artifacts?} or null
  boost::json::object metadata;       // traceId, flowId, stepId, tenantId
  std::string resolved_by;            // complete_step | child_run | expire_callbacks | cancel_run
  std::optional<std::uint64_t> child_run;
};

/// Checks an errorCode string: a registry name ("RUN_CANCELLED") or four
/// digits in the families of D6 (1000-5999, e.g. "4005"). Returns the
/// numeric code, or nullopt when it is neither.
std::optional<int> parse_error_code(std::string_view code);

/// Applies one async event to a run's status (live path and replay).
/// kind: step_suspended | step_completed | run_cancelled.
void status_on_async_event(run_status& s, std::string_view kind, std::uint32_t node,
                           const boost::json::object& data, std::int64_t at);

/// get_run: adds waitingOn, lastResult, cancellation and children (with
/// their live phases) to a status object.
void add_async_status(storage::read_transaction& tx, std::uint64_t run, const run_status& s,
                      boost::json::object& status_json);

/// A parent link requested by start_workflow {parent: {callbackToken}}.
struct parent_link {
  std::string token;
  token::payload cb;
  std::string session_id;   // the parent's session (the child's default)
};
/// Verifies parent.callbackToken (read-only). Errors: TOKEN_*, STEP_NOT_SUSPENDED.
std::optional<parent_link> read_parent_link(engine::impl& e, const boost::json::object& req);

/// Things to add to a step response after a node was created.
struct async_extra {
  boost::json::array delegations;   // pending.delegations
};

/// Call inside the write transaction of start_workflow, after the run's
/// events were finished: links the child to its parent's callback (which must
/// still be open: else CALLBACK_ALREADY_RESOLVED / RUN_CANCELLED), then runs
/// after_node_created for the root node.
std::optional<async_extra> after_start(engine::impl& e, storage::write_transaction& tx, const run_info& run,
                                       const parent_link* link, bool complete,
                                       const boost::json::object& context, std::int64_t now);

/// Call inside the write transaction that created node `seq` of `run`,
/// after its events were finished: a complete node of a child run completes
/// its parent's callback; a step with parallelDelegations starts its
/// children. Returns what the response should show, if anything.
std::optional<async_extra> after_node_created(engine::impl& e, storage::write_transaction& tx,
                                              const run_info& run, std::uint32_t seq, bool complete,
                                              std::string_view output_json, const boost::json::object& context,
                                              std::int64_t now);

/// Adds extra to a serialized step response (pending.delegations).
std::string decorate_response(std::string_view response, const async_extra& extra);

/// Resolves the open callback `cb` with `r` inside tx (see the model
/// above) and returns the response recorded for it. `digest_hex` identifies
/// the complete_step body (empty for other resolvers).
std::string resolve_callback(engine::impl& e, storage::write_transaction& tx, const token::payload& cb,
                             const step_result& r, std::string_view digest_hex, std::int64_t now);
/// For the engine's own resolvers (cancel_run, expire_callbacks): resolves
/// `cb` with a result of `status` and no output if it is still open, and
/// returns its record as it was before; nullopt (nothing written) when it
/// is missing or already resolved.
std::optional<boost::json::object> resolve_if_open(engine::impl& e, storage::write_transaction& tx,
                                                   const token::payload& cb, std::string_view status,
                                                   std::string_view resolved_by, std::int64_t now);

/// Cancels `run` (and, first, every child linked to it: those holding one of
/// its open callbacks, then any other linked child still running,
/// recursively) inside tx. Returns the runs cancelled, `run`
/// last. A run already cancelled or complete contributes nothing.
void cancel_run_in_tx(engine::impl& e, storage::write_transaction& tx, std::uint64_t run,
                      std::optional<std::string> reason, std::optional<std::uint64_t> cascaded_from,
                      std::int64_t now, boost::json::array& cancelled);

/// Rebuilds the callback records of one session from its events (for
/// import_session: the callbacks table is not part of a bundle). Open
/// callbacks become open again (with their deadlines and child links) and
/// resolved ones refuse later completions as before; what cannot be rebuilt:
/// the exact recorded response of a resolution (a repeated complete_step
/// gets CALLBACK_ALREADY_RESOLVED instead of the replay) and the cascade
/// list of a recorded cancel_run response. Parent links whose token was
/// minted under another keyring are skipped.
void restore_callbacks(engine::impl& e, storage::write_transaction& tx, std::string_view session_id);

}  // namespace tokenrail::engine_detail
