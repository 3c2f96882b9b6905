#include "engine/records.hpp"

#include <algorithm>
#include <charconv>

namespace tokenrail::engine_detail {

std::string run_spec_key(std::uint64_t run) {
  std::string k;
  put_be64(k, run);
  k.push_back('\0');
  return k;
}

std::string run_status_key(std::uint64_t run) {
  std::string k;
  put_be64(k, run);
  k.push_back('\1');
  return k;
}

namespace {

// A stored step id goes into responses as it is: damaged bytes (invalid
// UTF-8) would make them invalid JSON. Workflow step ids are letters,
// digits and . _ - : (workflow/definition.cpp), at most 256 characters.
std::string_view step_id_of(std::string_view bytes) {
  if (bytes.size() > 256 || !std::all_of(bytes.begin(), bytes.end(), [](char c) { return c >= 0x21 && c <= 0x7e; }))
    byte_reader::corrupt();
  return bytes;
}

}  // namespace

std::string run_tip_prefix(std::uint64_t run) {
  std::string k;
  k.reserve(13);
  put_be64(k, run);
  k.push_back('\2');
  return k;
}

std::string run_tip_key(std::uint64_t run, std::uint32_t seq) {
  std::string k = run_tip_prefix(run);
  put_be32(k, seq);
  return k;
}

std::string node_key(std::uint64_t run, std::uint32_t seq) {
  std::string k;
  k.reserve(12);
  put_be64(k, run);
  put_be32(k, seq);
  return k;
}

std::string node_prefix(std::uint64_t run) {
  std::string k;
  put_be64(k, run);
  return k;
}

std::string ack_key(std::uint64_t run, std::uint32_t seq, std::uint32_t attempt) {
  std::string k;
  k.reserve(16);
  put_be64(k, run);
  put_be32(k, seq);
  put_be32(k, attempt);
  return k;
}

std::string ack_prefix(std::uint64_t run) { return node_prefix(run); }

std::string event_prefix(std::string_view session) {
  std::string k(session);
  k.push_back('\0');
  return k;
}

std::string event_key(std::string_view session, std::uint64_t index) {
  std::string k;
  k.reserve(session.size() + 9);   // one allocation: event_prefix(session) ‖ index
  k.append(session).push_back('\0');
  put_be64(k, index);
  return k;
}

std::string session_run_index_prefix(std::string_view session) {
  std::string k("s");
  k.append(session);
  k.push_back('\0');
  return k;
}

std::string session_run_index_key(std::string_view session, std::uint64_t run) {
  std::string k = session_run_index_prefix(session);
  put_be64(k, run);
  return k;
}

std::string checkpoint_index_key(std::uint64_t run, std::uint32_t seq, std::string_view digest16) {
  std::string k("c");
  put_be64(k, run);
  put_be32(k, seq);
  k.append(digest16);
  return k;
}

std::string idempotency_index_key(std::string_view key) {
  std::string k("i");
  k.append(key);
  return k;
}

std::string format_run_id(std::uint64_t run) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s = "run_";
  s.resize(20);
  for (int i = 19; i >= 4; --i) {
    s[i] = hex[run & 0xf];
    run >>= 4;
  }
  return s;
}

std::optional<std::uint64_t> parse_run_id(std::string_view text) {
  if (text.size() != 20 || text.substr(0, 4) != "run_") return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text.substr(4)) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

std::string format_node_id(std::uint64_t run, std::uint32_t seq) {
  std::string s = format_run_id(run);
  s.push_back('/');
  char buf[16];
  auto r = std::to_chars(buf, buf + sizeof buf, seq);
  s.append(buf, r.ptr);
  return s;
}

bool valid_session_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

std::string_view phase_name(run_phase p) {
  switch (p) {
    case run_phase::running: return "Running";
    case run_phase::waiting: return "Waiting";
    case run_phase::completed: return "Completed";
    case run_phase::cancelled: return "Cancelled";
    case run_phase::failed: return "Failed";
  }
  return "Running";
}

// Node layout: u8 version(1) | u8 flags (bit0 complete, bit1 owns context) |
// varint parent+1 (0 = root) | varint from_attempt | svarint created_at |
// [varint context_owner when not own] | bytes step_id | bytes cursor | [bytes context]
std::string encode_node(const node_record& n, std::uint32_t own_seq) {
  std::string out;
  out.reserve(16 + n.step_id.size() + n.cursor.size() + n.context.size());
  byte_writer w(out);
  const bool owns = n.context_owner == own_seq;
  w.u8(1);
  w.u8(static_cast<std::uint8_t>((n.complete ? 1 : 0) | (owns ? 2 : 0)));
  w.varint(n.parent == no_node ? 0 : std::uint64_t(n.parent) + 1);
  w.varint(n.from_attempt);
  w.svarint(n.created_at);
  if (!owns) w.varint(n.context_owner);
  w.bytes(n.step_id);
  w.bytes(n.cursor);
  if (owns) w.bytes(n.context);
  return out;
}

node_record decode_node(std::string_view bytes, std::uint32_t own_seq) {
  byte_reader r(bytes);
  if (r.u8() != 1) byte_reader::corrupt();
  node_record n;
  std::uint8_t flags = r.u8();
  n.complete = flags & 1;
  std::uint64_t p = r.varint();
  n.parent = p == 0 ? no_node : static_cast<std::uint32_t>(p - 1);
  n.from_attempt = r.varint32();
  n.created_at = r.svarint();
  n.context_owner = (flags & 2) ? own_seq : r.varint32();
  n.step_id = step_id_of(r.bytes());
  n.cursor = r.bytes();
  if (flags & 2) n.context = r.bytes();
  if ((flags & ~3) || !r.done()) byte_reader::corrupt();
  return n;
}

