// The bounded line reader of the stdio transport, over a pipe.
#include <tokenrail/host/line_reader.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include <unistd.h>

using tokenrail::host::line_reader;

namespace {

// Writes `data` into a pipe from another thread (it may exceed the pipe's
// buffer) and returns the read end.
int pipe_with(const std::string& data, std::thread& writer) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  writer = std::thread([w = fds[1], data] {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(w, data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(w);
  });
  return fds[0];
}

}  // namespace

TEST_CASE("line_reader: lines, a huge line skipped, a last line without newline") {
  std::string huge(300000, 'x');
  std::string data = "first\n\nsecond\r\n" + huge + "\nthird\n" + std::string(100, 'y') + "\nlast";
  std::thread writer;
  int fd = pipe_with(data, writer);
  line_reader r(fd, 1000);
  std::string line;
  std::size_t seen = 0;
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line == "first");
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line.empty());
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line == "second\r");
  REQUIRE(r.next(line, seen) == line_reader::status::too_long);
  CHECK(seen == huge.size());
  CHECK(line.empty());
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line == "third");
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line == std::string(100, 'y'));
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line == "last");
  CHECK(r.next(line, seen) == line_reader::status::eof);
  CHECK(r.next(line, seen) == line_reader::status::eof);
  writer.join();
  ::close(fd);
}

TEST_CASE("line_reader: a line of exactly the limit passes, one more byte does not") {
  std::thread writer;
  int fd = pipe_with(std::string(1000, 'a') + "\n" + std::string(1001, 'b') + "\nok\n" + std::string(5000, 'c'), writer);
  line_reader r(fd, 1000);
  std::string line;
  std::size_t seen = 0;
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line.size() == 1000);
  REQUIRE(r.next(line, seen) == line_reader::status::too_long);
  CHECK(seen == 1001);
  REQUIRE(r.next(line, seen) == line_reader::status::line);
  CHECK(line == "ok");
  REQUIRE(r.next(line, seen) == line_reader::status::too_long);  // unterminated and too long
  CHECK(seen == 5000);
  CHECK(r.next(line, seen) == line_reader::status::eof);
  writer.join();
  ::close(fd);
}
