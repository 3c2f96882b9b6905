// tool_definitions (D6): the one source of every operation's name,
// description and input JSON Schema.
//
// engine::call checks each request against the schema listed here before
// the operation sees it, and the MCP server lists the agent-facing ones with
// exactly these descriptions and schemas, so what a tool says it accepts and
// what it accepts cannot drift apart (tests/engine/test_tool_definitions.cpp
// generates requests from the schemas to prove it).
#pragma once

#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

namespace tokenrail {

struct tool_definition {
  std::string_view name;          // the operation name given to engine::call
  std::string_view description;   // written for agents: what to send, what comes back
  bool agent_facing = false;      // false: host-side (get_run, rotate_key, ...)
  boost::json::value schema;      // JSON Schema of the request (object)

  const boost::json::value& input_schema() const noexcept { return schema; }
};

/// Every operation the engine dispatches, in a stable order (agent-facing
/// first). Built once; the reference stays valid for the process lifetime.
/// Thread-safe. Never throws after the first call (which may throw
/// std::bad_alloc).
const std::vector<tool_definition>& tool_definitions();

/// The definition named `name` (exact, case-sensitive), or nullptr. The
/// pointer stays valid for the process lifetime. Thread-safe; throws only
/// as tool_definitions() does.
const tool_definition* find_tool_definition(std::string_view name);

}  // namespace tokenrail
