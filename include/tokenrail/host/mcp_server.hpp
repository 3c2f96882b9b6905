// The Model Context Protocol server of D11, as library code: one JSON-RPC 2.0
// message in, at most one message out. The transport (stdio, a socket, a
// test) lives in the host; this class never touches a file descriptor.
//
// Methods: initialize (protocol version negotiation), notifications/*
// (no reply), ping, tools/list (one page: a cursor is refused with -32602),
// tools/call. Responses sent by the client are never answered. A batch (a
// JSON array) is answered with an array of the responses it produces.
// Malformed input gets the JSON-RPC error it deserves (-32700 parse error,
// -32600 invalid request, -32601 method not found, -32602 invalid params)
// and never ends the server.
//
// Tool results are text-first: content = [{type: "text", text: <markdown
// rendering of the response (render.hpp)>}], structuredContent = the
// response itself; an error returned as data sets isError: true.
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::host {

/// One tool as tools/list shows it.
struct mcp_tool {
  std::string name;         // the engine operation it calls
  std::string description;
  boost::json::value input_schema;  // a JSON Schema object
};

/// Runs one engine operation: (operation, request JSON text) -> response JSON
/// text, errors as data. engine::call has this shape; tests pass fakes.
using mcp_call_fn = std::function<std::string(std::string_view operation, std::string_view request_json)>;

struct mcp_options {
  std::string server_name = "tokenrail";
  std::string server_version = "0.1.0";
  /// A message longer than this is answered with a JSON-RPC error (-32600,
  /// id null) without being parsed.
  std::size_t max_message_bytes = 4u << 20;
  std::size_t max_depth = 64;
  /// Short usage notes sent as initialize.instructions (empty: omitted).
  std::string instructions;
};

/// Protocol versions this server speaks, newest first.
const std::vector<std::string_view>& mcp_protocol_versions() noexcept;

class mcp_server {
 public:
  /// `call`, `tools` and `options` are taken by value; whatever `call`
  /// refers to (an engine) must outlive the server. `call` is invoked only
  /// for tools/call of a listed tool, on the thread that called handle().
  /// Not thread-safe: one thread at a time per server (handle() records
  /// the negotiated protocol version).
  mcp_server(mcp_call_fn call, std::vector<mcp_tool> tools, mcp_options options = {});

  /// Handles one message (one line of the stdio transport, without its
  /// newline). Returns the reply text (one line of JSON, no newline), or
  /// nothing for notifications, responses sent by the client, and batches
  /// made only of those. Never throws except std::bad_alloc (also when
  /// `call` throws it). `message` is not referenced after the call.
  std::optional<std::string> handle(std::string_view message);

  /// The reply to a message that was too long to keep (the transport
  /// discarded it while reading): a -32600 error with id null.
  std::string oversize_reply(std::size_t bytes_seen) const;

  /// The protocol version agreed by initialize; empty before it.
  const std::string& protocol_version() const noexcept { return protocol_version_; }

 private:
  struct outcome;  // a result, or a JSON-RPC error object
  std::optional<boost::json::value> handle_one(const boost::json::value& message);
  outcome dispatch(std::string_view method, const boost::json::value* params);
  outcome initialize(const boost::json::value* params);
  outcome list_tools(const boost::json::value* params) const;
  outcome call_tool(const boost::json::value* params);

  mcp_call_fn call_;
  std::vector<mcp_tool> tools_;
  mcp_options options_;
  std::string protocol_version_;
};

}  // namespace tokenrail::host
