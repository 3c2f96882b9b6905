// JSON-RPC 2.0 / MCP message handling (see include/tokenrail/host/mcp_server.hpp).
#include <tokenrail/json/canonical.hpp>
#include <tokenrail/host/mcp_server.hpp>

#include <tokenrail/host/render.hpp>
#include <tokenrail/json_parse.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

namespace tokenrail::host {

namespace json = boost::json;

namespace {

// JSON-RPC 2.0 error codes (section 5.1 of the specification).
constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;
constexpr int internal_error = -32603;

json::object rpc_error(int code, std::string_view message, json::value data = nullptr) {
  json::object e;
  e["code"] = code;
  e["message"] = message;
  if (!data.is_null()) e["data"] = std::move(data);
  return e;
}

json::value error_reply(const json::value& id, json::object error) {
  json::object r;
  r["jsonrpc"] = "2.0";
  r["id"] = id;
  r["error"] = std::move(error);
  return r;
}

json::value result_reply(const json::value& id, json::value result) {
  json::object r;
  r["jsonrpc"] = "2.0";
  r["id"] = id;
  r["result"] = std::move(result);
  return r;
}

// MCP ids are strings or integers; JSON-RPC also allows other numbers.
// Not an infinite one: a literal beyond the double range (1e400) parses to
// infinity, which the reply would echo as null, and a result with id null
// is one the client can never match to its request.
bool valid_id(const json::value& id) {
  return id.is_string() || id.is_int64() || id.is_uint64() || (id.is_double() && std::isfinite(id.get_double()));
}

}  // namespace

struct mcp_server::outcome {
  bool ok = true;
  json::value value;  // the result, or the error object when !ok
  static outcome result(json::value v) { return {true, std::move(v)}; }
  static outcome error(int code, std::string_view message, json::value data = nullptr) {
    return {false, rpc_error(code, message, std::move(data))};
  }
};

const std::vector<std::string_view>& mcp_protocol_versions() noexcept {
  static const std::vector<std::string_view> versions = {"2025-06-18", "2025-03-26", "2024-11-05"};
  return versions;
}

mcp_server::mcp_server(mcp_call_fn call, std::vector<mcp_tool> tools, mcp_options options)
    : call_(std::move(call)), tools_(std::move(tools)), options_(std::move(options)) {}

std::string mcp_server::oversize_reply(std::size_t bytes_seen) const {
  json::object data;
  data["bytes"] = bytes_seen;
  data["maxBytes"] = options_.max_message_bytes;
  return tokenrail::json::serialize(error_reply(
      nullptr, rpc_error(invalid_request, "message exceeds the maximum length", std::move(data))));
}

std::optional<std::string> mcp_server::handle(std::string_view message) {
  if (message.size() > options_.max_message_bytes) return oversize_reply(message.size());
  // Blank lines between messages are not messages.
  if (std::all_of(message.begin(), message.end(),
                  [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; })) {
    return std::nullopt;
  }
  json_limits limits;
  limits.max_bytes = options_.max_message_bytes;
  limits.max_depth = options_.max_depth;
  auto parsed = parse_json(message, limits);
  if (!parsed) {
    const auto& err = parsed.error();
    bool too_big = err.code == errc::PAYLOAD_TOO_LARGE || err.code == errc::NESTING_TOO_DEEP;
    json::object data;
    data["code"] = errc_name(err.code);
    data["message"] = err.message;
    return tokenrail::json::serialize(error_reply(
        nullptr, rpc_error(too_big ? invalid_request : parse_error,
                           too_big ? "message exceeds a size or nesting limit" : "parse error",
                           std::move(data))));
  }
  const json::value& msg = parsed.value();
  if (msg.is_array()) {
    const auto& batch = msg.get_array();
    if (batch.empty()) {
      return tokenrail::json::serialize(error_reply(nullptr, rpc_error(invalid_request, "empty batch")));
    }
    json::array replies;
    for (const auto& one : batch) {
      if (auto reply = handle_one(one)) replies.push_back(std::move(*reply));
    }
    if (replies.empty()) return std::nullopt;
    return tokenrail::json::serialize(replies);
  }
  auto reply = handle_one(msg);
  if (!reply) return std::nullopt;
  return tokenrail::json::serialize(*reply);
}

std::optional<json::value> mcp_server::handle_one(const json::value& message) {
  if (!message.is_object()) {
    return error_reply(nullptr, rpc_error(invalid_request, "a message must be a JSON object"));
  }
  const auto& m = message.get_object();
  const json::value* id = m.if_contains("id");
  // A response (result or error, no method) is never answered, whatever its
  // id: a peer that could not read one of our messages answers with an
  // error whose id is null (JSON-RPC 2.0 section 5) or absent (the MCP
  // TypeScript SDK's JSONRPCErrorResponse). Replying to it would answer an
  // answer, and two peers doing so would never stop.
  if (!m.contains("method") && (m.contains("result") || m.contains("error"))) return std::nullopt;
  if (id && !valid_id(*id)) {
    return error_reply(nullptr, rpc_error(invalid_request, "id must be a string or a number"));
  }
  json::value reply_id = id ? *id : json::value(nullptr);
  const json::value* version = m.if_contains("jsonrpc");
  if (!version || !version->is_string() || version->get_string() != "2.0") {
    return error_reply(reply_id, rpc_error(invalid_request, "jsonrpc must be \"2.0\""));
  }
  const json::value* method = m.if_contains("method");
  if (!method) return error_reply(reply_id, rpc_error(invalid_request, "method is missing"));
  if (!method->is_string()) {
    return error_reply(reply_id, rpc_error(invalid_request, "method must be a string"));
  }
  const json::value* params = m.if_contains("params");
  if (params && !params->is_object() && !params->is_array()) {
    return error_reply(reply_id, rpc_error(invalid_request, "params must be an object or an array"));
  }
  if (!id) {
    // A notification: never answered, whatever it is (initialized,
    // cancelled, progress, or unknown).
    return std::nullopt;
  }
  outcome out;
  try {
    out = dispatch(method->get_string(), params);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    out = outcome::error(internal_error, e.what());
  }
  if (!out.ok) return error_reply(reply_id, std::move(out.value.as_object()));
  return result_reply(reply_id, std::move(out.value));
}

mcp_server::outcome mcp_server::dispatch(std::string_view method, const json::value* params) {
  if (params && !params->is_object()) {
    return outcome::error(invalid_params, "params must be an object");
  }
  if (method == "initialize") return initialize(params);
  if (method == "ping") return outcome::result(json::object());
  if (method == "tools/list") return list_tools(params);
  if (method == "tools/call") return call_tool(params);
  json::object data;
  data["method"] = method;
  return outcome::error(method_not_found, "method not found", std::move(data));
}

mcp_server::outcome mcp_server::initialize(const json::value* params) {
  const json::value* requested = params ? params->get_object().if_contains("protocolVersion") : nullptr;
  if (!requested || !requested->is_string()) {
    return outcome::error(invalid_params, "initialize needs params.protocolVersion (a string)");
  }
  // Required by every version's InitializeRequest; tolerated when missing
  // (nothing here depends on them), refused when of the wrong type.
  for (std::string_view key : {"capabilities", "clientInfo"}) {
    const json::value* v = params->get_object().if_contains(key);
    if (v && !v->is_object()) {
      json::object data;
      data["param"] = key;
      return outcome::error(invalid_params, "initialize params.capabilities and params.clientInfo must be objects",
                            std::move(data));
    }
  }
  const auto& supported = mcp_protocol_versions();
  std::string_view want = requested->get_string();
  // The client's version when we speak it; otherwise our latest, and the
  // client decides whether it can live with that (MCP lifecycle rules).
  auto it = std::find(supported.begin(), supported.end(), want);
  protocol_version_ = std::string(it != supported.end() ? *it : supported.front());

  json::object result;
  result["protocolVersion"] = protocol_version_;
  json::object tools_cap;
  tools_cap["listChanged"] = false;
  json::object caps;
  caps["tools"] = std::move(tools_cap);
  result["capabilities"] = std::move(caps);
  json::object info;
  info["name"] = options_.server_name;
  info["version"] = options_.server_version;
  result["serverInfo"] = std::move(info);
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  return outcome::result(std::move(result));
}

mcp_server::outcome mcp_server::list_tools(const json::value* params) const {
  // The whole list is one page and no nextCursor is ever sent, so any
  // cursor is one this server did not issue: "Invalid cursors SHOULD result
  // in an error with code -32602" (MCP pagination utility, every version
  // since 2024-11-05). Answering with the first page instead would hand a
  // client the same tools twice. null counts as absent.
  const json::value* cursor = params ? params->get_object().if_contains("cursor") : nullptr;
  if (cursor && !cursor->is_null()) {
    json::object data;
    data["cursor"] = *cursor;
    return outcome::error(invalid_params, cursor->is_string() ? "unknown cursor (this server does not paginate)"
                                                              : "params.cursor must be a string",
                          std::move(data));
  }
  json::array list;
  for (const auto& t : tools_) {
    json::object tool;
    tool["name"] = t.name;
    tool["description"] = t.description;
    tool["inputSchema"] = t.input_schema;
    list.push_back(std::move(tool));
  }
  json::object result;
  result["tools"] = std::move(list);
  return outcome::result(std::move(result));
}

mcp_server::outcome mcp_server::call_tool(const json::value* params) {
  if (!params) return outcome::error(invalid_params, "tools/call needs params {name, arguments}");
  const auto& p = params->get_object();
  const json::value* name = p.if_contains("name");
  if (!name || !name->is_string()) {
    return outcome::error(invalid_params, "params.name must be a string (the tool's name)");
  }
  auto tool = std::find_if(tools_.begin(), tools_.end(),
                           [&](const mcp_tool& t) { return t.name == name->get_string(); });
  if (tool == tools_.end()) {
    json::object data;
    data["name"] = name->get_string();
    return outcome::error(invalid_params, "unknown tool", std::move(data));
  }
  const json::value* arguments = p.if_contains("arguments");
  json::value args = (arguments && !arguments->is_null()) ? *arguments : json::value(json::object());
  if (!args.is_object()) {
    return outcome::error(invalid_params, "params.arguments must be an object");
  }

  // The arguments go to the engine as their canonical text. serialize()
  // would write a number that is not finite (a literal like 1e400 parses to
  // infinity) as null: the agent's value would silently become null (in
  // `context`, null even deletes the key). canonicalize() refuses it
  // instead, naming the field, so the agent gets an error as data
  // (INVALID_REQUEST), as the engine answers that request through the C ABI.
  std::string request, response_text;
  try {
    request = tokenrail::json::canonicalize(args);
  } catch (const failure& f) {
    response_text = tokenrail::json::serialize(f.err().to_json());
  }
  if (response_text.empty()) response_text = call_(tool->name, request);
  json_limits limits;
  limits.max_bytes = std::max<std::size_t>(response_text.size(), 1);
  limits.max_depth = 1024;  // the engine's own output: trusted for depth
  auto response = parse_json(response_text, limits);

  json::object result;
  json::array content;
  json::object text;
  text["type"] = "text";
  if (!response) {
    text["text"] = "# Error\n\nThe engine returned a response that is not JSON:\n\n" + response_text;
    content.push_back(std::move(text));
    result["content"] = std::move(content);
    result["isError"] = true;
    return outcome::result(std::move(result));
  }
  const json::value& r = response.value();
  bool is_error = r.is_object() && r.get_object().contains("error");
  text["text"] = render_response(tool->name, r);
  content.push_back(std::move(text));
  result["content"] = std::move(content);
  // structuredContent must be an object; every engine response is one.
  if (r.is_object()) result["structuredContent"] = r;
  result["isError"] = is_error;
  return outcome::result(std::move(result));
}

}  // namespace tokenrail::host
