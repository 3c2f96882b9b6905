// Hand-written request checks for the hot operations (start_workflow,
// continue_workflow), equivalent to their tool schemas (tool_definitions.cpp).
//
// Why: the generic JSON Schema validator walks the schema document for every
// request (keyword lookups by name, allocations for pointers), about a sixth
// of an advance. These checks look at each member once.
//
// The schema stays the one source of truth:
// - a check is used only while its operation's schema is exactly the one it
//   was written for (compared once, descriptions ignored); an edited schema
//   switches the fast path off until the check is updated, and a test
//   (test_tool_definitions.cpp) fails while it is off;
// - a check only ever answers "certainly valid"; anything else goes to the
//   generic validator, which produces the error and its JSON pointer;
// - the same test runs the generated valid and invalid requests through both
//   and requires the same verdict.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

namespace tokenrail::engine_detail {

/// nullopt: no fast check for this operation (or it is switched off because
/// the schema changed). true: the request conforms to the operation's
/// schema. false: it may not; run the generic validator.
std::optional<bool> fast_request_check(std::string_view operation, const boost::json::value& request);

/// Whether the fast check for `operation` exists and matches the current
/// schema (for the test that keeps the two in step).
bool fast_request_check_enabled(std::string_view operation);

}  // namespace tokenrail::engine_detail
