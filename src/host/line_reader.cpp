// Bounded line reading (see include/tokenrail/host/line_reader.hpp).
#include <tokenrail/host/line_reader.hpp>

#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace tokenrail::host {

namespace {
constexpr std::size_t chunk = 64 * 1024;
}

line_reader::line_reader(int fd, std::size_t max_line_bytes) : fd_(fd), max_(max_line_bytes) {}

bool line_reader::fill() {
  if (eof_ || failed_) return false;
  // Drop what was consumed so the buffer never holds more than one line
  // plus one chunk.
  buffer_.erase(0, pos_);
  pos_ = 0;
  std::size_t old = buffer_.size();
  buffer_.resize(old + chunk);
  for (;;) {
    ssize_t n = ::read(fd_, buffer_.data() + old, chunk);
    if (n > 0) {
      buffer_.resize(old + static_cast<std::size_t>(n));
      return true;
    }
    buffer_.resize(old);
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) {
      buffer_.resize(old + chunk);
      continue;
    }
    failed_ = true;
    return false;
  }
}

line_reader::status line_reader::next(std::string& line, std::size_t& bytes_seen) {
  line.clear();
  bytes_seen = 0;
  bool discarding = false;
  std::size_t scanned = pos_;  // bytes of the current line already searched
  for (;;) {
    std::size_t nl = buffer_.find('\n', scanned);
    if (nl != std::string::npos) {
      std::size_t len = nl - pos_;
      bytes_seen += len;
      if (!discarding && bytes_seen <= max_) {
        line.assign(buffer_, pos_, len);
        pos_ = nl + 1;
        return status::line;
      }
      pos_ = nl + 1;
      return status::too_long;
    }
    std::size_t pending = buffer_.size() - pos_;
    if (discarding || pending > max_) {
      // Too long already: forget what we hold and keep skipping.
      bytes_seen += pending;
      discarding = true;
      pos_ = buffer_.size();
    }
    // fill() moves the unconsumed bytes to the front of the buffer: keep
    // the scan position relative to the line's start.
    std::size_t scanned_in_line = buffer_.size() - pos_;
    if (!fill()) {
      // fill() compacted the buffer: the pending part now starts at 0.
      std::size_t rest = buffer_.size() - pos_;
      if (discarding) {
        bytes_seen += rest;
        pos_ = buffer_.size();
        return status::too_long;
      }
      if (rest > 0) {
        bytes_seen = rest;
        line.assign(buffer_, pos_, rest);
        pos_ = buffer_.size();
        return status::line;
      }
      return failed_ ? status::error : status::eof;
    }
    scanned = pos_ + scanned_in_line;
  }
}

}  // namespace tokenrail::host
