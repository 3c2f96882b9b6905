// The MCP stdio transport (see include/tokenrail/host/stdio_transport.hpp).
#include <tokenrail/host/stdio_transport.hpp>

#include <tokenrail/host/line_reader.hpp>

#include <cerrno>
#include <string>

#include <unistd.h>

namespace tokenrail::host {

namespace {

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int serve_stdio(mcp_server& server, int in_fd, int out_fd, std::size_t max_message_bytes) {
  line_reader reader(in_fd, max_message_bytes);
  std::string line;
  std::size_t seen = 0;
  for (;;) {
    auto st = reader.next(line, seen);
    if (st == line_reader::status::eof) return 0;
    if (st == line_reader::status::error) return 1;
    std::optional<std::string> reply;
    if (st == line_reader::status::too_long) {
      reply = server.oversize_reply(seen);
    } else {
      reply = server.handle(line);
    }
    if (reply) {
      reply->push_back('\n');
      if (!write_all(out_fd, *reply)) return 1;
    }
  }
}

}  // namespace tokenrail::host
