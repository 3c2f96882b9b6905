// Compact binary encoding for the engine's hot records (nodes, acks, run
// status, session heads). Why binary: these records are read and rewritten
// on every advance; a varint/length-prefixed layout costs no parsing and
// keeps the store growth per advance small (D13: <= 1.5 KB with 200-byte
// notes). Cold, human-facing records (run spec, events) stay canonical JSON.
//
// Keys use fixed-width big-endian integers so that bytewise key order is
// numeric order (the store sorts keys with memcmp).
#pragma once

#include <tokenrail/error.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tokenrail::engine_detail {

inline void put_be64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out.append(b, 8);
}

inline void put_be32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out.append(b, 4);
}

inline std::uint64_t get_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

inline std::uint32_t get_be32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

/// Appends little-endian base-128 varints and length-prefixed byte strings.
class byte_writer {
 public:
  explicit byte_writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  /// Signed values (timestamps) zig-zag encoded.
  void svarint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void bytes(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }

 private:
  std::string& out_;
};

/// Reads what byte_writer wrote. Any overrun or malformed varint throws
/// failure(STORE_CORRUPT): a record that does not decode is a damaged store,
/// never a reason to crash.
class byte_reader {
 public:
  explicit byte_reader(std::string_view in) : in_(in) {}
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = u8();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    corrupt();
  }
  std::uint32_t varint32() {
    std::uint64_t v = varint();
    if (v > 0xffffffffu) corrupt();
    return static_cast<std::uint32_t>(v);
  }
  std::int64_t svarint() {
    std::uint64_t v = varint();
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  }
  std::string_view bytes() {
    std::uint64_t n = varint();
    need(n);
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view raw(std::size_t n) {
    need(n);
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view rest() {
    std::string_view s = in_.substr(pos_);
    pos_ = in_.size();
    return s;
  }
  bool done() const { return pos_ == in_.size(); }

  [[noreturn]] static void corrupt() { fail(errc::STORE_CORRUPT, "a stored record does not decode"); }

 private:
  void need(std::uint64_t n) {
    if (n > in_.size() - pos_) corrupt();
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace tokenrail::engine_detail
