// The MCP server's message handling, against a fake engine call function
// (the transport and the real engine are exercised by tests/mcp and
// tests/cli).
#include <tokenrail/host/mcp_server.hpp>
#include <tokenrail/json_parse.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace json = boost::json;
using tokenrail::host::mcp_server;
using tokenrail::host::mcp_tool;

namespace {

struct fake_engine {
  std::vector<std::pair<std::string, std::string>> calls;
  std::string call(std::string_view op, std::string_view req) {
    calls.emplace_back(std::string(op), std::string(req));
    if (op == "start_workflow") {
      auto r = tokenrail::parse_json(req);
      if (!r || !r->is_object() || !r->get_object().contains("workflowId") ||
          !r->get_object().at("workflowId").is_string()) {
        return R"({"error":{"code":"INVALID_REQUEST","numericCode":1002,"message":"workflowId must be a string","retry":{"kind":"not_retryable"},"details":{"pointer":"/workflowId","expected":"string"}}})";
      }
      return R"({"stateToken":"st1_x","ackToken":"ak1_x","checkpointToken":"ck1_x","pending":{"stepId":"one","title":"Step one","prompt":"Do it.","requireConfirmation":false},"isComplete":false,"nextIntent":"perform_pending_then_continue","session":{"sessionId":"s1","runId":"r1"},"workflowHash":"sha256:aa"})";
    }
    return "not json at all";
  }
};

std::vector<mcp_tool> tools() {
  std::vector<mcp_tool> t;
  t.push_back({"start_workflow", "Starts a workflow run.",
               json::parse(R"({"type":"object","properties":{"workflowId":{"type":"string"}},"required":["workflowId"]})")});
  t.push_back({"list_workflows", "Lists workflows.", json::parse(R"({"type":"object"})")});
  return t;
}

struct fixture {
  fake_engine engine;
  mcp_server server{[this](std::string_view op, std::string_view req) { return engine.call(op, req); }, tools()};

  json::value send(std::string_view line) {
    auto reply = server.handle(line);
    REQUIRE(reply.has_value());
    CHECK(reply->find('\n') == std::string::npos);  // one line on the wire
    return json::parse(*reply);
  }
  int error_code(std::string_view line) {
    auto r = send(line);
    REQUIRE(r.as_object().contains("error"));
    return static_cast<int>(r.at("error").at("code").as_int64());
  }
};

}  // namespace

TEST_CASE("mcp: initialize negotiates the protocol version") {
  fixture f;
  for (const char* v : {"2025-06-18", "2025-03-26", "2024-11-05"}) {
    auto r = f.send(std::string(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")") + v +
                    R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    CHECK(r.at("id").as_int64() == 1);
    CHECK(r.at("result").at("protocolVersion").as_string() == v);
    CHECK(f.server.protocol_version() == v);
  }
  auto r = f.send(R"({"jsonrpc":"2.0","id":"x","method":"initialize","params":{"protocolVersion":"1999-01-01"}})");
  CHECK(r.at("id").as_string() == "x");
  CHECK(r.at("result").at("protocolVersion").as_string() == "2025-06-18");
  CHECK(r.at("result").at("capabilities").at("tools").is_object());
  CHECK(r.at("result").at("serverInfo").at("name").as_string() == "tokenrail");
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{}})") == -32602);
}

TEST_CASE("mcp: notifications and client responses get no reply") {
  fixture f;
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})"));
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","method":"no/such/notification"})"));
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","id":5,"result":{}})"));
  CHECK_FALSE(f.server.handle(""));
  CHECK_FALSE(f.server.handle("  \r"));
  CHECK(f.engine.calls.empty());
}

TEST_CASE("mcp: ping and tools/list") {
  fixture f;
  auto p = f.send(R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  CHECK(p.at("result").as_object().empty());
  auto l = f.send(R"({"jsonrpc":"2.0","id":8,"method":"tools/list","params":{}})");
  const auto& list = l.at("result").at("tools").as_array();
  REQUIRE(list.size() == 2);
  CHECK(list[0].at("name").as_string() == "start_workflow");
  CHECK(list[0].at("description").as_string() == "Starts a workflow run.");
  CHECK(list[0].at("inputSchema").at("required").as_array()[0].as_string() == "workflowId");
}

TEST_CASE("mcp: tools/call renders text-first and passes the response as structuredContent") {
  fixture f;
  auto r = f.send(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflowId":"w"}}})");
  REQUIRE(f.engine.calls.size() == 1);
  CHECK(f.engine.calls[0].first == "start_workflow");
  CHECK(json::parse(f.engine.calls[0].second) == json::parse(R"({"workflowId":"w"})"));
  const auto& res = r.at("result");
  CHECK(res.at("isError").as_bool() == false);
  const auto& text = res.at("content").as_array()[0];
  CHECK(text.at("type").as_string() == "text");
  std::string md(text.at("text").as_string());
  CHECK(md.find("# Step one") == 0);
  CHECK(md.find("\"ackToken\": \"ak1_x\"") != std::string::npos);
  CHECK(res.at("structuredContent").at("stateToken").as_string() == "st1_x");
}

TEST_CASE("mcp: an error as data is a tool result with isError") {
  fixture f;
  auto r = f.send(R"({"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflowId":42}}})");
  const auto& res = r.at("result");
  CHECK(res.at("isError").as_bool());
  CHECK(std::string(res.at("content").as_array()[0].at("text").as_string()).find("INVALID_REQUEST") != std::string::npos);
  CHECK(res.at("structuredContent").at("error").at("details").at("pointer").as_string() == "/workflowId");
  // An engine answer that is not JSON is still a tool error, not a crash.
  auto bad = f.send(R"({"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"list_workflows"}})");
  CHECK(bad.at("result").at("isError").as_bool());
}

