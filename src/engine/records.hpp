// The engine's records and key layout over storage::store (D5, D7, D9).
//
// Keys (big-endian integers, so bytewise order is numeric order):
//   meta       "format"                               -> store_format_version
//   workflows  workflowHash ("sha256:<hex>")          -> canonical pinned definition (JSON, once)
//   sessions   sessionId                              -> session_head (binary)
//   runs       runId:8 ‖ 0x00                         -> run document (canonical JSON: metadata+spec; immutable)
//   runs       runId:8 ‖ 0x01                         -> run_status (binary; the status projection)
//   runs       runId:8 ‖ 0x02 ‖ seq:4                 -> ""  (a leaf other than the newest node: status.tips)
//   nodes      runId:8 ‖ seq:4                        -> node_record (binary; immutable)
//   acks       runId:8 ‖ seq:4 ‖ attempt:4            -> ack_record (binary: digest, child, response text)
//   events     sessionId ‖ 0x00 ‖ index:8             -> hash:32 ‖ canonical event JSON (without prev/hash)
//   indexes    's' ‖ sessionId ‖ 0x00 ‖ runId:8       -> ""              (session -> runs)
//              'c' ‖ runId:8 ‖ seq:4 ‖ digest:16      -> checkpoint response text (idempotent checkpoints)
//              'i' ‖ idempotencyKey                   -> start response text (idempotent starts)
//   callbacks  reserved for D8 (issue 5)
//
// Session ids are 1..128 printable characters without NUL, so the 0x00
// separator makes a session's prefix exact.
//
// Why this split: the immutable spec is written once as JSON (it is what
// get_run shows and export carries), while everything an advance rewrites
// or adds is binary and small; see bytes.hpp.
#pragma once

#include "engine/bytes.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::engine_detail {

inline constexpr std::uint32_t no_node = 0xffffffffu;
/// "3": a run's leaves other than the newest node are keys of their own
/// (run_tip_key), not a list inside the status record, so an advance never
/// rewrites them all. "2": an advance's events share one record
/// (events.hpp); "1": one record per event. Stores of the earlier formats
/// are read as they are (their records are converted when next written) and
/// marked "3" when an engine that may write opens them, so an engine of an
/// earlier format then refuses the store instead of misreading the new
/// records. (One that already had it open reports STORE_CORRUPT for them:
/// upgrade every process sharing a store together.)
inline constexpr std::string_view store_format_version = "3";
inline constexpr std::string_view store_formats_readable[] = {"1", "2", "3"};

// ---- keys ---------------------------------------------------------------
std::string run_spec_key(std::uint64_t run);
std::string run_status_key(std::uint64_t run);
std::string run_tip_key(std::uint64_t run, std::uint32_t seq);
std::string run_tip_prefix(std::uint64_t run);
std::string node_key(std::uint64_t run, std::uint32_t seq);
std::string node_prefix(std::uint64_t run);
std::string ack_key(std::uint64_t run, std::uint32_t seq, std::uint32_t attempt);
std::string ack_prefix(std::uint64_t run);
std::string event_key(std::string_view session, std::uint64_t index);
std::string event_prefix(std::string_view session);
std::string session_run_index_key(std::string_view session, std::uint64_t run);
std::string session_run_index_prefix(std::string_view session);
std::string checkpoint_index_key(std::uint64_t run, std::uint32_t seq, std::string_view digest16);
std::string idempotency_index_key(std::string_view key);

// ---- ids as shown to callers ---------------------------------------------
/// "run_" + 16 lowercase hex digits.
std::string format_run_id(std::uint64_t run);
std::optional<std::uint64_t> parse_run_id(std::string_view text);
/// "run_<16 hex>/<seq>".
std::string format_node_id(std::uint64_t run, std::uint32_t seq);
/// True for 1..128 characters in 0x21..0x7e (printable ASCII, no space).
bool valid_session_id(std::string_view s);

// ---- records ------------------------------------------------------------
enum class run_phase : std::uint8_t { running = 0, waiting = 1, completed = 2, cancelled = 3, failed = 4 };
std::string_view phase_name(run_phase p);

