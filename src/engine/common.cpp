// Helpers shared by the operation handlers: caches, token checks, node
// loading, and the step response of D6.
#include "engine/context.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <sodium.h>

#include <cstdio>
#include <ctime>
#include <mutex>

namespace tokenrail {

using namespace engine_detail;

std::shared_ptr<const workflow::compiled> engine::impl::pinned(storage::read_transaction& tx,
                                                               const std::string& hash,
                                                               std::string_view workflow_id) {
  {
    std::shared_lock lock(cache_mutex_);
    if (auto it = programs_.find(hash); it != programs_.end()) return it->second;
  }
  std::shared_ptr<const workflow::compiled> wf;
  if (auto lib = library.find(workflow_id); lib && lib->workflow_hash == hash) {
    wf = lib;
  } else {
    auto def = tx.get(storage::table::workflows, hash);
    if (!def) {
      boost::json::object d;
      d["workflowHash"] = hash;
      fail(errc::PINNED_WORKFLOW_MISSING, "the run's pinned definition is not in the store", std::move(d));
    }
    boost::system::error_code ec;
    auto v = parse_json_text(*def, ec);
    if (ec) fail(errc::STORE_CORRUPT, "a pinned workflow definition does not parse");
    auto c = workflow::compile(v);
    if (!c) throw failure(std::move(c).error());
    if ((*c)->workflow_hash != hash) fail(errc::STORE_CORRUPT, "a pinned workflow does not match its hash");
    wf = std::move(*c);
  }
  std::unique_lock lock(cache_mutex_);
  programs_.emplace(hash, wf);
  return wf;
}

std::shared_ptr<const run_info> engine::impl::run(storage::read_transaction& tx, std::uint64_t run_id) {
  {
    std::shared_lock lock(cache_mutex_);
    if (auto it = runs_.find(run_id); it != runs_.end()) return it->second;
  }
  auto doc_text = tx.get(storage::table::runs, run_spec_key(run_id));
  if (!doc_text) {
    boost::json::object d;
    d["runId"] = format_run_id(run_id);
    fail(errc::RUN_NOT_FOUND, "no run has that id in this store", std::move(d));
  }
  boost::system::error_code ec;
  auto doc = parse_json_text(*doc_text, ec);
  if (ec || !doc.is_object()) fail(errc::STORE_CORRUPT, "a run record does not parse");
  auto info = std::make_shared<run_info>();
  info->run_id = run_id;
  try {
    const auto& md = doc.at("metadata").as_object();
    const auto& spec = doc.at("spec").as_object();
    info->session_id = std::string(md.at("sessionId").as_string());
    info->workflow_id = std::string(spec.at("workflowId").as_string());
    info->workflow_hash = std::string(spec.at("workflowHash").as_string());
  } catch (const std::exception&) {
    fail(errc::STORE_CORRUPT, "a run record lacks its spec");
  }
  info->wf = pinned(tx, info->workflow_hash, info->workflow_id);
  std::shared_ptr<const run_info> out = info;
  remember(out);
  return out;
}

void engine::impl::remember(std::shared_ptr<const run_info> info) {
  std::unique_lock lock(cache_mutex_);
  // A bound on memory for long-lived hosts with very many runs: dropping the
  // cache only costs a re-read of the spec.
  if (runs_.size() >= 100000) runs_.clear();
  runs_.emplace(info->run_id, std::move(info));
}

namespace engine_detail {

result<token::payload> verify_adopting_keys(engine::impl& e, token::kind k, std::string_view text,
                                            std::string_view field) {
  const auto codec = e.codec();
  auto p = codec->verify(k, text, field);
  if (p || p.error().code != errc::TOKEN_UNKNOWN_KEY) return p;
  // A key this engine has never seen may come from a rotation in another
  // engine or process sharing the keyring file: adopt it and try again.
  // Again whenever the codec changed, not only when this call changed it:
  // another thread may have adopted the key between the first try and the
  // refresh, which then finds nothing new.
  refresh_keyring(e);
  if (const auto now = e.codec(); now != codec) p = now->verify(k, text, field);
  return p;
}

token::payload verify_token(engine::impl& e, token::kind k, const boost::json::object& req,
                            std::string_view field) {
  const auto& text = req.at(field).as_string();
  auto p = verify_adopting_keys(e, k, std::string_view(text.data(), text.size()), field);
  if (!p) {
    error err = std::move(p).error();
    if (err.details.is_null()) err.details = boost::json::object();
    if (err.details.is_object() && !err.details.as_object().contains("pointer")) {
      // Built by appending: g++ 12 -O3 warns (-Werror=restrict, a false
      // positive) on "/" + std::string(field).
      std::string pointer = "/";
      pointer.append(field);
      err.details.as_object()["pointer"] = pointer;
    }
    throw failure(std::move(err));
  }
  return *p;
}

token::payload verify_ack_for(engine::impl& e, const token::payload& st, const boost::json::object& req) {
  token::payload ak = verify_token(e, token::kind::ack, req, "ackToken");
  if (ak.run_id != st.run_id || ak.node_seq != st.node_seq) {
    boost::json::object d;
    d["pointer"] = "/ackToken";
    d["stateTokenNode"] = format_node_id(st.run_id, st.node_seq);
    d["ackTokenNode"] = format_node_id(ak.run_id, ak.node_seq);
    fail(errc::TOKEN_SCOPE_MISMATCH, "the ackToken belongs to another run or node than the stateToken", std::move(d));
  }
  return ak;
}

void fail_workflow_not_found(const engine::impl& e, std::string_view id, std::string_view pointer,
                             std::string message) {
  boost::json::object d;
  d["workflowId"] = id;
  d["pointer"] = pointer;
  if (const auto* p = e.library.problem_for(id)) {
    // Not "no such workflow" when there is one on disk: say which file and
    // what is wrong with it, so the author can fix it.
    message += "; the file declaring it was left out when the workflows loaded: " + p->err.message;
    d["file"] = p->file;
    d["cause"] = p->err.to_json().at("error");
  }
  fail(errc::WORKFLOW_NOT_FOUND, std::move(message), std::move(d));
}

void fail_missing_status(storage::read_transaction& tx, std::uint64_t run_id) {
  boost::json::object d;
  d["runId"] = format_run_id(run_id);
  if (!tx.get(storage::table::runs, run_spec_key(run_id)))
    fail(errc::RUN_NOT_FOUND, "the run is not in this store (it may have been deleted)", std::move(d));
  fail(errc::STORE_CORRUPT, "a run has no status record", std::move(d));
}

boost::json::value parse_stored_json(std::string_view text, const char* what, boost::json::storage_ptr sp) {
  boost::system::error_code ec;
  auto v = parse_json_text(text, ec, std::move(sp));
  if (ec) fail(errc::STORE_CORRUPT, std::string(what) + " does not parse");
  return v;
}

std::string recorded_response(std::string_view text) {
  // Checked without building a value: a replay stays a copy of the text.
  if (!is_json_text(text)) fail(errc::STORE_CORRUPT, "a recorded response does not parse");
  return std::string(text);
}

loaded_node load_node(storage::read_transaction& tx, std::uint64_t run, std::uint32_t seq,
                      boost::json::storage_ptr storage) {
  auto v = tx.get(storage::table::nodes, node_key(run, seq));
  if (!v) {
    // The whole run may be gone (deleted): say so rather than "no node".
    if (!tx.get(storage::table::runs, run_spec_key(run))) fail_missing_status(tx, run);
    boost::json::object d;
    d["nodeId"] = format_node_id(run, seq);
    fail(errc::NODE_NOT_FOUND, "the token names a node that is not in this store", std::move(d));
  }
  loaded_node n{decode_node(*v, seq), boost::json::object(storage)};
  std::string_view ctx_text = n.rec.context;
  if (n.rec.context_owner != seq) {
    auto ov = tx.get(storage::table::nodes, node_key(run, n.rec.context_owner));
    if (!ov) fail(errc::STORE_CORRUPT, "a node's context owner is missing");
    ctx_text = node_context_view(*ov);  // valid until the transaction ends
  }
  if (!ctx_text.empty()) {
    boost::system::error_code ec;
    auto c = parse_json_text(ctx_text, ec, storage);
    if (ec || !c.is_object()) fail(errc::STORE_CORRUPT, "a node's context does not parse");
    n.context = std::move(c.as_object());   // the same storage: moved, not copied
  }
  return n;
}

workflow::cursor parse_cursor(std::string_view text) {
  if (auto c = workflow::cursor::parse_compact(text)) return std::move(*c);
  // The parsed value only lives while from_json reads it: its nodes come
  // from a stack buffer instead of one heap allocation each (every advance
  // parses its parent's cursor).
  unsigned char buf[2048];
  boost::json::monotonic_resource mr(buf, sizeof buf);
  boost::system::error_code ec;
  auto v = parse_json_text(text, ec, &mr);
  if (ec) fail(errc::STORE_CORRUPT, "a node's cursor does not parse");
  auto c = workflow::cursor::from_json(v);
  if (!c) throw failure(std::move(c).error());
  return std::move(*c);
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  while (v == 0) randombytes_buf(&v, sizeof v);
  return v;
}

std::uint32_t random_nonzero_u32() {
  std::uint32_t v = 0;
  while (v == 0) v = randombytes_random();
  return v;
}

std::string format_time(std::int64_t ms) {
  std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - secs * 1000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

namespace {

boost::json::array warnings_json(const std::vector<workflow::warning>& ws) {
  boost::json::array a;
  for (const auto& w : ws) {
    boost::json::object o;
    o["pointer"] = w.pointer;
    o["message"] = w.message;
    a.push_back(std::move(o));
  }
  return a;
}

}  // namespace


// Writes the pending object's text directly from the rendered step, without
// building a JSON object first (which copied every string) and serializing
// it afterwards. The members and their order are those the object had: the
// fields D6 names, then the step extras (loop position, outputContract,
// askForFiles...) that help the agent do the step, except a name already
// written; strings by json::append_quoted, other values by
// json::serialize_to: the same bytes serializing the object gives.
rendered_step render_step(const run_info& run, const workflow::cursor& at, const boost::json::object& context,
                          std::vector<workflow::warning>& warnings) {
  // The extras (loop positions, and the step's own) are JSON that only
  // lives until it is written below: built in a stack arena instead of one
  // heap block per object, array and string (about ten per advance in a loop).
  unsigned char arena[1024];
  boost::json::monotonic_resource scratch(arena, sizeof arena);
  auto p = workflow::render(*run.wf->prog, at, context, warnings, &scratch);
  auto str = json::append_quoted;
  std::string out;
  // Room for the member names, the step id and a loop position or two, so
  // the text is allocated once, not grown.
  out.reserve(256 + p.title.size() + p.prompt.size());
  out.append("{\"stepId\":");
  str(out, p.step_id);
  out.append(",\"title\":");
  str(out, p.title);
  out.append(",\"prompt\":");
  str(out, p.prompt);
  if (p.agent_role) {
    out.append(",\"agentRole\":");
    str(out, *p.agent_role);
  }
  if (!p.guidance.empty()) {
    out.append(",\"guidance\":[");
    for (std::size_t i = 0; i < p.guidance.size(); ++i) {
      if (i) out.push_back(',');
      str(out, p.guidance[i]);
    }
    out.push_back(']');
  }
  out.append(p.require_confirmation ? ",\"requireConfirmation\":true" : ",\"requireConfirmation\":false");
  if (p.extras.is_object()) {
    for (const auto& kv : p.extras.as_object()) {
      const std::string_view k = kv.key();
      if (k == "stepId" || k == "title" || k == "prompt" || k == "requireConfirmation" ||
          (k == "agentRole" && p.agent_role) || (k == "guidance" && !p.guidance.empty()))
        continue;
      out.push_back(',');
      str(out, k);
      out.push_back(':');
      json::serialize_to(out, kv.value());   // straight into the response text
    }
  }
  out.push_back('}');
  rendered_step r;
  r.intent = p.require_confirmation ? "await_user_confirmation" : "perform_pending_then_continue";
  r.pending_json = std::move(out);
  return r;
}

// The response text is written directly, member by member, instead of
// building a JSON object (which copied the rendered step and allocated every
// member) and serializing it. The bytes are exactly what serializing that
// object gave: the same members in the same order, strings that may need
// escaping written by json::append_quoted (boost's escaping), the rest (tokens,
// fixed words, run ids, "sha256:<hex>") plain ASCII that JSON never escapes.
std::string step_response(engine::impl& e, step_response_in in) {
  auto codec = e.codec();
  const run_info& run = *in.run;
  auto str = json::append_quoted;
  auto ascii = [](std::string& out, std::string_view s) { out.append("\"").append(s).push_back('"'); };
  std::string out;
  out.reserve(768);
  out.push_back('{');
  if (!in.kind.empty()) {
    out.append("\"kind\":");
    str(out, in.kind);
    out.push_back(',');
  }
  // Tokens are minted straight into the response (base64url: no escaping).
  out.append("\"stateToken\":\"");
  codec->mint_to(token::kind::state, {run.run_id, in.seq, 0}, out);
  if (!in.complete) {
    out.append("\",\"ackToken\":\"");
    codec->mint_to(token::kind::ack, {run.run_id, in.seq, in.attempt}, out);
  }
  out.append("\",\"checkpointToken\":\"");
  codec->mint_to(token::kind::checkpoint, {run.run_id, in.seq, 0}, out);
  out.push_back('"');
  std::string_view intent = "complete";
  out.append(",\"pending\":");
  if (in.complete) {
    out.append("null");
  } else if (in.pre) {
    out.append(in.pre->pending_json);
    intent = in.pre->intent;
  } else {
    auto rs = render_step(run, *in.at, *in.context, in.warnings);
    out.append(rs.pending_json);
    intent = rs.intent;
  }
  out.append(in.complete ? ",\"isComplete\":true" : ",\"isComplete\":false");
  out.append(",\"nextIntent\":");
  str(out, intent);
  out.append(",\"session\":{\"sessionId\":");
  str(out, run.session_id);
  out.append(",\"runId\":");
  ascii(out, format_run_id(run.run_id));
  out.append("},\"workflowHash\":");
  str(out, run.workflow_hash);
  if (in.blockers) {
    boost::json::array b;
    for (const auto& x : *in.blockers) {
      boost::json::object o;
      o["code"] = x.code;
      o["pointer"] = x.pointer;
      o["message"] = x.message;
      o["suggestedFix"] = x.suggested_fix;
      b.push_back(std::move(o));
    }
    out.append(",\"blockers\":").append(tokenrail::json::serialize(b));
  }
  if (!in.warnings.empty()) out.append(",\"warnings\":").append(tokenrail::json::serialize(warnings_json(in.warnings)));
  out.push_back('}');
  return out;
}

std::string blocked_response(engine::impl& e, const run_info& run, std::uint32_t seq, std::uint32_t attempt,
                             const workflow::cursor& at, const boost::json::object& context,
                             const std::vector<workflow::blocker>& blockers) {
  step_response_in out;
  out.kind = "blocked";
  out.run = &run;
  out.seq = seq;
  out.attempt = attempt;
  out.at = &at;
  out.context = &context;
  out.blockers = &blockers;
  return step_response(e, std::move(out));
}

}  // namespace engine_detail
}  // namespace tokenrail
