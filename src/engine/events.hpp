// The event log (D7): append-only per session, hash-chained, written in the
// same write transaction as the change it records.
//
// An event's text is the canonical JSON (RFC 8785) of
//   {index, kind, runId?, nodeId?, data, at}
// and hash = BLAKE2b-256(prev ‖ that canonical text), prev being the hash of
// the previous event of the session (32 zero bytes before the first). prev
// is not stored again inside the event (it is the previous event's hash;
// storing it twice would only cost 32 bytes per event). Exported events
// (issue 8) show prev and hash as hex.
//
// nodeId in an event is the node's sequence number within runId.
//
// Stored value: hash:32 ‖ one of
//   - the canonical text itself (it starts with '{'), or
//   - the compact form written by event_appender: u8 1 | svarint at |
//     varint index | u8 kind code (0: then bytes kind) | u8 flags (bit0
//     nodeId, bit1 runId) | [varint nodeId] | [runId:8 BE] | canonical data.
//     decode_event rebuilds exactly the canonical text that was hashed.
// Why compact: the members around `data` cost ~100 bytes of JSON per event,
// four or five events per advance (D13: store growth <= 1.5 KB per advance).
//
// Record: the events one appender writes in one transaction share one
// record, keyed by the first one's index (session ‖ 0 ‖ index):
//   - one event: its stored value, as above;
//   - several: hash of the last:32 ‖ u8 2 | (varint length ‖ stored value)
//     for each, in index order. (Byte 32 tells the forms apart: a single
//     value has '{' or 1 there.)
// Why: an advance appends four or five events; one record instead of four
// saves three B-tree inserts per advance (D13's advance rates) and their
// keys. Readers take every record through decode_events.
#pragma once

#include "engine/digest.hpp"
#include "engine/records.hpp"

#include <tokenrail/storage/store.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenrail::engine_detail {

namespace event_kind {
inline constexpr std::string_view session_created = "session_created";
inline constexpr std::string_view run_started = "run_started";
inline constexpr std::string_view node_created = "node_created";
inline constexpr std::string_view edge_created = "edge_created";
inline constexpr std::string_view advance_recorded = "advance_recorded";
inline constexpr std::string_view output_appended = "output_appended";
inline constexpr std::string_view context_set = "context_set";
inline constexpr std::string_view checkpoint_recorded = "checkpoint_recorded";
inline constexpr std::string_view step_suspended = "step_suspended";
inline constexpr std::string_view step_completed = "step_completed";
inline constexpr std::string_view run_completed = "run_completed";
inline constexpr std::string_view run_cancelled = "run_cancelled";
inline constexpr std::string_view key_rotated = "key_rotated";
}  // namespace event_kind

/// Appends events to one session inside one write transaction. Reads the
/// chain head once, writes it back in finish(). Not copyable.
class event_appender {
 public:
  /// Opens the session's log. If the session does not exist: creates it
  /// (with a session_created event) when `create` is true, otherwise throws
  /// failure(SESSION_NOT_FOUND).
  event_appender(storage::write_transaction& tx, std::string_view session_id, std::int64_t at,
                 bool create = false);
  event_appender(const event_appender&) = delete;
  event_appender& operator=(const event_appender&) = delete;

  /// True when the constructor created the session.
  bool created() const noexcept { return created_; }

  /// Appends one event. `data` is moved into the event.
  void append(std::string_view kind, std::optional<std::uint64_t> run, std::optional<std::uint32_t> node,
              boost::json::object data);

  /// Appends one event whose data is given as the canonical JSON text
  /// (RFC 8785) of an object; `kind` is one of event_kind (nothing to
  /// escape). The hot path uses it to write events without building JSON
  /// values: the stored text is the same as append() would write.
  void append_canonical(std::string_view kind, std::optional<std::uint64_t> run,
                        std::optional<std::uint32_t> node, std::string_view canonical_data);

  /// Writes the events appended (one record) and the chain head. Call once,
  /// after the last append; an appender dropped without finish() writes
  /// nothing.
  void finish();

 private:
  storage::write_transaction& tx_;
  std::string session_;
  std::int64_t at_;
  session_head head_;
  bool created_ = false;
  std::uint64_t first_index_ = 0;
  std::uint32_t count_ = 0;
  std::size_t first_value_at_ = 0;   // where the first event's value starts in record_
  std::string record_;               // the record being built (see the top of the file)
  std::string scratch_;              // one event's canonical text, then its stored value
};

/// One decoded event.
struct event {
  std::uint64_t index = 0;
  std::string kind;
  std::optional<std::uint64_t> run;
  std::optional<std::uint32_t> node;
  boost::json::object data;
  std::int64_t at = 0;
  hash32 hash{};
  std::string canonical;   // the hashed text
};

/// Decodes one event's stored value. Throws failure(STORE_CORRUPT) on a
/// value that is not an event.
event decode_event(std::string_view stored);

/// Decodes a record of the events table (one event or a group, see the top
/// of the file), calling `visit` for each event in index order. Throws
/// failure(STORE_CORRUPT) on a record that does not decode.
void decode_events(std::string_view record, detail::function_ref<void(event&&)> visit);

/// The same, for the events whose kind `want` accepts. The kind is read from
/// the stored header first, so the others cost no canonical text and no
/// JSON parse: scans that look at a few kinds only (resume_session's search
/// reads notes, checkpoints and context) skip most of the log this way.
void decode_events_of(std::string_view record, detail::function_ref<bool(std::string_view kind)> want,
                      detail::function_ref<void(event&&)> visit);

/// The shallow merge of D6 `context`: each member of `delta` replaces the
/// member of the same name; a null member removes it.
void merge_context(boost::json::object& into, const boost::json::object& delta);

}  // namespace tokenrail::engine_detail
