// Helpers shared by the callback_*.cpp files only (not by the operations,
// which use callbacks.hpp): kept out of that interface so it stays the
// engine's view of D8, not its implementation's.
#pragma once

#include "engine/callbacks.hpp"
#include "engine/status_store.hpp"   // read_status, write_status

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string_view>

namespace tokenrail::engine_detail {

// ---- callback_records.cpp ----

/// Parses a stored JSON object; STORE_CORRUPT ("<what> does not parse") otherwise.
boost::json::object parse_object(std::string_view text, const char* what);
/// The spec of the run's record; RUN_NOT_FOUND / STORE_CORRUPT.
boost::json::object read_spec(storage::read_transaction& tx, std::uint64_t run);
/// The run's async status (run_status::async) as an object, {} when empty.
boost::json::object ext_of(const run_status& s);
/// A spec's correlation object, {} when absent.
boost::json::object correlation_of(const boost::json::object& spec);
/// Appends one async event to the run's session and applies it to its status.
void record_async_event(storage::write_transaction& tx, const run_info& run, std::string_view kind,
                        std::uint32_t node, boost::json::object data, std::int64_t now);

// ---- callback_status.cpp ----

/// Delegations of node (run, seq) with their children's live phases, by index.
boost::json::array delegations_of(storage::read_transaction& tx, std::uint64_t run, std::uint32_t seq);

// ---- callback_child_runs.cpp ----

/// Bounds nested in-transaction run creations (WORKFLOW_RECURSIVE past 16).
struct nesting_guard {
  nesting_guard();
  ~nesting_guard();
  nesting_guard(const nesting_guard&) = delete;
  nesting_guard& operator=(const nesting_guard&) = delete;
};
/// Adds each delegation row's child root stateToken.
boost::json::array with_child_tokens(engine::impl& e, boost::json::array rows);

}  // namespace tokenrail::engine_detail
