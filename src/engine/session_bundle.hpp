// Portable session bundles (D6 export_session / import_session, D7, D3).
//
// A bundle is one JSON object that carries everything a session is:
//   {format: "tokenrail.session/1", sessionId,
//    events: [{index, kind, runId?, nodeId?, data, at, prev, hash}, ...],
//    workflows: {"sha256:<hex>": <pinned definition>, ...},
//    manifest: {eventCount, headHash, firstEventAt, runIds, workflowHashes, chain}}
// prev/hash are lowercase hex: hash = BLAKE2b-256(prev ‖ JCS(event without
// prev and hash)), prev of the first event is 32 zero bytes — exactly the
// chain the store keeps (events.hpp), so an exported event verifies
// anywhere without the exporting store.
//
// What import checks, in order, before it writes anything:
//   1. shape (format, sessionId, events, workflows, manifest);
//   2. every event: its index, its prev (= the previous hash) and its hash;
//   3. every pinned workflow: sha256 of its JCS equals its key, it compiles,
//      and every run_started names a workflow the bundle carries;
//   4. the manifest agrees with the chain (eventCount, headHash);
//   5. the replay (projection.cpp's project_session, run over the events
//      inside the import's write transaction) accepts every event, and every
//      node's cursor fits its pinned program.
// The first failure is INVALID_BUNDLE with details {position (event index)
// or workflowHash, reason, pointer}. Honest limits: the chain is unkeyed,
// so it detects edits, reordering and drops anywhere but at the end; a
// bundle whose chain was recomputed by hand, or whose last events were
// dropped together with a rewritten manifest, still imports (the ADR's
// honest-but-buggy caller model; a keyed signature would be a later format).
//
// Records (runs, statuses, nodes, ack records, session head, session->run
// index, pinned workflows) are rebuilt from the replay, never copied from
// the bundle. Tokens are not in the bundle: the importing store mints its
// own from (run, node, attempt), so imported runs continue with its key.
#pragma once

#include "engine/context.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::engine_detail {

inline constexpr std::string_view bundle_format = "tokenrail.session/1";

/// The bundle of one session, read through tx. Deterministic: the same
/// store state always gives the same bundle.
/// Errors: SESSION_NOT_FOUND; STORE_CORRUPT for a stored event that does not
/// decode; PINNED_WORKFLOW_MISSING when a run's definition is not stored.
boost::json::object export_bundle(storage::read_transaction& tx, std::string_view session_id);

struct import_result {
  std::string session_id;
  std::vector<std::string> run_ids;   // in run_started order
  std::uint64_t event_count = 0;
  std::string head_hash;              // hex
  bool written = false;               // false: the store already held exactly this session
};

/// Verifies `bundle` (see above) and writes the session's records in ONE
/// write transaction of e's store. Importing the same bundle again writes
/// nothing; a bundle that extends a session the store already holds (the
/// store's log is a prefix of the bundle's) adds the new events and
/// rebuilds that session's records.
/// Errors: INVALID_BUNDLE {position|workflowHash, reason, pointer} for a
/// malformed or tampered bundle, or one whose history conflicts with what
/// the store holds for that session or run ids; storage errors.
import_result import_bundle(engine::impl& e, const boost::json::object& bundle);

}  // namespace tokenrail::engine_detail
