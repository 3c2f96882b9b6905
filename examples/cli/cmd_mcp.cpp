// tokenrail mcp: the MCP server over stdio (line-delimited JSON-RPC 2.0).
#include "cli.hpp"

#include <charconv>

#include <tokenrail/engine/tool_definitions.hpp>
#include <tokenrail/host/mcp_server.hpp>
#include <tokenrail/host/stdio_transport.hpp>

#include <csignal>
#include <iostream>

#include <unistd.h>

namespace tokenrail::cli {

namespace {
constexpr std::string_view help = R"(usage: tokenrail mcp [--max-message-bytes N]

Serves the Model Context Protocol over stdio until stdin closes: one JSON-RPC
2.0 message per line in, one reply per line out. Lists the agent-facing
engine operations as tools (schemas from tool_definitions); tool results are
a markdown rendering of the response plus the response as structuredContent.
Diagnostics go to stderr; stdout carries only protocol messages.

  --max-message-bytes N   longest accepted message (default 4194304); longer
                          lines are skipped and answered with an error
)";

constexpr std::string_view instructions =
    "tokenrail runs workflows step by step. Call list_workflows, then start_workflow. "
    "Do what pending.prompt says, then call continue_workflow with the stateToken and "
    "ackToken exactly as returned (and your notes in output.notesMarkdown). Repeat until "
    "isComplete. Replaying the same call is safe; an older stateToken continues from that "
    "point (a branch).";

std::vector<host::mcp_tool> agent_tools() {
  std::vector<host::mcp_tool> out;
  for (const auto& d : tool_definitions()) {
    if (!d.agent_facing) continue;
    out.push_back({std::string(d.name), std::string(d.description), d.input_schema()});
  }
  return out;
}
}  // namespace

int cmd_mcp(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  host::mcp_options opts;
  opts.instructions = std::string(instructions);
  opts.server_version = TOKENRAIL_CLI_VERSION;
  // No operands: an argument after "--" is refused like any unknown one.
  for (arg_reader r(a); r.next();) {
    std::optional<std::string> text;
    if (r.is("--max-message-bytes")) text = r.value();
    if (!text) return usage_error("mcp", "unknown argument " + r.arg());
    // Digits only: std::stoul would take "-1" as the largest value (no
    // limit at all) and "12abc" as 12.
    const auto c = std::from_chars(text->data(), text->data() + text->size(), opts.max_message_bytes);
    if (text->empty() || c.ec != std::errc() || c.ptr != text->data() + text->size())
      return usage_error("mcp", "--max-message-bytes needs a number of bytes");
    if (opts.max_message_bytes < 64) return usage_error("mcp", "--max-message-bytes must be at least 64");
  }
  auto e = open_engine(g);
  if (!e) return exit_error;
  // A client that goes away mid-reply must end the loop, not kill us silently.
  std::signal(SIGPIPE, SIG_IGN);
  engine* eng = e.get();
  host::mcp_server server([eng](std::string_view op, std::string_view req) { return eng->call(op, req); },
                          agent_tools(), opts);
  return host::serve_stdio(server, STDIN_FILENO, STDOUT_FILENO, opts.max_message_bytes) == 0 ? exit_ok
                                                                                            : exit_error;
}

}  // namespace tokenrail::cli
