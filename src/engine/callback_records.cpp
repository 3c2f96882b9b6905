// Callback records (D8; model in callbacks.hpp): their keys, their I/O, and
// the reads of a run's spec that the other callback_* files share. Separate
// so each of those holds one behaviour, not storage.
#include "engine/callback_detail.hpp"

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

#include <algorithm>

namespace tokenrail::engine_detail {

namespace json = boost::json;

std::string_view str_of(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return v->get_string();
  return {};
}

// ---- keys -------------------------------------------------------------------

// 'r' run:8 seq:4 attempt:4; each prefix is the key cut short.
std::string callback_key(std::uint64_t run, std::uint32_t seq, std::uint32_t attempt) {
  std::string k = callback_node_prefix(run, seq);
  put_be32(k, attempt);
  return k;
}

std::string callback_node_prefix(std::uint64_t run, std::uint32_t seq) {
  std::string k = callback_run_prefix(run);
  put_be32(k, seq);
  return k;
}

std::string delegation_callbacks_prefix(std::uint64_t run, std::uint32_t seq) {
  static_assert((delegation_attempt_base & 0xffffu) == 0 && max_delegations <= 0x10000,
                "delegation attempts must share the top 16 bits of delegation_attempt_base");
  std::string k = callback_node_prefix(run, seq);
  k.push_back(static_cast<char>(delegation_attempt_base >> 24));
  k.push_back(static_cast<char>((delegation_attempt_base >> 16) & 0xff));
  return k;
}

std::string callback_run_prefix(std::uint64_t run) {
  std::string k("r");
  put_be64(k, run);
  return k;
}

std::string child_link_key(std::uint64_t parent, std::uint64_t child) {
  std::string k("c");
  put_be64(k, parent);
  put_be64(k, child);
  return k;
}

std::string child_link_prefix(std::uint64_t parent) {
  std::string k("c");
  put_be64(k, parent);
  return k;
}

std::string callback_expiry_key(std::int64_t expires_at, const token::payload& cb) {
  std::string k("t");
  put_be64(k, static_cast<std::uint64_t>(std::max<std::int64_t>(expires_at, 0)));
  put_be64(k, cb.run_id);
  put_be32(k, cb.node_seq);
  put_be32(k, cb.attempt);
  return k;
}

bool parse_expiry_key(std::string_view key, std::int64_t& expires_at, token::payload& cb) {
  if (key.size() != 1 + 8 + 8 + 4 + 4 || key[0] != 't') return false;
  expires_at = static_cast<std::int64_t>(get_be64(key.data() + 1));
  cb = {get_be64(key.data() + 9), get_be32(key.data() + 17), get_be32(key.data() + 21)};
  return true;
}

std::string cancel_record_key(std::uint64_t run) {
  std::string k("x");
  put_be64(k, run);
  return k;
}

json::object parse_object(std::string_view text, const char* what) {
  auto v = parse_stored_json(text, what);
  if (!v.is_object()) fail(errc::STORE_CORRUPT, std::string(what) + " does not parse");
  return std::move(v.as_object());
}

std::optional<json::object> load_record(storage::read_transaction& tx, const token::payload& cb) {
  auto v = tx.get(storage::table::callbacks, callback_key(cb.run_id, cb.node_seq, cb.attempt));
  if (!v) return std::nullopt;
  return parse_object(*v, "a callback record");
}

void save_record(storage::write_transaction& tx, const token::payload& cb, const json::object& rec) {
  tx.put(storage::table::callbacks, callback_key(cb.run_id, cb.node_seq, cb.attempt), tokenrail::json::serialize(rec));
}

// ---- a run's spec (its status: status_store.hpp) ------------------------------

json::object read_spec(storage::read_transaction& tx, std::uint64_t run) {
  auto v = tx.get(storage::table::runs, run_spec_key(run));
  if (!v) fail(errc::RUN_NOT_FOUND, "no run has that id in this store", json::object{{"runId", format_run_id(run)}});
  auto doc = parse_object(*v, "a run record");
  if (auto* s = doc.if_contains("spec"); s && s->is_object()) return s->as_object();
  fail(errc::STORE_CORRUPT, "a run record lacks its spec");
}

json::object ext_of(const run_status& s) {
  if (s.async.empty()) return {};
  return parse_object(s.async, "a run's async status");
}

/// Appends one async event to the run's session and applies it to the
/// run's status (read and written through tx), in one step.
void record_async_event(storage::write_transaction& tx, const run_info& run, std::string_view kind,
                        std::uint32_t node, json::object data, std::int64_t now) {
  run_status s = read_status(tx, run.run_id);
  status_on_async_event(s, kind, node, data, now);
  write_status(tx, run.run_id, s);
  event_appender log(tx, run.session_id, now);
  log.append(kind, run.run_id, node, std::move(data));
  log.finish();
}

json::object correlation_of(const json::object& spec) {
  if (auto* c = spec.if_contains("correlation"); c && c->is_object()) return c->as_object();
  return {};
}

// ---- refusing a resolved callback ----------------------------------------------

[[noreturn]] void refuse_resolved(const json::object& rec, std::string_view pointer) {
  json::object d;
  d["pointer"] = pointer;
  d["resolution"] = rec.at("state");
  if (auto* s = rec.if_contains("resultStatus")) d["resultStatus"] = *s;
  if (auto* r = rec.if_contains("response"); r && r->is_string()) {
    boost::system::error_code ec;
    auto parsed = parse_json_text(r->get_string(), ec);
    d["recordedResponse"] = ec ? json::value(*r) : std::move(parsed);
  }
  if (str_of(rec, "state") == "cancelled")
    fail(errc::RUN_CANCELLED, "the run was cancelled; its callback was resolved as cancelled", std::move(d));
  fail(errc::CALLBACK_ALREADY_RESOLVED,
       "the callback was already resolved (" + std::string(str_of(rec, "state")) + ")", std::move(d));
}

}  // namespace tokenrail::engine_detail
