// The stdio transport: lines in, one reply line per request out, oversize
// lines skipped with an error, end of input ends the loop with 0.
#include <tokenrail/host/stdio_transport.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include <unistd.h>

namespace json = boost::json;
using namespace tokenrail::host;

TEST_CASE("serve_stdio: answers requests line by line until end of input") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  mcp_options opts;
  opts.max_message_bytes = 1000;
  mcp_server server([](std::string_view, std::string_view) { return std::string("{}"); }, {}, opts);
  int rc = -1;
  std::thread serving([&] { rc = serve_stdio(server, in[0], out[1], opts.max_message_bytes); ::close(out[1]); });
  std::string input = std::string(R"({"jsonrpc":"2.0","id":1,"method":"ping"})") + "\n" +
                      R"({"jsonrpc":"2.0","method":"notifications/initialized"})" + "\n" + std::string(200000, 'z') +
                      "\n" + "nonsense\n" + R"({"jsonrpc":"2.0","id":2,"method":"ping"})";  // no final newline
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < input.size()) {
      ssize_t n = ::write(in[1], input.data() + done, input.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(in[1]);
  });
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<std::size_t>(n));
  writer.join();
  serving.join();
  ::close(in[0]);
  ::close(out[0]);
  CHECK(rc == 0);
  std::vector<json::value> replies;
  std::size_t pos = 0;
  for (std::size_t nl; (nl = output.find('\n', pos)) != std::string::npos; pos = nl + 1)
    replies.push_back(json::parse(output.substr(pos, nl - pos)));
  CHECK(pos == output.size());  // every reply ends with a newline
  REQUIRE(replies.size() == 4);
  CHECK(replies[0].at("id").as_int64() == 1);
  CHECK(replies[1].at("error").at("code").as_int64() == -32600);
  CHECK(replies[1].at("error").at("data").at("bytes").as_int64() == 200000);
  CHECK(replies[2].at("error").at("code").as_int64() == -32700);
  CHECK(replies[3].at("id").as_int64() == 2);
}
