#include "engine/events.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

#include <boost/json/parse.hpp>

namespace tokenrail::engine_detail {

event_appender::event_appender(storage::write_transaction& tx, std::string_view session_id,
                               std::int64_t at, bool create)
    : tx_(tx), session_(session_id), at_(at) {
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
  boost::json::object ev;
  ev.reserve(6);
  ev["index"] = head_.next_index;
  ev["kind"] = kind;
  if (run) ev["runId"] = format_run_id(*run);
  if (node) ev["nodeId"] = *node;
  ev["data"] = std::move(data);
  ev["at"] = at_;
  scratch_.clear();
  std::string canonical = json::canonicalize(ev);
  hash32 h = blake2b_256().update(std::span<const std::uint8_t>(head_.last_hash)).update(canonical).final();
  scratch_.reserve(32 + canonical.size());
  scratch_.append(as_view(h));
  scratch_.append(canonical);
  tx_.put(storage::table::events, event_key(session_, head_.next_index), scratch_);
  head_.last_hash = h;
  ++head_.next_index;
}

void event_appender::finish() { tx_.put(storage::table::sessions, session_, encode_session(head_)); }

event decode_event(std::string_view stored) {
  if (stored.size() < 33) byte_reader::corrupt();
  event e;
  std::copy(stored.begin(), stored.begin() + 32, reinterpret_cast<char*>(e.hash.data()));
  e.canonical = std::string(stored.substr(32));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(e.canonical, ec);
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
