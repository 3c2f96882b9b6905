// The MCP stdio transport: newline-delimited JSON-RPC messages on a pair of
// file descriptors, served until the input closes.
#pragma once

#include <tokenrail/host/mcp_server.hpp>

namespace tokenrail::host {

/// Reads messages from `in_fd`, answers each through `server` on `out_fd`
/// (one line per reply), until end of input. A line longer than the
/// server's max_message_bytes is skipped and answered with an error.
/// Returns 0 at end of input, 1 when reading or writing failed (a closed
/// output, for example). Does not close either descriptor. The caller
/// should ignore SIGPIPE so a vanished client ends the loop with 1.
int serve_stdio(mcp_server& server, int in_fd, int out_fd, std::size_t max_message_bytes);

}  // namespace tokenrail::host
