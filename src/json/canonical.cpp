// RFC 8785 canonical JSON. See include/tokenrail/json/canonical.hpp.
#include <tokenrail/json/canonical.hpp>

#include "json/jcs_detail.hpp"

#include <tokenrail/error.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tokenrail::json {
namespace {

namespace bj = boost::json;

// ---- key order: UTF-16 code units -----------------------------------------
//
// Comparing UTF-8 bytes gives code-point order, which equals UTF-16 code-unit
// order everywhere except where a supplementary character (U+10000 and up,
// encoded as surrogates D800-DFFF) meets a BMP character in E000-FFFF: in
// UTF-16 the surrogate sorts first. So compare bytes, and only at the first
// difference decode the two code points and compare their first UTF-16 units.

// Decodes the code point starting at s[i]; on malformed input returns the
// byte itself so that ordering stays total and nothing reads out of range.
std::uint32_t decode_at(std::string_view s, std::size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int extra = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80) return b0;
  if ((b0 & 0xE0) == 0xC0) { extra = 1; cp = b0 & 0x1F; }
  else if ((b0 & 0xF0) == 0xE0) { extra = 2; cp = b0 & 0x0F; }
  else if ((b0 & 0xF8) == 0xF0) { extra = 3; cp = b0 & 0x07; }
  else return b0;
  if (i + static_cast<std::size_t>(extra) >= s.size()) return b0;
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return b0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return cp;
}

std::uint32_t first_utf16_unit(std::uint32_t cp) noexcept {
  return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp;
}

}  // namespace

bool utf16_less(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == n) return a.size() < b.size();
  // Back up to the start of the code point that holds the first difference;
  // the shared prefix is identical, so both code points start there.
  std::size_t start = i;
  while (start > 0 && (static_cast<unsigned char>(a[start]) & 0xC0) == 0x80) --start;
  const std::uint32_t ca = decode_at(a, start), cb = decode_at(b, start);
  const std::uint32_t ua = first_utf16_unit(ca), ub = first_utf16_unit(cb);
  if (ua != ub) return ua < ub;
  // Same high surrogate (or malformed input): code-point order equals
  // low-surrogate order; fall back to bytes for malformed input.
  if (ca != cb) return ca < cb;
  return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
}

namespace {

// ---- strings ----------------------------------------------------------------


// ---- values -----------------------------------------------------------------

// The path to the value being written, kept on the stack and turned into a
// JSON pointer only when a value is refused.
struct path {
  const path* parent;
  std::string_view key;  // used when is_index is false
  std::size_t index;
  bool is_index;
};

void append_escaped_token(std::string& out, std::string_view key) {
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
}

std::string pointer_of(const path* p) {
  std::vector<const path*> chain;
  for (; p; p = p->parent) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out.push_back('/');
    if ((*it)->is_index) out += std::to_string((*it)->index);
    else append_escaped_token(out, (*it)->key);
  }
  return out;
}

