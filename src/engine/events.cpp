#include "engine/events.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

#include <charconv>
#include <cstring>

namespace tokenrail::engine_detail {

event_appender::event_appender(storage::write_transaction& tx, std::string_view session_id,
                               std::int64_t at, bool create)
    : tx_(tx), session_(session_id), at_(at) {
  // One allocation each instead of two or three growths per advance (an
  // advance appends four or five events, a few hundred bytes each).
  record_.reserve(1024);
  scratch_.reserve(512);
  if (auto v = tx_.get(storage::table::sessions, session_)) {
    head_ = decode_session(*v);
    return;
  }
  if (!create) {
    boost::json::object d;
    d["sessionId"] = session_;
    fail(errc::SESSION_NOT_FOUND, "no session has that id in this store", std::move(d));
  }
  head_.created_at = at;
  created_ = true;
  boost::json::object d;
  d["sessionId"] = session_;
  append(event_kind::session_created, std::nullopt, std::nullopt, std::move(d));
}

void event_appender::append(std::string_view kind, std::optional<std::uint64_t> run,
                            std::optional<std::uint32_t> node, boost::json::object data) {
  append_canonical(kind, run, node, json::canonicalize(data));
}

namespace {

void append_number(std::string& out, auto v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Kinds stored as one byte in the compact form; 0 = spelled out.
constexpr std::string_view kind_codes[] = {
    {},
    event_kind::session_created, event_kind::run_started, event_kind::node_created, event_kind::edge_created,
    event_kind::advance_recorded, event_kind::output_appended, event_kind::context_set,
    event_kind::checkpoint_recorded, event_kind::step_suspended, event_kind::step_completed,
    event_kind::run_completed, event_kind::run_cancelled, event_kind::key_rotated,
};

std::uint8_t kind_code(std::string_view kind) {
  for (std::size_t i = 1; i < std::size(kind_codes); ++i)
    if (kind_codes[i] == kind) return static_cast<std::uint8_t>(i);
  return 0;
}

constexpr std::uint8_t compact_v1 = 1;
constexpr std::uint8_t group_v1 = 2;   // a record of several events (events.hpp)

/// The canonical text of an event from its parts: the members in RFC 8785
/// order (at, data, index, kind, nodeId, runId: all ASCII, so byte order is
/// UTF-16 order), integers as to_chars prints them (as canonicalize does).
void canonical_event(std::string& out, std::int64_t at, std::string_view data, std::uint64_t index,
                     std::string_view kind, std::optional<std::uint32_t> node, std::optional<std::uint64_t> run) {
  out.append("{\"at\":");
  append_number(out, at);
  out.append(",\"data\":");
  out.append(data);
  out.append(",\"index\":");
  append_number(out, index);
  out.append(",\"kind\":\"");
  out.append(kind);
  out.push_back('"');
  if (node) {
    out.append(",\"nodeId\":");
    append_number(out, *node);
  }
  if (run) {
    // "run_" + 16 lowercase hex digits, written in place (format_run_id's
    // format, without its temporary string: four events per advance).
    static constexpr char hex[] = "0123456789abcdef";
    out.append(",\"runId\":\"run_");
    char digits[16];
    std::uint64_t v = *run;
    for (int i = 15; i >= 0; --i, v >>= 4) digits[i] = hex[v & 0xf];
    out.append(digits, 16);
    out.push_back('"');
  }
  out.push_back('}');
}

}  // namespace

// Writes the event without building a JSON object and canonicalizing it
// (an advance appends four or five events): the canonical text is composed
// from its parts and hashed, and what is stored is the compact form of
// events.hpp (binary header + the data's canonical text), which
// decode_event turns back into exactly the text that was hashed.
void event_appender::append_canonical(std::string_view kind, std::optional<std::uint64_t> run,
                                      std::optional<std::uint32_t> node, std::string_view canonical_data) {
  // scratch_ holds the canonical text until it is hashed, then the stored value.
  scratch_.clear();
  canonical_event(scratch_, at_, canonical_data, head_.next_index, kind, node, run);
  const hash32 h = blake2b_256().update(std::span<const std::uint8_t>(head_.last_hash)).update(scratch_).final();

  // The record: the group header first (completed by finish()), then this
  // event's stored value behind its length.
  if (count_ == 0) {
    first_index_ = head_.next_index;
    record_.clear();
    record_.append(32, '\0');   // the last event's hash, set by finish()
    record_.push_back(static_cast<char>(group_v1));
  }
  scratch_.clear();   // reused: no allocation per event
  scratch_.append(as_view(h));
  byte_writer w(scratch_);
  w.u8(compact_v1);
  w.svarint(at_);
  w.varint(head_.next_index);
  const std::uint8_t code = kind_code(kind);
  w.u8(code);
  if (code == 0) w.bytes(kind);
  w.u8(static_cast<std::uint8_t>((node ? 1 : 0) | (run ? 2 : 0)));
  if (node) w.varint(*node);
  if (run) put_be64(scratch_, *run);
  w.raw(canonical_data);
  byte_writer(record_).bytes(scratch_);
  if (count_ == 0) first_value_at_ = record_.size() - scratch_.size();
  ++count_;
  head_.last_hash = h;
  ++head_.next_index;
}

void event_appender::finish() {
  if (count_ == 1) {
    // A lone event is stored as its own value, as format 1 stored it.
    tx_.put(storage::table::events, event_key(session_, first_index_), std::string_view(record_).substr(first_value_at_));
  } else if (count_ > 1) {
    std::copy(head_.last_hash.begin(), head_.last_hash.end(), record_.begin());
    tx_.put(storage::table::events, event_key(session_, first_index_), record_);
  }
  count_ = 0;
  tx_.put(storage::table::sessions, session_, encode_session(head_));
}

void decode_events(std::string_view record, detail::function_ref<void(event&&)> visit) {
  decode_events_of(record, [](std::string_view) { return true; }, visit);
}

namespace {

/// The kind of a compact stored event, read from its header; nullopt for an
/// event stored as full canonical text (import_session), which the caller
/// must decode to know. Throws STORE_CORRUPT on a header that does not read.
std::optional<std::string_view> stored_kind(std::string_view stored) {
  if (stored.size() < 33) byte_reader::corrupt();
  const std::string_view body = stored.substr(32);
  if (static_cast<unsigned char>(body[0]) != compact_v1) return std::nullopt;
  byte_reader r(body);
  r.u8();
  r.svarint();   // at
  r.varint();    // index
  const std::uint8_t code = r.u8();
  if (code >= std::size(kind_codes)) byte_reader::corrupt();
  return code ? kind_codes[code] : r.bytes();
}

}  // namespace

void decode_events_of(std::string_view record, detail::function_ref<bool(std::string_view kind)> want,
                      detail::function_ref<void(event&&)> visit) {
  auto one = [&](std::string_view stored) {
    if (auto kind = stored_kind(stored); kind && !want(*kind)) return;
    event e = decode_event(stored);
    if (want(e.kind)) visit(std::move(e));
  };
  if (record.size() <= 32 || static_cast<unsigned char>(record[32]) != group_v1) return one(record);
  byte_reader r(record.substr(33));
  std::size_t n = 0;
  std::string_view last;
  while (!r.done()) {
    last = r.bytes();
    ++n;
    one(last);
  }
  // A group holds two events or more, and begins with the last one's hash.
  if (n < 2 || last.size() < 32 || last.substr(0, 32) != record.substr(0, 32)) byte_reader::corrupt();
}

event decode_event(std::string_view stored) {
  if (stored.size() < 33) byte_reader::corrupt();
  event e;
  std::copy(stored.begin(), stored.begin() + 32, reinterpret_cast<char*>(e.hash.data()));
  const std::string_view body = stored.substr(32);
  if (static_cast<unsigned char>(body[0]) == compact_v1) {
    // Compact form (event_appender): rebuild the canonical text.
    byte_reader r(body);
    r.u8();
    const std::int64_t at = r.svarint();
    const std::uint64_t index = r.varint();
    const std::uint8_t code = r.u8();
    if (code >= std::size(kind_codes)) byte_reader::corrupt();
    const std::string_view kind = code ? kind_codes[code] : r.bytes();
    const std::uint8_t flags = r.u8();
    if (flags > 3) byte_reader::corrupt();
    std::optional<std::uint32_t> node;
    std::optional<std::uint64_t> run;
    if (flags & 1) node = r.varint32();
    if (flags & 2) run = get_be64(r.raw(8).data());
    canonical_event(e.canonical, at, r.rest(), index, kind, node, run);
  } else {
    // Full canonical text (events written by import_session).
    e.canonical = std::string(body);
  }
  boost::system::error_code ec;
  boost::json::value v = parse_json_text(e.canonical, ec);
  if (ec || !v.is_object()) byte_reader::corrupt();
  auto& o = v.as_object();
  auto* index = o.if_contains("index");
  auto* kind = o.if_contains("kind");
  auto* data = o.if_contains("data");
  auto* at = o.if_contains("at");
  if (!index || !kind || !data || !at || !kind->is_string() || !data->is_object()) byte_reader::corrupt();
  auto idx = index->to_number<std::uint64_t>(ec);
  if (ec) byte_reader::corrupt();
  e.index = idx;
  e.kind = std::string(kind->as_string());
  e.at = at->to_number<std::int64_t>(ec);
  if (ec) byte_reader::corrupt();
  if (auto* r = o.if_contains("runId")) {
    if (!r->is_string()) byte_reader::corrupt();
    auto id = parse_run_id(r->as_string());
    if (!id) byte_reader::corrupt();
    e.run = *id;
  }
  if (auto* n = o.if_contains("nodeId")) {
    e.node = n->to_number<std::uint32_t>(ec);
    if (ec) byte_reader::corrupt();
  }
  e.data = std::move(data->as_object());
  return e;
}

void merge_context(boost::json::object& into, const boost::json::object& delta) {
  for (const auto& kv : delta) {
    if (kv.value().is_null()) into.erase(kv.key());
    else into[kv.key()] = kv.value();
  }
}

}  // namespace tokenrail::engine_detail