TEST_CASE("mcp: malformed messages get JSON-RPC errors") {
  fixture f;
  CHECK(f.error_code("{not json") == -32700);
  CHECK(f.error_code(std::string("\xff\xfe\x00\x01", 4)) == -32700);
  CHECK(f.error_code(R"("just a string")") == -32600);
  CHECK(f.error_code(R"({"id":1,"method":"ping"})") == -32600);                    // no jsonrpc
  CHECK(f.error_code(R"({"jsonrpc":"1.0","id":1,"method":"ping"})") == -32600);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1})") == -32600);                    // no method
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":5})") == -32600);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})") == -32600);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":3})") == -32600);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})") == -32601);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})") == -32602);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":3}})") == -32602);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}})") == -32602);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"start_workflow","arguments":[1]}})") == -32602);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]})") == -32602);
  CHECK(f.error_code("[]") == -32600);
  CHECK(f.engine.calls.empty());
  // The id of a bad request is echoed when it could be read.
  auto r = f.send(R"({"jsonrpc":"2.0","id":"abc","method":"nope"})");
  CHECK(r.at("id").as_string() == "abc");
  auto p = f.send("{oops");
  CHECK(p.at("id").is_null());
}

TEST_CASE("mcp: size and depth limits are answered, not crashed on") {
  fake_engine engine;
  tokenrail::host::mcp_options opts;
  opts.max_message_bytes = 1000;
  mcp_server server([&](std::string_view o, std::string_view q) { return engine.call(o, q); }, tools(), opts);
  std::string huge = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":")" + std::string(2000, 'a') + "\"}}";
  auto r = json::parse(*server.handle(huge));
  CHECK(r.at("error").at("code").as_int64() == -32600);
  std::string deep = std::string(500, '[') + std::string(500, ']');
  auto d = json::parse(*server.handle(deep));
  CHECK(d.at("error").at("code").as_int64() == -32600);
  auto o = json::parse(server.oversize_reply(123456));
  CHECK(o.at("error").at("data").at("bytes").as_int64() == 123456);
  // Still serving.
  auto p = json::parse(*server.handle(R"({"jsonrpc":"2.0","id":2,"method":"ping"})"));
  CHECK(p.at("id").as_int64() == 2);
}

TEST_CASE("mcp: batches answer each request and skip notifications") {
  fixture f;
  auto r = f.send(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"nope"},7])");
  const auto& a = r.as_array();
  REQUIRE(a.size() == 3);
  CHECK(a[0].at("id").as_int64() == 1);
  CHECK(a[1].at("error").at("code").as_int64() == -32601);
  CHECK(a[2].at("error").at("code").as_int64() == -32600);
  CHECK_FALSE(f.server.handle(R"([{"jsonrpc":"2.0","method":"notifications/initialized"}])"));
}

TEST_CASE("mcp: an id beyond the double range is refused, not answered with id null") {
  fixture f;
  // 1e400 parses to infinity; echoed, it would be written as null, and a
  // result with id null matches no request of the client.
  auto r = f.send(R"({"jsonrpc":"2.0","id":1e400,"method":"ping"})");
  CHECK_FALSE(r.as_object().contains("result"));
  CHECK(r.at("error").at("code").as_int64() == -32600);
  CHECK(r.at("id").is_null());
  // A finite non-integer id is still echoed.
  CHECK(f.send(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})").at("id").as_double() == 1.5);
}

TEST_CASE("mcp: a number beyond the double range in arguments is an error as data, not null") {
  fixture f;
  // Forwarded as null it would reach the engine as a different, valid
  // request (in context, null removes a key).
  auto r = f.send(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflowId":"w","context":{"keep":1,"x":-1e400}}}})");
  CHECK(f.engine.calls.empty());
  const auto& res = r.at("result");
  CHECK(res.at("isError").as_bool());
  const auto& err = res.at("structuredContent").at("error");
  CHECK(err.at("code").as_string() == "INVALID_REQUEST");
  CHECK(err.at("details").at("pointer").as_string() == "/context/x");
  CHECK(std::string(res.at("content").as_array()[0].at("text").as_string()).find("INVALID_REQUEST") != std::string::npos);
}

TEST_CASE("mcp: a response from the client is never answered, whatever its id") {
  fixture f;
  // A peer that could not read one of our messages answers with an error
  // whose id is null (JSON-RPC 2.0 section 5) or absent (the TypeScript
  // SDK's JSONRPCErrorResponse); answering that would answer an answer.
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})"));
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}})"));
  CHECK_FALSE(f.server.handle(R"({"jsonrpc":"2.0","id":null,"result":{}})"));
  CHECK_FALSE(f.server.handle(R"([{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}])"));
  // Without result or error it is still an invalid request.
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":null})") == -32600);
}

TEST_CASE("mcp: tools/list refuses a cursor it never issued") {
  fixture f;
  // The list is one page (no nextCursor): any cursor is invalid, and
  // "Invalid cursors SHOULD result in an error with code -32602".
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"abc"}})") == -32602);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":7}})") == -32602);
  // No cursor (or a null one) is the first and only page.
  CHECK(f.send(R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":null}})").at("result").at("tools").as_array().size() == 2);
  auto r = f.send(R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"progressToken":1}}})");
  CHECK(r.at("result").at("tools").as_array().size() == 2);
  CHECK_FALSE(r.at("result").as_object().contains("nextCursor"));
}

TEST_CASE("mcp: initialize refuses capabilities or clientInfo of the wrong type") {
  fixture f;
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":"all","clientInfo":{"name":"t","version":"1"}}})") == -32602);
  CHECK(f.error_code(R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":["t"]}})") == -32602);
  CHECK(f.server.protocol_version().empty());
}