/// An immutable snapshot of one run at one position (D5).
struct node_record {
  std::uint32_t parent = no_node;      // no_node for the root
  std::uint32_t from_attempt = 0;      // the parent's attempt that created it
  std::int64_t created_at = 0;
  bool complete = false;
  /// The node whose record holds the context this node sees. A node that
  /// did not change the context points at the owner of its parent's, so a
  /// read is at most one extra lookup, never a walk.
  std::uint32_t context_owner = 0;
  std::string step_id;                 // the pending step; empty when complete
  std::string cursor;                  // workflow::cursor as JSON text
  std::string context;                 // context JSON text, only when context_owner == own seq
};
std::string encode_node(const node_record& n, std::uint32_t own_seq);
node_record decode_node(std::string_view bytes, std::uint32_t own_seq);
/// Only the context text of a stored node (empty when it does not own one),
/// a view into `bytes`: load_node reads the context owner's record for it.
std::string_view node_context_view(std::string_view bytes);

/// A recorded advance: replays compare the digest and return response as is.
struct ack_view {
  std::string_view digest;   // 32 bytes: BLAKE2b of the canonical request body (tokens excluded)
  std::uint32_t child = 0;
  std::string_view response; // the exact response text
};
std::string encode_ack(std::string_view digest32, std::uint32_t child, std::string_view response);
ack_view decode_ack(std::string_view bytes);

/// The status projection of a run (D5). Derived from the events; rewritten
/// by every operation that changes it.
struct run_status {
  run_phase phase = run_phase::running;
  std::uint32_t node_count = 0;
  /// The newest node, which is always a leaf (its children would be newer).
  /// The run's other leaves are keys of their own (run_tip_key, see
  /// status_store.hpp): listed only by get_run, changed only by a fork.
  std::uint32_t preferred_tip = 0;
  std::int64_t last_activity = 0;
  std::optional<std::int64_t> completed_at;
  std::string pending_step_id;          // of the preferred tip; empty when complete
  std::string output;                   // JSON text of the completing output, or empty
  std::string error;                    // JSON text, or empty (Failed runs, D8)
  /// D8 (issue 5, src/engine/callbacks.hpp): canonical JSON of waitingOn,
  /// lastResult and cancellation; empty when the run never used callbacks.
  /// Encoded last and only when not empty, so older records still decode.
  std::string async;
  /// Only from a record written before format 3, which listed every leaf:
  /// those other than the newest, ascending. write_status turns them into
  /// keys of their own and clears this; encode_status never writes it.
  std::vector<std::uint32_t> legacy_tips;
  friend bool operator==(const run_status&, const run_status&) = default;
};
/// Record version 2 (without leaves). Use write_status (status_store.hpp),
/// which first stores legacy_tips as keys.
std::string encode_status(const run_status& s);
/// Versions 2 and 1 (format 1 and 2 stores, with every leaf inline).
run_status decode_status(std::string_view bytes);
/// The phase alone (the second byte): for the checks that need only the
/// phase (before an advance, a rehydrate, a child's phase).
run_phase status_phase(std::string_view bytes);

/// How a new node changes the leaves other than the newest node (which are
/// not in run_status). Advancing the newest node changes nothing there: it
/// stops being a leaf and the new node becomes the newest. A fork (any
/// other parent) keeps the old newest node a leaf (`add`), and the parent
/// stops being one (`remove`; it may already have had children, then
/// there is nothing to remove). no_node: no change.
struct tips_change {
  std::uint32_t add = no_node;
  std::uint32_t remove = no_node;
};

/// The one rule for how a new node changes the status and the leaves; used
/// by the live path (status_store.hpp applies the tips_change to the keys)
/// and by the replay (projection.cpp), so both agree by construction.
[[nodiscard]] tips_change status_on_node_created(run_status& s, std::uint32_t parent, std::uint32_t child,
                                                 bool complete, std::int64_t at, std::string_view step_id,
                                                 std::string_view output_json);

/// Chain head of a session's event log.
struct session_head {
  std::int64_t created_at = 0;
  std::uint64_t next_index = 0;
  std::array<std::uint8_t, 32> last_hash{};   // zeros before the first event
};
std::string encode_session(const session_head& h);
session_head decode_session(std::string_view bytes);

}  // namespace tokenrail::engine_detail