std::string_view node_context_view(std::string_view bytes) {
  byte_reader r(bytes);
  if (r.u8() != 1) byte_reader::corrupt();
  const std::uint8_t flags = r.u8();
  if (!(flags & 2)) return {};
  r.varint();    // parent
  r.varint32();  // from_attempt
  r.svarint();   // created_at
  r.bytes();     // step_id
  r.bytes();     // cursor
  return r.bytes();
}

std::string encode_ack(std::string_view digest32, std::uint32_t child, std::string_view response) {
  std::string out;
  out.reserve(40 + response.size());
  byte_writer w(out);
  w.raw(digest32);
  w.varint(child);
  w.raw(response);
  return out;
}

ack_view decode_ack(std::string_view bytes) {
  byte_reader r(bytes);
  ack_view a;
  a.digest = r.raw(32);
  a.child = r.varint32();
  a.response = r.rest();
  return a;
}

// Status layout (version 2): u8 version | u8 phase | varint node_count |
// varint preferred_tip | svarint last_activity | u8 has_completed [svarint] |
// bytes pending | bytes output | bytes error [| bytes async].
// Version 1 (stores of format 1 and 2) had, after node_count, varint tips
// count and the tips delta-coded ascending: every leaf, so a run forked
// 10,000 times rewrote 10,000 of them with each advance.
std::string encode_status(const run_status& s) {
  std::string out;
  out.reserve(24 + s.pending_step_id.size() + s.output.size() + s.error.size() + s.async.size());
  byte_writer w(out);
  w.u8(2);
  w.u8(static_cast<std::uint8_t>(s.phase));
  w.varint(s.node_count);
  w.varint(s.preferred_tip);
  w.svarint(s.last_activity);
  w.u8(s.completed_at ? 1 : 0);
  if (s.completed_at) w.svarint(*s.completed_at);
  w.bytes(s.pending_step_id);
  w.bytes(s.output);
  w.bytes(s.error);
  if (!s.async.empty()) w.bytes(s.async);   // D8 extension (issue 5): optional trailer
  return out;
}

run_status decode_status(std::string_view bytes) {
  byte_reader r(bytes);
  const std::uint8_t version = r.u8();
  if (version != 1 && version != 2) byte_reader::corrupt();
  run_status s;
  std::uint8_t ph = r.u8();
  if (ph > 4) byte_reader::corrupt();
  s.phase = static_cast<run_phase>(ph);
  s.node_count = r.varint32();
  std::vector<std::uint32_t> tips;
  if (version == 1) {
    std::uint64_t n = r.varint();
    if (n > bytes.size()) byte_reader::corrupt();
    tips.reserve(n);
    std::uint32_t prev = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      prev += r.varint32();
      tips.push_back(prev);
    }
  }
  s.preferred_tip = r.varint32();
  if (version == 1) {
    std::erase(tips, s.preferred_tip);   // the newest node is a leaf by definition
    s.legacy_tips = std::move(tips);
  }
  s.last_activity = r.svarint();
  if (r.u8()) s.completed_at = r.svarint();
  s.pending_step_id = step_id_of(r.bytes());
  s.output = r.bytes();
  s.error = r.bytes();
  if (!r.done()) s.async = r.bytes();   // D8 extension (issue 5): optional trailer
  if (!r.done()) byte_reader::corrupt();
  return s;
}

run_phase status_phase(std::string_view bytes) {
  if (bytes.size() < 2 || (bytes[0] != 1 && bytes[0] != 2) || static_cast<unsigned char>(bytes[1]) > 4)
    byte_reader::corrupt();
  return static_cast<run_phase>(bytes[1]);
}

tips_change status_on_node_created(run_status& s, std::uint32_t parent, std::uint32_t child, bool complete,
                                   std::int64_t at, std::string_view step_id, std::string_view output_json) {
  tips_change tips;
  if (s.node_count != 0 && parent != no_node && parent != s.preferred_tip) tips = {s.preferred_tip, parent};
  s.node_count = std::max(s.node_count, child + 1);
  // The newest node is always a leaf and the one with the latest activity.
  s.preferred_tip = child;
  s.last_activity = at;
  if (s.phase == run_phase::cancelled || s.phase == run_phase::failed) return tips;
  if (complete) {
    s.phase = run_phase::completed;
    s.completed_at = at;
    s.pending_step_id.clear();
    s.output = std::string(output_json);
  } else {
    s.phase = run_phase::running;
    s.completed_at.reset();
    s.pending_step_id = std::string(step_id);
    s.output.clear();
  }
  return tips;
}

std::string encode_session(const session_head& h) {
  std::string out;
  byte_writer w(out);
  w.u8(1);
  w.svarint(h.created_at);
  w.varint(h.next_index);
  w.raw(std::string_view(reinterpret_cast<const char*>(h.last_hash.data()), 32));
  return out;
}

session_head decode_session(std::string_view bytes) {
  byte_reader r(bytes);
  if (r.u8() != 1) byte_reader::corrupt();
  session_head h;
  h.created_at = r.svarint();
  h.next_index = r.varint();
  auto hash = r.raw(32);
  std::copy(hash.begin(), hash.end(), reinterpret_cast<char*>(h.last_hash.data()));
  if (!r.done()) byte_reader::corrupt();
  return h;
}

}  // namespace tokenrail::engine_detail
