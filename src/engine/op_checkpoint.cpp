// checkpoint_workflow (D6): records notes/artifacts on a node without
// advancing. Idempotent per (node, content): the first response is stored
// under a digest of the content and returned again for the same content.
#include "engine/context.hpp"
#include "engine/status_store.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

std::string op_checkpoint_workflow(engine::impl& e, const boost::json::object& req) {
  std::optional<token::payload> st, ck;
  if (req.contains("stateToken")) st = verify_token(e, token::kind::state, req, "stateToken");
  if (req.contains("checkpointToken")) ck = verify_token(e, token::kind::checkpoint, req, "checkpointToken");
  if (st && ck && (st->run_id != ck->run_id || st->node_seq != ck->node_seq)) {
    boost::json::object d;
    d["pointer"] = "/checkpointToken";
    fail(errc::TOKEN_SCOPE_MISMATCH, "the stateToken and checkpointToken name different nodes", std::move(d));
  }
  const token::payload at = st ? *st : *ck;
  const auto& notes = req.at("notesMarkdown").as_string();
  if (notes.size() > e.limits.max_notes_bytes)
    throw failure(error::at(errc::PAYLOAD_TOO_LARGE, "/notesMarkdown",
                            "at most " + std::to_string(e.limits.max_notes_bytes) + " bytes of notes"));
  boost::json::object content;
  content["notesMarkdown"] = notes;
  if (auto* a = member(req, "artifacts")) content["artifacts"] = *a;
  const hash32 digest = blake2b(json::canonicalize(content));
  const std::string key = checkpoint_index_key(at.run_id, at.node_seq, as_view(digest).substr(0, 16));

  std::optional<std::string> answer;
  std::shared_ptr<const run_info> info;
  e.store->read([&](storage::read_transaction& tx) {
    if (auto v = tx.get(storage::table::indexes, key)) {
      answer = recorded_response(*v);
      return;
    }
    info = e.run(tx, at.run_id);
    if (!tx.get(storage::table::nodes, node_key(at.run_id, at.node_seq))) (void)load_node(tx, at.run_id, at.node_seq);
  });
  if (answer) return std::move(*answer);

  const std::int64_t now = e.now();
  std::string response;
  e.store->write([&](storage::write_transaction& tx) {
    if (auto v = tx.get(storage::table::indexes, key)) {
      response = recorded_response(*v);
      return;
    }
    auto sv = tx.get(storage::table::runs, run_status_key(at.run_id));
    if (!sv) fail_missing_status(tx, at.run_id);
    run_status status = decode_status(*sv);
    status.last_activity = now;
    write_status(tx, at.run_id, status);
    event_appender log(tx, info->session_id, now);
    log.append(event_kind::checkpoint_recorded, at.run_id, at.node_seq, content);
    log.finish();

    auto codec = e.codec();
    boost::json::object r;
    boost::json::object cp;
    cp["runId"] = format_run_id(at.run_id);
    cp["nodeId"] = format_node_id(at.run_id, at.node_seq);
    cp["digest"] = to_hex(as_view(digest).substr(0, 16));
    cp["at"] = format_time(now);
    r["checkpoint"] = std::move(cp);
    r["stateToken"] = codec->mint(token::kind::state, {at.run_id, at.node_seq, 0});
    r["checkpointToken"] = codec->mint(token::kind::checkpoint, {at.run_id, at.node_seq, 0});
    boost::json::object session;
    session["sessionId"] = info->session_id;
    session["runId"] = format_run_id(at.run_id);
    r["session"] = std::move(session);
    response = tokenrail::json::serialize(r);
    tx.put(storage::table::indexes, key, response);
  });
  return response;
}

}  // namespace tokenrail::engine_detail
