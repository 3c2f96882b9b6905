// The engine's shared internals: what every operation handler gets.
//
// Adding an operation (issues 5 and 8): write src/engine/op_<name>.cpp with
//   std::string op_<name>(engine::impl& e, const boost::json::object& req);
// declare it below, add one row to src/engine/op_table.cpp, and add its
// tool definition (name, description, input schema) to tool_definitions.cpp.
// The request reaching a handler has already been checked against that
// schema, so handlers read fields without re-checking their types.
//
// Why an explicit table instead of self-registering static objects: the
// library is also shipped as a static archive, and a linker drops archive
// members nobody references, which would silently drop their registrations.
#pragma once

#include "engine/events.hpp"
#include "engine/records.hpp"

#include <tokenrail/engine/engine.hpp>
#include <tokenrail/storage/store.hpp>
#include <tokenrail/token/token.hpp>
#include <tokenrail/workflow/interpreter.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tokenrail {

namespace engine_detail {

/// What the hot path needs to know about a run; immutable once the run
/// exists (it is the run's spec), so it is cached without invalidation.
struct run_info {
  std::uint64_t run_id = 0;
  std::string session_id;
  std::string workflow_id;
  std::string workflow_hash;
  std::shared_ptr<const workflow::compiled> wf;
};

struct limits {
  json_limits json;                     // maxRequestBytes, maxDepth
  std::size_t max_notes_bytes = 1u << 20;
};

}  // namespace engine_detail

struct engine::impl {
  std::unique_ptr<storage::store> store;
  bool persistent_keyring = false;
  std::string keyring_path;             // empty: the keyring is not persisted
  std::mutex keyring_mutex;             // serializes rotate_key
  token::keyring ring;                  // guarded by keyring_mutex
  /// The codec in use, replaced whole on rotation. Guarded by a mutex held
  /// only to copy or swap the pointer, not std::atomic<std::shared_ptr>:
  /// libstdc++ 12's load releases that one's lock bit with a relaxed store,
  /// so its read of the pointer is not ordered before the next swap
  /// (ThreadSanitizer reports it). The mutex costs an advance about 180
  /// instructions more in all (callgrind), 0.3%.
  mutable std::mutex codec_mutex;
  std::shared_ptr<const token::codec> codec_ptr;   // guarded by codec_mutex
  workflow::library library;
  clock_fn clock;
  engine_detail::limits limits;

  std::shared_ptr<const token::codec> codec() const {
    std::lock_guard lock(codec_mutex);
    return codec_ptr;
  }
  /// Makes `next` the codec in use; the one it replaces is released after
  /// the lock, by whichever caller holds it last.
  void set_codec(std::shared_ptr<const token::codec> next) {
    {
      std::lock_guard lock(codec_mutex);
      codec_ptr.swap(next);
    }
  }
  std::int64_t now() const { return clock(); }

  /// The compiled workflow pinned under `hash`: the library's if it has that
  /// hash, else compiled from the pinned definition read through `tx`.
  /// Errors: PINNED_WORKFLOW_MISSING.
  std::shared_ptr<const workflow::compiled> pinned(storage::read_transaction& tx, const std::string& hash,
                                                   std::string_view workflow_id);

  /// The run's immutable facts (cached). Errors: RUN_NOT_FOUND.
  std::shared_ptr<const engine_detail::run_info> run(storage::read_transaction& tx, std::uint64_t run_id);

  /// Remembers a run created by this process (after its commit).
  void remember(std::shared_ptr<const engine_detail::run_info> info);

  /// Drops a deleted run's cached facts (delete_sessions, after its commit;
  /// defined in op_delete_sessions.cpp).
  void forget(std::uint64_t run_id);

 private:
  std::shared_mutex cache_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const workflow::compiled>> programs_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const engine_detail::run_info>> runs_;
};