// `sorted`: members in RFC 8785 order (canonical form), else in their own
// order (serialize).
void write(std::string& out, const bj::value& v, const path* at, bool sorted) {
  switch (v.kind()) {
    case bj::kind::null: out.append("null"); return;
    case bj::kind::bool_: out.append(v.get_bool() ? "true" : "false"); return;
    case bj::kind::int64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      out.append(buf, r.ptr);
      return;
    }
    case bj::kind::uint64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out.append(buf, r.ptr);
      return;
    }
    case bj::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        if (!sorted) {   // as JSON.stringify does
          out.append("null");
          return;
        }
        throw failure(error::at(errc::INVALID_REQUEST, pointer_of(at),
                                "a finite number (NaN and Infinity have no JSON form)"));
      }
      append_es_number(out, d);
      return;
    }
    case bj::kind::string: append_quoted(out, v.get_string()); return;
    case bj::kind::array: {
      const auto& arr = v.get_array();
      out.push_back('[');
      for (std::size_t i = 0; i < arr.size(); ++i) {
        if (i) out.push_back(',');
        const path here{at, {}, i, true};
        write(out, arr[i], &here, sorted);
      }
      out.push_back(']');
      return;
    }
    case bj::kind::object: {
      const auto& obj = v.get_object();
      if (!sorted) {
        out.push_back('{');
        bool first_member = true;
        for (const auto& kv : obj) {
          if (!first_member) out.push_back(',');
          first_member = false;
          append_quoted(out, kv.key());
          out.push_back(':');
          write(out, kv.value(), nullptr, false);
        }
        out.push_back('}');
        return;
      }
      // Sort pointers to the members, not the members; small objects (the
      // common case) need no heap for this.
      const bj::key_value_pair* small[16];
      std::vector<const bj::key_value_pair*> large;
      const bj::key_value_pair** first = small;
      if (obj.size() > std::size(small)) {
        large.resize(obj.size());
        first = large.data();
      }
      std::size_t n = 0;
      for (const auto& kv : obj) first[n++] = &kv;
      std::sort(first, first + n, [](const bj::key_value_pair* a, const bj::key_value_pair* b) {
        return utf16_less(a->key(), b->key());
      });
      out.push_back('{');
      for (std::size_t i = 0; i < n; ++i) {
        if (i) out.push_back(',');
        append_quoted(out, first[i]->key());
        out.push_back(':');
        const path here{at, first[i]->key(), 0, false};
        write(out, first[i]->value(), &here, true);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

void canonicalize_to(std::string& out, const bj::value& v) { write(out, v, nullptr, true); }

void serialize_to(std::string& out, const bj::value& v) { write(out, v, nullptr, false); }

std::string serialize(const bj::value& v) {
  std::string out;
  serialize_to(out, v);
  return out;
}

std::string canonicalize(const bj::value& v) {
  std::string out;
  canonicalize_to(out, v);
  return out;
}

namespace {

// RFC 8785 (and boost::json::serialize) escape exactly these bytes: control
// characters below 0x20, '"' and '\\'. Every other byte is copied as it is:
// printable ASCII, DEL, and every byte of a multi-byte UTF-8 sequence (all
// of them are >= 0x80, so no sequence can contain a byte that needs escaping
// and none has to be decoded).
struct escape_table {
  bool needed[256] = {};
  constexpr escape_table() {
    for (int c = 0; c < 0x20; ++c) needed[c] = true;
    needed[static_cast<unsigned char>('"')] = true;
    needed[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr escape_table escapes{};

#if defined(__SSE2__)
// Bit k is set if byte k of the 16 at p needs escaping: <= 0x1f (an unsigned
// compare, as min(v, 0x1f) == v), '"' or '\\'.
unsigned escape_mask16(const char* p) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
  const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, special)));
}
#endif

// The length of the leading run of p[0, n) that needs no escaping.
//
// Why this is fast: strings are almost entirely literal, so instead of
// testing and appending one character at a time, append_quoted asks for the
// whole literal run and appends it with one memcpy. With SSE2 (every x86-64
// CPU) 16 bytes are tested at once and the first set bit of the mask is the
// first byte to escape; a string's last partial block is tested as the 16
// bytes ending at its end (the overlap was already found literal, so the
// first hit in it is past the overlap). Strings shorter than 16 bytes, and
// every string on CPUs without SSE2, use a table lookup per byte.
std::size_t literal_run(const char* p, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (n >= 16) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16)
      if (const unsigned m = escape_mask16(p + i)) return i + static_cast<std::size_t>(std::countr_zero(m));
    if (i == n) return n;
    const unsigned m = escape_mask16(p + n - 16);
    return m ? n - 16 + static_cast<std::size_t>(std::countr_zero(m)) : n;
  }
#endif
  std::size_t i = 0;
  while (i < n && !escapes.needed[static_cast<unsigned char>(p[i])]) ++i;
  return i;
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  char e[6] = {'\\', 0, 0, 0, 0, 0};
  std::size_t len = 2;
  switch (c) {
    case '"': e[1] = '"'; break;
    case '\\': e[1] = '\\'; break;
    case '\b': e[1] = 'b'; break;
    case '\f': e[1] = 'f'; break;
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    default:  // the other control characters: \u00xx, lowercase hex
      e[1] = 'u';
      e[2] = '0';
      e[3] = '0';
      e[4] = hex[c >> 4];
      e[5] = hex[c & 0xF];
      len = 6;
  }
  out.append(e, len);
}

}  // namespace

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  const char* p = s.data();
  std::size_t n = s.size();
  for (;;) {
    const std::size_t run = literal_run(p, n);
    out.append(p, run);
    if (run == n) break;
    append_escape(out, static_cast<unsigned char>(p[run]));
    p += run + 1;
    n -= run + 1;
  }
  out.push_back('"');
}

}  // namespace tokenrail::json
