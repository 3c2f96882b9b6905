// Helpers shared by the operation handlers: caches, token checks, node
// loading, and the step response of D6.
#include "engine/context.hpp"

#include <tokenrail/json_parse.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
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
    auto v = boost::json::parse(*def, ec);
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
  auto doc = boost::json::parse(*doc_text, ec);
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

token::payload verify_token(engine::impl& e, token::kind k, const boost::json::object& req,
                            std::string_view field) {
  const auto& text = req.at(field).as_string();
  auto p = e.codec()->verify(k, std::string_view(text.data(), text.size()), field);
  if (!p) {
    error err = std::move(p).error();
    if (err.details.is_null()) err.details = boost::json::object();
    if (err.details.is_object() && !err.details.as_object().contains("pointer"))
      err.details.as_object()["pointer"] = "/" + std::string(field);
    throw failure(std::move(err));
  }
  return *p;
}

loaded_node load_node(storage::read_transaction& tx, std::uint64_t run, std::uint32_t seq) {
  auto v = tx.get(storage::table::nodes, node_key(run, seq));
  if (!v) {
    boost::json::object d;
    d["nodeId"] = format_node_id(run, seq);
    fail(errc::NODE_NOT_FOUND, "the token names a node that is not in this store", std::move(d));
  }
  loaded_node n{decode_node(*v, seq), {}};
  std::string_view ctx_text = n.rec.context;
  std::string owner_ctx;
  if (n.rec.context_owner != seq) {
    auto ov = tx.get(storage::table::nodes, node_key(run, n.rec.context_owner));
    if (!ov) fail(errc::STORE_CORRUPT, "a node's context owner is missing");
    owner_ctx = decode_node(*ov, n.rec.context_owner).context;
    ctx_text = owner_ctx;
  }
  if (!ctx_text.empty()) {
    boost::system::error_code ec;
    auto c = boost::json::parse(ctx_text, ec);
    if (ec || !c.is_object()) fail(errc::STORE_CORRUPT, "a node's context does not parse");
    n.context = std::move(c.as_object());
  }
  return n;
}

workflow::cursor parse_cursor(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
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

rendered_step render_step(const run_info& run, const workflow::cursor& at, const boost::json::object& context,
                          std::vector<workflow::warning>& warnings) {
  auto p = workflow::render(*run.wf->prog, at, context, warnings);
  boost::json::object pending;
  pending.reserve(8);
  pending["stepId"] = p.step_id;
  pending["title"] = p.title;
  pending["prompt"] = p.prompt;
  if (p.agent_role) pending["agentRole"] = *p.agent_role;
  if (!p.guidance.empty()) {
    boost::json::array g;
    for (auto& s : p.guidance) g.emplace_back(s);
    pending["guidance"] = std::move(g);
  }
  pending["requireConfirmation"] = p.require_confirmation;
  // Step extras (loop position, outputContract, askForFiles...) help the
  // agent do the step; they follow the fields D6 names.
  if (p.extras.is_object())
    for (auto& kv : p.extras.as_object())
      if (!pending.contains(kv.key())) pending[kv.key()] = kv.value();
  rendered_step out;
  out.intent = p.require_confirmation ? "await_user_confirmation" : "perform_pending_then_continue";
  out.pending = std::move(pending);
  return out;
}

std::string step_response(engine::impl& e, step_response_in in) {
  auto codec = e.codec();
  const run_info& run = *in.run;
  boost::json::object r;
  r.reserve(12);
  if (!in.kind.empty()) r["kind"] = in.kind;
  r["stateToken"] = codec->mint(token::kind::state, {run.run_id, in.seq, 0});
  if (!in.complete) r["ackToken"] = codec->mint(token::kind::ack, {run.run_id, in.seq, in.attempt});
  r["checkpointToken"] = codec->mint(token::kind::checkpoint, {run.run_id, in.seq, 0});
  std::string_view intent = "complete";
  if (in.complete) {
    r["pending"] = nullptr;
  } else if (in.pre) {
    r["pending"] = in.pre->pending;
    intent = in.pre->intent;
  } else {
    auto rs = render_step(run, *in.at, *in.context, in.warnings);
    r["pending"] = std::move(rs.pending);
    intent = rs.intent;
  }
  r["isComplete"] = in.complete;
  r["nextIntent"] = intent;
  boost::json::object session;
  session["sessionId"] = run.session_id;
  session["runId"] = format_run_id(run.run_id);
  r["session"] = std::move(session);
  r["workflowHash"] = run.workflow_hash;
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
    r["blockers"] = std::move(b);
  }
  if (!in.warnings.empty()) r["warnings"] = warnings_json(in.warnings);
  return boost::json::serialize(r);
}

}  // namespace engine_detail
}  // namespace tokenrail
