// Bounded line reading for line-delimited transports (the MCP stdio
// transport): a line longer than the limit is skipped up to its newline
// without being kept in memory, so a hostile peer cannot make the host
// allocate more than the limit.
#pragma once

#include <cstddef>
#include <string>

namespace tokenrail::host {

class line_reader {
 public:
  enum class status { line, too_long, eof, error };

  /// Reads from `fd` (not owned, not closed; it must stay open while the
  /// reader is used; blocking reads). `max_line_bytes` excludes the
  /// newline. Not thread-safe: one thread at a time per reader.
  line_reader(int fd, std::size_t max_line_bytes);

  /// The next line without its '\n' (a trailing '\r' is kept: JSON treats it
  /// as whitespace). status::too_long: the line was discarded and
  /// `bytes_seen` says how long it was. A last line without '\n' before
  /// end of input is still returned as a line. status::error: read() failed
  /// (errno is kept). `line` and `bytes_seen` are overwritten by every call
  /// (empty and 0 for eof and error); once eof or error is returned, every
  /// later call returns it again. EINTR is retried. Never throws except
  /// std::bad_alloc.
  status next(std::string& line, std::size_t& bytes_seen);

 private:
  bool fill();  // false at end of input or on error

  int fd_;
  std::size_t max_;
  std::string buffer_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

}  // namespace tokenrail::host
