// A run's status record and its leaves in the store (D5 status.tips).
//
// The newest node is always a leaf; the status record names it
// (preferred_tip). Every other leaf, one per extra branch of a forked run,
// is a key of its own (run_tip_key, an empty value beside the status in
// the runs table). So an advance of the newest node, the common case,
// writes no leaf at all; a fork writes one key and erases at most one; and
// no operation rewrites every leaf (a run forked 10,000 times used to copy
// 10,000 of them into each advance's status record). get_run lists them.
#pragma once

#include "engine/records.hpp"

#include <tokenrail/storage/store.hpp>

#include <cstdint>
#include <set>
#include <vector>

namespace tokenrail::engine_detail {

/// The run's status record; RUN_NOT_FOUND when it has none, STORE_CORRUPT
/// when it does not decode.
run_status read_status(storage::read_transaction& tx, std::uint64_t run);

/// Writes the run's status record. A status read from a record of format 1
/// or 2 (legacy_tips) has its other leaves written as keys first, and
/// cleared: the record is converted the first time it is rewritten.
void write_status(storage::write_transaction& tx, std::uint64_t run, run_status& s);

/// Applies what status_on_node_created returned to the run's leaf keys.
/// Call it with the status that rule changed, before write_status.
void write_tips_change(storage::write_transaction& tx, std::uint64_t run, run_status& s, tips_change change);

/// Replaces the run's leaf keys with `others` (every leaf but the newest
/// node): for a run written whole from a replay (import_session), over
/// whatever an earlier import of it left.
void write_tips(storage::write_transaction& tx, std::uint64_t run, const std::set<std::uint32_t>& others);

/// Every leaf of the run, ascending: the keys, legacy_tips and the newest
/// node (none for a run without nodes).
std::vector<std::uint32_t> read_tips(storage::read_transaction& tx, std::uint64_t run, const run_status& s);

}  // namespace tokenrail::engine_detail
