// Projections of the event log (D7) and `verify`.
//
// Runs, their DAGs and statuses are projections of the events: replaying a
// session's events rebuilds them, and verify compares what the replay built
// with the records the operations wrote (plus the hash chain). The status
// rule is shared with the live path (status_on_node_created), so a mismatch
// means a damaged or tampered store, never two implementations disagreeing.
//
// Issue 5/8 extension point: a new event kind needs a case in
// apply_event() (projection.cpp); unknown kinds are reported by verify.
#pragma once

#include "engine/events.hpp"
#include "engine/records.hpp"

#include <tokenrail/storage/store.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tokenrail::engine_detail {

struct projected_node {
  std::uint32_t parent = no_node;
  std::uint32_t from_attempt = 0;
  std::int64_t created_at = 0;
  bool complete = false;
  std::string step_id;
  boost::json::value cursor;
  boost::json::object context;
};

struct projected_run {
  boost::json::value document;   // {metadata, spec} as recorded by run_started
  run_status status;
  std::set<std::uint32_t> other_tips;   // the leaves but the newest node (status.preferred_tip)
  std::map<std::uint32_t, projected_node> nodes;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> acks;   // (node, attempt) -> child
};

struct session_projection {
  std::string session_id;
  std::uint64_t events = 0;
  hash32 last_hash{};
  std::map<std::uint64_t, projected_run> runs;
  std::vector<std::string> problems;   // chain breaks and inconsistencies, in log order
};

/// Replays one session's events (read through tx): checks the hash chain
/// and indexes, and rebuilds its runs. Problems are collected, not thrown
/// (a damaged event stops the replay of that session). Throws only what
/// the store throws.
session_projection project_session(storage::read_transaction& tx, std::string_view session_id);

struct verify_report {
  bool ok = true;
  std::uint64_t sessions = 0, events = 0, runs = 0, nodes = 0;
  std::vector<std::string> problems;   // "<sessionId>: <what>"
};

/// Every session of the store: chain + replay compared with the stored
/// runs, nodes, statuses and ack records.
verify_report verify_store(storage::read_transaction& tx);

}  // namespace tokenrail::engine_detail