namespace engine_detail {

using op_handler = std::string (*)(engine::impl& e, const boost::json::object& request);

struct op_entry {
  std::string_view name;
  op_handler handler;
};

/// Every operation call() dispatches (op_table.cpp).
const std::vector<op_entry>& op_table();

std::string op_list_workflows(engine::impl&, const boost::json::object&);
std::string op_inspect_workflow(engine::impl&, const boost::json::object&);
std::string op_start_workflow(engine::impl&, const boost::json::object&);
std::string op_continue_workflow(engine::impl&, const boost::json::object&);
std::string op_checkpoint_workflow(engine::impl&, const boost::json::object&);
std::string op_get_run(engine::impl&, const boost::json::object&);
std::string op_rotate_key(engine::impl&, const boost::json::object&);
// Async completion (issue 5, D8): callbacks.hpp.
std::string op_suspend_step(engine::impl&, const boost::json::object&);
std::string op_complete_step(engine::impl&, const boost::json::object&);
std::string op_expire_callbacks(engine::impl&, const boost::json::object&);
std::string op_cancel_run(engine::impl&, const boost::json::object&);
// Sessions (issue 8): session_resume.hpp, session_bundle.hpp, session_markdown.hpp.
std::string op_resume_session(engine::impl&, const boost::json::object&);
std::string op_export_session(engine::impl&, const boost::json::object&);
std::string op_import_session(engine::impl&, const boost::json::object&);
std::string op_verify(engine::impl&, const boost::json::object&);
// Retention (issue 4): op_delete_sessions.cpp.
std::string op_delete_sessions(engine::impl&, const boost::json::object&);

// ---- helpers shared by handlers -------------------------------------------

/// Re-reads the keyring file and adopts keys another engine or process
/// added by rotating. Nothing without a keyring file. Takes the keyring
/// mutex, which rotate_key holds while it writes: never call it inside a
/// store transaction.
void refresh_keyring(engine::impl& e);

/// The codec's verify; a TOKEN_UNKNOWN_KEY refreshes the keyring and
/// verifies again if the codec changed meanwhile. For tokens in requests,
/// outside store transactions (see refresh_keyring).
result<token::payload> verify_adopting_keys(engine::impl& e, token::kind k, std::string_view text,
                                            std::string_view field = {});

/// Fails for a run whose status record is missing: RUN_NOT_FOUND when the
/// run itself is gone too (deleted, maybe by another process holding it in
/// its cache), STORE_CORRUPT when only the status vanished.
[[noreturn]] void fail_missing_status(storage::read_transaction& tx, std::uint64_t run_id);

/// JSON text read from a stored record. STORE_CORRUPT ("<what> does not
/// parse") when it does not: damaged stored bytes are the store's fault,
/// not an internal error.
boost::json::value parse_stored_json(std::string_view text, const char* what, boost::json::storage_ptr sp = {});

/// A response recorded earlier (an advance, checkpoint, start, cancel or
/// callback result), returned again as it is. STORE_CORRUPT when the stored
/// text is not JSON: a damaged record must not become invalid output.
std::string recorded_response(std::string_view text);

/// WORKFLOW_NOT_FOUND for `id` with `message` (details: workflowId, pointer).
/// When the file declaring it was left out at load (config
/// invalidWorkflowFiles "skip"), the message says why and details add
/// file and cause (that file's error: {code, numericCode, message, ...}).
[[noreturn]] void fail_workflow_not_found(const engine::impl& e, std::string_view id, std::string_view pointer,
                                          std::string message);

/// Verifies a token of kind k from request field `field` (throws its error).
token::payload verify_token(engine::impl& e, token::kind k, const boost::json::object& req,
                            std::string_view field);
/// The request's ackToken, verified and checked against the stateToken
/// already verified as `st`: both must name the same node of the same run
/// (TOKEN_SCOPE_MISMATCH otherwise, details.pointer "/ackToken").
token::payload verify_ack_for(engine::impl& e, const token::payload& st, const boost::json::object& req);

/// A node read through tx: its record and the context it sees.
struct loaded_node {
  node_record rec;
  boost::json::object context;
};
/// Errors: NODE_NOT_FOUND. The context is parsed into `storage` (the
/// default: the heap), which must outlive it.
loaded_node load_node(storage::read_transaction& tx, std::uint64_t run, std::uint32_t seq,
                      boost::json::storage_ptr storage = {});

/// Parses a stored cursor. Errors: STORE_CORRUPT.
workflow::cursor parse_cursor(std::string_view text);

/// A random nonzero u64/u32 (libsodium).
std::uint64_t random_u64();
std::uint32_t random_nonzero_u32();

/// RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z").
std::string format_time(std::int64_t ms);

/// The pending step as shown to the agent (its JSON text: it is only ever
/// written into a response, so it is serialized once, directly), and the
/// nextIntent it implies.
struct rendered_step {
  std::string pending_json;
  std::string_view intent;
};
rendered_step render_step(const run_info& run, const workflow::cursor& at, const boost::json::object& context,
                          std::vector<workflow::warning>& warnings);

/// The step response of D6 (start, continue, rehydrate).
struct step_response_in {
  std::string_view kind;                 // "ok" / "blocked"; empty for start
  const run_info* run = nullptr;
  std::uint32_t seq = 0;
  bool complete = false;
  std::uint32_t attempt = 0;             // of the ackToken (ignored when complete)
  const workflow::cursor* at = nullptr;  // the pending step (ignored when complete)
  const boost::json::object* context = nullptr;
  std::vector<workflow::warning> warnings;
  const std::vector<workflow::blocker>* blockers = nullptr;
  const rendered_step* pre = nullptr;    // already rendered (else rendered from at/context)
};
std::string step_response(engine::impl& e, step_response_in in);
/// The "blocked" response: the pending step at `seq`, unchanged, with the
/// blockers its output met (nothing written; the same tokens stay valid).
std::string blocked_response(engine::impl& e, const run_info& run, std::uint32_t seq, std::uint32_t attempt,
                             const workflow::cursor& at, const boost::json::object& context,
                             const std::vector<workflow::blocker>& blockers);

/// Reads an optional member; nullptr when absent.
inline const boost::json::value* member(const boost::json::object& o, std::string_view k) {
  return o.if_contains(k);
}

}  // namespace engine_detail
}  // namespace tokenrail
