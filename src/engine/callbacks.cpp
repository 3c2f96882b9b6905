// Async completion (D8): see callbacks.hpp for the model and the records.
#include "engine/callbacks.hpp"
#include "engine/new_run.hpp"

#include "workflow/program.hpp"   // a step's parallelDelegations without rendering it

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

#include <algorithm>
#include <charconv>
#include <tuple>

namespace tokenrail::engine_detail {

namespace json = boost::json;

std::string_view str_of(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return v->get_string();
  return {};
}

// ---- keys -------------------------------------------------------------------

std::string callback_key(std::uint64_t run, std::uint32_t seq, std::uint32_t attempt) {
  std::string k("r");
  put_be64(k, run);
  put_be32(k, seq);
  put_be32(k, attempt);
  return k;
}

std::string callback_node_prefix(std::uint64_t run, std::uint32_t seq) {
  std::string k("r");
  put_be64(k, run);
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

namespace {

std::string expiry_key(std::int64_t expires_at, std::uint64_t run, std::uint32_t seq, std::uint32_t attempt) {
  return callback_expiry_key(expires_at, {run, seq, attempt});
}

json::object parse_object(std::string_view text, const char* what) {
  boost::system::error_code ec;
  auto v = parse_json_text(text, ec);
  if (ec || !v.is_object()) fail(errc::STORE_CORRUPT, std::string(what) + " does not parse");
  return std::move(v.as_object());
}

}  // namespace

std::optional<json::object> load_record(storage::read_transaction& tx, const token::payload& cb) {
  auto v = tx.get(storage::table::callbacks, callback_key(cb.run_id, cb.node_seq, cb.attempt));
  if (!v) return std::nullopt;
  return parse_object(*v, "a callback record");
}

void save_record(storage::write_transaction& tx, const token::payload& cb, const json::object& rec) {
  tx.put(storage::table::callbacks, callback_key(cb.run_id, cb.node_seq, cb.attempt), tokenrail::json::serialize(rec));
}

namespace {


run_status read_status(storage::read_transaction& tx, std::uint64_t run) {
  auto sv = tx.get(storage::table::runs, run_status_key(run));
  if (!sv) {
    json::object d;
    d["runId"] = format_run_id(run);
    fail(errc::RUN_NOT_FOUND, "no run has that id in this store", std::move(d));
  }
  return decode_status(*sv);
}

void write_status(storage::write_transaction& tx, std::uint64_t run, const run_status& s) {
  tx.put(storage::table::runs, run_status_key(run), encode_status(s));
}

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

/// Counts nested in-transaction run creations: a workflow whose first step
/// delegates to itself would otherwise recurse without end.
thread_local int nesting_depth = 0;
constexpr int max_nesting_depth = 16;

struct nesting_guard {
  nesting_guard() {
    if (++nesting_depth > max_nesting_depth) {
      --nesting_depth;
      fail(errc::WORKFLOW_RECURSIVE,
           "child runs (parallelDelegations or parent links) nest deeper than 16 levels in one transaction");
    }
  }
  ~nesting_guard() { --nesting_depth; }
  nesting_guard(const nesting_guard&) = delete;
  nesting_guard& operator=(const nesting_guard&) = delete;
};

/// The step at `at` in the compiled program (same walk as the interpreter).
const workflow::step* step_at(const workflow::program& p, const workflow::cursor& at) {
  const workflow::block* b = &p.blocks.at(0);
  for (const auto& f : at.loops) {
    if (f.index >= b->steps.size() || !b->steps[f.index].is_loop) return nullptr;
    const auto body = b->steps[f.index].loop.body;
    if (body >= p.blocks.size()) return nullptr;
    b = &p.blocks[body];
  }
  if (at.step >= b->steps.size()) return nullptr;
  return &b->steps[at.step];
}

bool program_has_delegations(const workflow::program& p) {
  for (const auto& b : p.blocks)
    for (const auto& st : b.steps)
      if (!st.delegations.empty()) return true;
  return false;
}

std::string blocker_code(const step_result& r) {
  if (r.error_code) return *r.error_code;
  std::string c = "STEP_";
  for (char ch : r.status) c.push_back(static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch));
  return c;
}

/// The step response for a node whose step stays pending: kind + blockers.
std::string pending_response(engine::impl& e, const run_info& run, std::uint32_t seq, const loaded_node& node,
                             std::string_view kind, const std::vector<workflow::blocker>* blockers) {
  workflow::cursor at = parse_cursor(node.rec.cursor);
  step_response_in out;
  out.kind = kind;
  out.run = &run;
  out.seq = seq;
  out.complete = node.rec.complete;
  // A fresh attempt: the caller may suspend it again or continue with it.
  out.attempt = random_nonzero_u32();
  out.at = &at;
  out.context = &node.context;
  out.blockers = blockers;
  return step_response(e, std::move(out));
}

struct advanced {
  bool blocked = false;
  std::vector<workflow::blocker> blockers;
  std::string response;
  std::uint32_t child = 0;
  bool complete = false;
  std::string output_text;
  workflow::cursor at;
  json::object context;
};

/// The advance of continue_workflow, inside an open write transaction and an
/// open event appender of the run's session: node, ack record, events. The
/// caller writes `status`. Validation failures come back as blocked (nothing
/// written).
advanced advance_in_tx(engine::impl& e, storage::write_transaction& tx, const run_info& run, std::uint32_t seq,
                       std::uint32_t attempt, const json::value& output, const json::object* delta,
                       std::int64_t now, event_appender& log, run_status& status) {
  advanced a;
  auto node = load_node(tx, run.run_id, seq);
  if (node.rec.complete)
    fail(errc::RUN_COMPLETE, "the node is complete; there is no pending step to acknowledge",
         json::object{{"nodeId", format_node_id(run.run_id, seq)}});
  const workflow::program& prog = *run.wf->prog;
  const workflow::cursor at = parse_cursor(node.rec.cursor);
  a.context = std::move(node.context);
  const bool context_changed = delta && !delta->empty();
  if (context_changed) merge_context(a.context, *delta);
  a.blockers = workflow::check_output(prog, at, a.context, output);
  if (!a.blockers.empty()) {
    a.blocked = true;
    return a;
  }
  auto next = workflow::advance(prog, at, a.context, output);
  std::vector<workflow::warning> warnings = std::move(next.warnings);
  const std::string child_step = next.complete ? std::string() : workflow::step_id_at(prog, next.at);
  a.child = status.node_count;
  a.complete = next.complete;
  a.at = next.at;
  a.output_text = output.is_null() ? std::string() : tokenrail::json::canonicalize(output);

  node_record c;
  c.parent = seq;
  c.from_attempt = attempt;
  c.created_at = now;
  c.complete = next.complete;
  c.context_owner = context_changed ? a.child : node.rec.context_owner;
  c.step_id = child_step;
  c.cursor = tokenrail::json::serialize(next.at.to_json());
  if (context_changed) c.context = tokenrail::json::canonicalize(a.context);
  tx.put(storage::table::nodes, node_key(run.run_id, a.child), encode_node(c, a.child));

  step_response_in out;
  out.kind = "ok";
  out.run = &run;
  out.seq = a.child;
  out.complete = next.complete;
  out.attempt = 0;
  out.at = &next.at;
  out.context = &a.context;
  out.warnings = warnings;
  a.response = step_response(e, std::move(out));

  // The ack record makes continue_workflow with the suspended pair and the
  // same body replay this response (same digest rule as continue_workflow).
  json::object body;
  if (delta) body["context"] = *delta;
  if (!output.is_null()) body["output"] = output;
  const hash32 digest = blake2b(tokenrail::json::canonicalize(body));
  tx.put(storage::table::acks, ack_key(run.run_id, seq, attempt), encode_ack(as_view(digest), a.child, a.response));

  status_on_node_created(status, seq, a.child, next.complete, now, child_step, a.output_text);

  if (context_changed) log.append(event_kind::context_set, run.run_id, a.child, json::object{{"context", *delta}});
  if (!output.is_null()) log.append(event_kind::output_appended, run.run_id, a.child, json::object{{"output", output}});
  json::object nd;
  nd["parent"] = seq;
  nd["attempt"] = attempt;
  nd["cursor"] = next.at.to_json();
  nd["complete"] = next.complete;
  if (!next.complete) nd["stepId"] = child_step;
  log.append(event_kind::node_created, run.run_id, a.child, std::move(nd));
  log.append(event_kind::edge_created, run.run_id, a.child,
             json::object{{"from", seq}, {"to", a.child}, {"attempt", attempt}});
  log.append(event_kind::advance_recorded, run.run_id, seq,
             json::object{{"attempt", attempt}, {"child", a.child}, {"digest", to_hex(as_view(digest))}});
  if (next.complete) log.append(event_kind::run_completed, run.run_id, a.child, json::object{{"node", a.child}});
  return a;
}

/// A run created inside another operation's transaction (a delegation's
/// child): the same records and events as start_workflow.
std::shared_ptr<run_info> create_child_run(storage::write_transaction& tx,
                                           std::shared_ptr<const workflow::compiled> wf, const json::object& context,
                                           const std::string& session, const json::value& correlation,
                                           const std::string& callback_token, std::uint64_t run_id, std::int64_t now,
                                           workflow::position& pos) {
  pos = workflow::start(*wf->prog, context);
  const std::string cursor_text = tokenrail::json::serialize(pos.at.to_json());
  const std::string context_text = tokenrail::json::canonicalize(context);
  new_run_in in;
  in.run_id = run_id;
  in.session = session;
  in.wf = std::move(wf);
  in.pos = &pos;
  in.cursor_text = cursor_text;
  in.context_text = context_text;
  in.context = &context;
  in.correlation = correlation.is_object()
                       ? correlation.as_object()
                       : json::object{{"traceId", nullptr}, {"flowId", nullptr}, {"tenantId", nullptr}};
  in.callback_token = &callback_token;
  in.now = now;
  return write_new_run(tx, in);
}

json::object correlation_of(const json::object& spec) {
  if (auto* c = spec.if_contains("correlation"); c && c->is_object()) return c->as_object();
  return {};
}

/// Live phase of a run ("Running", ...), or null if it does not exist.
json::value phase_of(storage::read_transaction& tx, std::uint64_t run) {
  auto sv = tx.get(storage::table::runs, run_status_key(run));
  if (!sv) return nullptr;
  return json::value(phase_name(status_phase(*sv)));
}

/// Delegations of node (run, seq): [{index, workflowId, runId, phase, state, status?}], by index.
json::array delegations_of(storage::read_transaction& tx, std::uint64_t run, std::uint32_t seq) {
  std::vector<std::pair<std::int64_t, json::object>> rows;
  tx.scan(storage::table::callbacks, delegation_callbacks_prefix(run, seq), [&](std::string_view, std::string_view v) {
    auto rec = parse_object(v, "a callback record");
    if (str_of(rec, "origin") != "delegation") return true;
    json::object o;
    const std::int64_t index = rec.at("index").to_number<std::int64_t>();
    o["index"] = index;
    o["workflowId"] = rec.at("workflowId");
    o["runId"] = rec.at("childRunId");
    auto child = parse_run_id(str_of(rec, "childRunId"));
    o["phase"] = child ? phase_of(tx, *child) : json::value(nullptr);
    o["callback"] = rec.at("state");
    if (auto* s = rec.if_contains("resultStatus")) o["result"] = *s;
    rows.emplace_back(index, std::move(o));
    return true;
  });
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json::array out;
  for (auto& r : rows) out.push_back(std::move(r.second));
  return out;
}

/// Adds each child's root stateToken, so the host (or agent) can drive the
/// children (continue_workflow with it alone gives the pending step).
json::array with_child_tokens(engine::impl& e, json::array rows) {
  auto codec = e.codec();
  for (auto& r : rows) {
    auto& o = r.as_object();
    if (auto id = parse_run_id(str_of(o, "runId"))) o["stateToken"] = codec->mint(token::kind::state, {*id, 0, 0});
  }
  return rows;
}

}  // namespace

// ---- the step-result contract ----------------------------------------------

std::optional<int> parse_error_code(std::string_view code) {
  if (code.size() == 4 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = 0;
    std::from_chars(code.data(), code.data() + 4, v);
    if (v >= 1000 && v <= 5999) return v;
    return std::nullopt;
  }
  if (auto c = errc_from_name(code)) return static_cast<int>(*c);
  return std::nullopt;
}

// ---- status (live path and replay) -------------------------------------------

void status_on_async_event(run_status& s, std::string_view kind, std::uint32_t node, const json::object& data,
                           std::int64_t at) {
  json::object ext = ext_of(s);
  json::array waiting;
  if (auto* w = ext.if_contains("waitingOn"); w && w->is_array()) waiting = w->as_array();
  if (kind == event_kind::step_suspended) {
    json::object entry;
    entry["node"] = node;
    for (std::string_view k : {"attempt", "origin", "stepId", "expiresAt", "childRunId", "index", "workflowId"})
      if (auto* v = data.if_contains(k)) entry[k] = *v;
    waiting.push_back(std::move(entry));
    // A completed run waits too when a fork of one of its old nodes is
    // suspended (D4: old stateTokens fork): without it continue_workflow
    // (which refuses only Waiting/Cancelled runs) would advance the
    // suspended pair, and the callback's completion would then advance the
    // same attempt a second time.
    if (s.phase == run_phase::running || s.phase == run_phase::completed) s.phase = run_phase::waiting;
  } else if (kind == event_kind::step_completed) {
    const json::value attempt = data.contains("attempt") ? data.at("attempt") : json::value(nullptr);
    json::array kept;
    for (auto& w : waiting) {
      const auto& o = w.as_object();
      const bool same = o.at("node").to_number<std::uint32_t>() == node && o.contains("attempt") &&
                        !attempt.is_null() &&
                        o.at("attempt").to_number<std::uint64_t>() == attempt.to_number<std::uint64_t>();
      if (!same) kept.push_back(w);
    }
    waiting = std::move(kept);
    json::object last;
    last["node"] = node;
    for (std::string_view k : {"attempt", "stepId", "status", "errorCode", "metadata", "resolvedBy", "childRunId", "origin"})
      if (auto* v = data.if_contains(k)) last[k] = *v;
    last["at"] = at;
    ext["lastResult"] = std::move(last);
    // Back to what the preferred tip says: completed_at is set exactly when
    // the newest node is complete (status_on_node_created), i.e. a suspended
    // fork of a completed run that resolves without advancing.
    if (s.phase == run_phase::waiting && waiting.empty())
      s.phase = s.completed_at ? run_phase::completed : run_phase::running;
  } else if (kind == event_kind::run_cancelled) {
    waiting.clear();
    json::object c;
    for (std::string_view k : {"reason", "cascadedFrom"})
      if (auto* v = data.if_contains(k)) c[k] = *v;
    c["at"] = at;
    ext["cancellation"] = std::move(c);
    // Unconditional: cancel_run_in_tx never records it for a run that was
    // Completed when the cancel began, but resolving the run's open callbacks
    // first (step 2) may turn a Waiting run whose tip is complete back into
    // Completed; the cancellation still wins.
    s.phase = run_phase::cancelled;
  }
  if (waiting.empty()) ext.erase("waitingOn");
  else ext["waitingOn"] = std::move(waiting);
  s.async = tokenrail::json::canonicalize(ext);
  s.last_activity = at;
}

void add_async_status(storage::read_transaction& tx, std::uint64_t run, const run_status& s, json::object& out) {
  json::object ext = ext_of(s);
  json::array waiting;
  if (auto* w = ext.if_contains("waitingOn"); w && w->is_array()) {
    for (const auto& v : w->as_array()) {
      json::object o = v.as_object();
      const auto node = o.at("node").to_number<std::uint32_t>();
      o.erase("node");
      o["nodeId"] = format_node_id(run, node);
      if (auto* x = o.if_contains("expiresAt"); x && x->is_number()) o["expiresAt"] = format_time(x->to_number<std::int64_t>());
      // A child linked after the suspension (start_workflow with parent).
      if (!o.contains("childRunId") && o.contains("attempt")) {
        if (auto rec = load_record(tx, {run, node, o.at("attempt").to_number<std::uint32_t>()}))
          if (auto* c = rec->if_contains("childRunId")) o["childRunId"] = *c;
      }
      if (auto* c = o.if_contains("childRunId"); c && c->is_string())
        if (auto id = parse_run_id(c->get_string())) o["childPhase"] = phase_of(tx, *id);
      waiting.push_back(std::move(o));
    }
  }
  out["waitingOn"] = std::move(waiting);
  if (auto* l = ext.if_contains("lastResult"); l && l->is_object()) {
    json::object o = l->as_object();
    o["nodeId"] = format_node_id(run, o.at("node").to_number<std::uint32_t>());
    o.erase("node");
    o["at"] = format_time(o.at("at").to_number<std::int64_t>());
    out["lastResult"] = std::move(o);
  } else {
    out["lastResult"] = nullptr;
  }
  if (auto* c = ext.if_contains("cancellation"); c && c->is_object()) {
    json::object o = c->as_object();
    o["at"] = format_time(o.at("at").to_number<std::int64_t>());
    out["cancellation"] = std::move(o);
  }
  // Child runs linked to this run, with their live phases.
  json::array children;
  tx.scan(storage::table::callbacks, child_link_prefix(run), [&](std::string_view key, std::string_view) {
    const std::uint64_t child = get_be64(key.data() + 9);
    json::object o;
    o["runId"] = format_run_id(child);
    o["phase"] = phase_of(tx, child);
    children.push_back(std::move(o));
    return true;
  });
  if (!children.empty()) out["children"] = std::move(children);
  // The pending step's delegations (preferred tip), live.
  if (s.node_count) {
    json::array d = delegations_of(tx, run, s.preferred_tip);
    if (!d.empty()) out["delegations"] = std::move(d);
  }
}

// ---- parent links ---------------------------------------------------------------

std::optional<parent_link> read_parent_link(engine::impl& e, const json::object& req) {
  auto* p = req.if_contains("parent");
  if (!p) return std::nullopt;
  const auto& po = p->as_object();
  parent_link link;
  auto* t = po.if_contains("callbackToken");
  if (!t) throw failure(error::at(errc::INVALID_REQUEST, "/parent/callbackToken", "a callbackToken"));
  link.token = std::string(t->as_string());
  auto v = e.codec()->verify(token::kind::callback, link.token, "parent/callbackToken");
  if (!v) {
    auto err = std::move(v).error();
    if (err.details.is_object()) err.details.as_object()["pointer"] = "/parent/callbackToken";
    throw failure(std::move(err));
  }
  link.cb = *v;
  e.store->read([&](storage::read_transaction& tx) {
    if (!load_record(tx, link.cb))
      throw failure(error::at(errc::STEP_NOT_SUSPENDED, "/parent/callbackToken", "the callbackToken of a suspended step",
                              "the callback does not match a suspended step"));
    link.session_id = e.run(tx, link.cb.run_id)->session_id;
  });
  return link;
}

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

std::optional<async_extra> after_start(engine::impl& e, storage::write_transaction& tx, const run_info& run,
                                       const parent_link* link, bool complete, const json::object& context,
                                       std::int64_t now) {
  if (link) {
    auto rec = load_record(tx, link->cb);
    if (!rec)
      throw failure(error::at(errc::STEP_NOT_SUSPENDED, "/parent/callbackToken", "the callbackToken of a suspended step",
                              "the callback does not match a suspended step"));
    if (str_of(*rec, "state") != "open") refuse_resolved(*rec, "/parent/callbackToken");
    if (rec->contains("childRunId"))
      throw failure(error::at(errc::INVALID_REQUEST, "/parent/callbackToken",
                              "a callback no other child run is linked to",
                              "another child run (" + std::string(str_of(*rec, "childRunId")) +
                                  ") already completes this callback"));
    (*rec)["childRunId"] = format_run_id(run.run_id);
    save_record(tx, link->cb, *rec);
    tx.put(storage::table::callbacks, child_link_key(link->cb.run_id, run.run_id), "");
  }
  return after_node_created(e, tx, run, 0, complete, {}, context, now);
}

std::optional<async_extra> after_node_created(engine::impl& e, storage::write_transaction& tx, const run_info& run,
                                              std::uint32_t seq, bool complete, std::string_view output_json,
                                              const json::object& context, std::int64_t now) {
  nesting_guard guard;
  if (complete) {
    // A child run completes its parent's step with its final output.
    json::object spec = read_spec(tx, run.run_id);
    auto* t = spec.if_contains("callbackToken");
    if (!t || !t->is_string()) return std::nullopt;
    auto cb = e.codec()->verify(token::kind::callback, t->get_string());
    if (!cb) return std::nullopt;   // minted under a retired key: nothing to complete
    auto rec = load_record(tx, *cb);
    if (!rec || str_of(*rec, "state") != "open") return std::nullopt;   // lost to a timeout or a cancellation
    step_result r;
    r.status = "success";
    r.output = output_json.empty() ? json::value(nullptr) : parse_json_text(output_json);
    r.resolved_by = "child_run";
    r.child_run = run.run_id;
    resolve_callback(e, tx, *cb, r, {}, now);
    return std::nullopt;
  }
  // Entering a step with parallelDelegations starts one child per entry.
  // Hot path (every advance): most programs have no delegations at all.
  if (!program_has_delegations(*run.wf->prog)) return std::nullopt;
  auto nv = tx.get(storage::table::nodes, node_key(run.run_id, seq));
  if (!nv) fail(errc::STORE_CORRUPT, "a node just created is missing");
  const workflow::cursor at = parse_cursor(decode_node(*nv, seq).cursor);
  const workflow::step* st = step_at(*run.wf->prog, at);
  if (!st || st->delegations.empty()) return std::nullopt;
  if (st->delegations.size() > max_delegations)
    fail(errc::WORKFLOW_INVALID, "a step has more than 256 parallelDelegations");
  std::vector<workflow::warning> warnings;
  auto rendered = workflow::render(*run.wf->prog, at, context, warnings);
  const json::object spec = read_spec(tx, run.run_id);
  const json::value correlation = correlation_of(spec);
  async_extra extra;
  struct planned {
    token::payload cb;
    std::shared_ptr<const workflow::compiled> wf;
    json::object args;
    std::uint64_t child;
  };
  std::vector<planned> plan;
  for (std::size_t i = 0; i < rendered.delegations.size(); ++i) {
    const auto& d = rendered.delegations[i];
    auto wf = e.library.find_delegate(d.workflow_id);
    if (!wf) {
      json::object det;
      det["workflowId"] = d.workflow_id;
      det["pointer"] = st->pointer + "/parallelDelegations/" + std::to_string(i) + "/workflowId";
      fail(errc::WORKFLOW_NOT_FOUND, "a delegation names no known workflow ('" + d.workflow_id + "')", std::move(det));
    }
    std::uint64_t child = random_u64();
    while (tx.get(storage::table::runs, run_spec_key(child))) child = random_u64();
    planned p{{run.run_id, seq, delegation_attempt_base + static_cast<std::uint32_t>(i)}, wf,
              d.args.is_object() ? d.args.as_object() : json::object(), child};
    // The callback first (open), so a child that completes at once finds it.
    json::object rec;
    rec["state"] = "open";
    rec["origin"] = "delegation";
    rec["stepId"] = st->id;
    rec["index"] = i;
    rec["workflowId"] = d.workflow_id;
    rec["childRunId"] = format_run_id(child);
    save_record(tx, p.cb, rec);
    tx.put(storage::table::callbacks, child_link_key(run.run_id, child), "");
    json::object ev;
    ev["attempt"] = p.cb.attempt;
    ev["origin"] = "delegation";
    ev["stepId"] = st->id;
    ev["index"] = i;
    ev["workflowId"] = d.workflow_id;
    ev["childRunId"] = format_run_id(child);
    ev["correlation"] = correlation;
    record_async_event(tx, run, event_kind::step_suspended, seq, std::move(ev), now);
    plan.push_back(std::move(p));
  }
  const auto codec = e.codec();
  for (auto& p : plan) {
    workflow::position pos;
    auto child = create_child_run(tx, p.wf, p.args, run.session_id, correlation,
                                  codec->mint(token::kind::callback, p.cb), p.child, now, pos);
    after_node_created(e, tx, *child, 0, pos.complete, {}, p.args, now);
  }
  extra.delegations = with_child_tokens(e, delegations_of(tx, run.run_id, seq));
  return extra;
}

std::string decorate_response(std::string_view response, const async_extra& extra) {
  auto r = parse_json_text(response);
  auto& o = r.as_object();
  if (auto* p = o.if_contains("pending"); p && p->is_object()) {
    p->as_object()["delegations"] = extra.delegations;
    p->as_object()["suspended"] = true;
  }
  return tokenrail::json::serialize(r);
}

// ---- resolution -------------------------------------------------------------------

std::string resolve_callback(engine::impl& e, storage::write_transaction& tx, const token::payload& cb,
                             const step_result& in, std::string_view digest_hex, std::int64_t now) {
  step_result r = in;   // the effective result (a child's output may be rejected below)
  auto rec_opt = load_record(tx, cb);
  if (!rec_opt) fail(errc::STEP_NOT_SUSPENDED, "the callback does not match a suspended step");
  json::object rec = std::move(*rec_opt);
  if (str_of(rec, "state") != "open") refuse_resolved(rec, "/callbackToken");
  auto info = e.run(tx, cb.run_id);
  const run_info& run = *info;
  const json::object spec = read_spec(tx, cb.run_id);
  const std::string origin(str_of(rec, "origin"));
  const std::string step_id(str_of(rec, "stepId"));

  // Correlation ids: what the result says, completed from the run's spec.
  json::object metadata = r.metadata;
  const json::object corr = correlation_of(spec);
  for (std::string_view k : {"traceId", "flowId", "tenantId"})
    if (!metadata.contains(k) || metadata.at(k).is_null()) metadata[k] = corr.contains(k) ? corr.at(k) : json::value(nullptr);
  if (!metadata.contains("stepId") || metadata.at("stepId").is_null()) metadata["stepId"] = step_id;

  std::vector<workflow::blocker> blockers;
  if (r.status == "success" && origin == "suspend") {
    // complete_step validated the output already; a child's final output
    // may still fail the parent step's validation: then the attempt failed.
    auto node = load_node(tx, cb.run_id, cb.node_seq);
    blockers = workflow::check_output(*run.wf->prog, parse_cursor(node.rec.cursor), node.context, r.output);
    if (!blockers.empty()) {
      r.status = "error";
      r.error_code = "OUTPUT_REJECTED";
    }
  }

  json::object ev;
  ev["attempt"] = cb.attempt;
  ev["origin"] = origin;
  ev["stepId"] = step_id;
  ev["status"] = r.status;
  if (r.error_code) ev["errorCode"] = *r.error_code;
  ev["metadata"] = metadata;
  ev["resolvedBy"] = r.resolved_by;
  if (r.child_run) ev["childRunId"] = format_run_id(*r.child_run);
  // A delegation's output waits in the record until its siblings finish; on
  // the event too, so restore_callbacks can rebuild the record after import.
  if (origin == "delegation") ev["output"] = r.output;

  // The record first: whatever the outcome, this callback is resolved.
  // "cancelled" when a cancellation resolved it (cancel_run, or a cancelled
  // child): a late completion then loses with RUN_CANCELLED.
  const bool by_cancellation =
      r.resolved_by == "cancel_run" || (r.resolved_by == "child_run" && r.status == "cancelled");
  rec["state"] = r.resolved_by == "expire_callbacks" ? "expired" : by_cancellation ? "cancelled" : "completed";
  rec["resultStatus"] = r.status;
  if (!digest_hex.empty()) rec["digest"] = digest_hex;
  if (origin == "delegation") rec["output"] = r.output;
  if (auto* x = rec.if_contains("expiresAt"); x && x->is_number())
    tx.erase(storage::table::callbacks, expiry_key(x->to_number<std::int64_t>(), cb.run_id, cb.node_seq, cb.attempt));
  save_record(tx, cb, rec);

  record_async_event(tx, run, event_kind::step_completed, cb.node_seq, std::move(ev), now);

  std::string response;
  std::optional<advanced> adv;
  auto advance_with = [&](std::uint32_t attempt, const json::value& output, const json::object* delta) {
    run_status status = read_status(tx, cb.run_id);
    event_appender log(tx, run.session_id, now);
    auto a = advance_in_tx(e, tx, run, cb.node_seq, attempt, output, delta, now, log, status);
    if (!a.blocked) {
      write_status(tx, cb.run_id, status);
      log.finish();
    }
    return a;
  };
  const bool success = r.status == "success";
  if (success && origin == "suspend") {
    auto a = advance_with(cb.attempt, r.output, nullptr);
    if (a.blocked) blockers = std::move(a.blockers);   // checked above; kept for safety
    else adv = std::move(a);
  } else if (success && origin == "delegation") {
    // Resume when every delegation of the step succeeded.
    std::vector<std::pair<std::int64_t, json::value>> outputs;
    bool all_resolved = true, all_success = true;
    tx.scan(storage::table::callbacks, delegation_callbacks_prefix(cb.run_id, cb.node_seq),
            [&](std::string_view, std::string_view v) {
              auto o = parse_object(v, "a callback record");
              if (str_of(o, "origin") != "delegation") return true;
              if (str_of(o, "state") == "open") all_resolved = false;
              else if (str_of(o, "resultStatus") != "success") all_success = false;
              outputs.emplace_back(o.at("index").to_number<std::int64_t>(),
                                   o.contains("output") ? o.at("output") : json::value(nullptr));
              return true;
            });
    if (all_resolved && all_success) {
      std::sort(outputs.begin(), outputs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      json::array results;
      for (auto& o : outputs) results.push_back(std::move(o.second));
      auto node = load_node(tx, cb.run_id, cb.node_seq);
      json::object delegations;
      if (auto* d = node.context.if_contains("delegations"); d && d->is_object()) delegations = d->as_object();
      delegations[step_id] = std::move(results);
      json::object delta{{"delegations", std::move(delegations)}};
      auto a = advance_with(delegation_attempt_base, json::value(nullptr), &delta);
      if (a.blocked) blockers = std::move(a.blockers);
      else adv = std::move(a);
    } else if (!all_resolved) {
      auto node = load_node(tx, cb.run_id, cb.node_seq);
      response = pending_response(e, run, cb.node_seq, node, "waiting", nullptr);
      async_extra x;
      x.delegations = with_child_tokens(e, delegations_of(tx, cb.run_id, cb.node_seq));
      response = decorate_response(response, x);
    } else {
      workflow::blocker b;
      b.code = "DELEGATION_FAILED";
      b.pointer = "/result/status";
      b.message = "a delegated child run did not succeed; the step stays pending";
      b.suggested_fix = "inspect status.delegations in get_run, then continue or suspend the step again";
      blockers.push_back(std::move(b));
    }
  } else if (blockers.empty()) {
    workflow::blocker b;
    b.code = blocker_code(r);
    b.pointer = "/result/status";
    b.message = "the step's async execution ended with status '" + r.status + "'" +
                (r.error_code ? " (errorCode " + *r.error_code + ")" : std::string()) + "; the step stays pending";
    b.suggested_fix =
        "retry: suspend the step again with the returned ackToken, or do it and continue_workflow with it";
    blockers.push_back(std::move(b));
  }

  if (adv) {
    response = adv->response;
    if (auto x = after_node_created(e, tx, run, adv->child, adv->complete, adv->output_text, adv->context, now)) {
      response = decorate_response(response, *x);
      // Keep the ack record's response equal to what this call returns.
      auto v = tx.get(storage::table::acks, ack_key(cb.run_id, cb.node_seq, origin == "delegation" ? delegation_attempt_base : cb.attempt));
      if (v) {
        ack_view a = decode_ack(*v);
        const std::string digest(a.digest);
        tx.put(storage::table::acks, ack_key(cb.run_id, cb.node_seq, origin == "delegation" ? delegation_attempt_base : cb.attempt),
               encode_ack(digest, a.child, response));
      }
    }
  } else if (response.empty()) {
    auto node = load_node(tx, cb.run_id, cb.node_seq);
    response = pending_response(e, run, cb.node_seq, node, "blocked", &blockers);
  }
  rec["response"] = response;
  save_record(tx, cb, rec);
  return response;
}

// ---- cancellation ------------------------------------------------------------------

void cancel_run_in_tx(engine::impl& e, storage::write_transaction& tx, std::uint64_t run,
                      std::optional<std::string> reason, std::optional<std::uint64_t> cascaded_from,
                      std::int64_t now, json::array& cancelled) {
  nesting_guard guard;
  run_status s = read_status(tx, run);
  if (s.phase == run_phase::cancelled || s.phase == run_phase::completed) return;
  auto info = e.run(tx, run);
  json::array mine;

  // 1. Children that still hold an open callback of this run, first: each
  //    child's cancellation completes our step with `cancelled`. The open
  //    callbacks are the status's waitingOn (every step_suspended not yet
  //    followed by its step_completed, the same events that open and
  //    resolve the records), read by key: a scan of callback_run_prefix
  //    would read every callback the run ever had (one per async attempt).
  //    Sorted as that scan visited them, so the cascade order is the same.
  std::vector<std::uint64_t> children;
  std::vector<token::payload> open;
  const json::object ext = ext_of(s);
  if (auto* w = ext.if_contains("waitingOn"); w && w->is_array())
    for (const auto& entry : w->as_array())
      if (const auto* o = entry.if_object(); o && o->contains("node") && o->contains("attempt"))
        open.push_back({run, o->at("node").to_number<std::uint32_t>(), o->at("attempt").to_number<std::uint32_t>()});
  std::sort(open.begin(), open.end(), [](const token::payload& a, const token::payload& b) {
    return std::tie(a.node_seq, a.attempt) < std::tie(b.node_seq, b.attempt);
  });
  for (const auto& cb : open)
    if (auto rec = load_record(tx, cb); rec && str_of(*rec, "state") == "open")
      if (auto c = parse_run_id(str_of(*rec, "childRunId"))) children.push_back(*c);
  // D8 "cancel_run cascades to children": also every other child linked to
  // the run (its callback already resolved: by complete_step from the host,
  // for instance) that still runs; nothing will ever consume its result.
  // Finished ones contribute nothing (see the top of this function). Link
  // keys are unique, so only the open callbacks' children can repeat: a run
  // with 10,000 children is not searched 10,000 times over.
  const auto open_children = static_cast<std::ptrdiff_t>(children.size());
  tx.scan(storage::table::callbacks, child_link_prefix(run), [&](std::string_view key, std::string_view) {
    const std::uint64_t c = get_be64(key.data() + 9);
    if (std::find(children.begin(), children.begin() + open_children, c) == children.begin() + open_children)
      children.push_back(c);
    return true;
  });
  for (auto c : children) cancel_run_in_tx(e, tx, c, reason, run, now, mine);

  // 2. Callbacks still open (suspended steps without a child): cancelled.
  for (const auto& cb : open) {
    auto rec = load_record(tx, cb);
    if (!rec || str_of(*rec, "state") != "open") continue;
    step_result r;
    r.status = "cancelled";
    r.resolved_by = "cancel_run";
    resolve_callback(e, tx, cb, r, {}, now);
  }

  // 3. The run itself.
  s = read_status(tx, run);
  json::object ev;
  if (reason) ev["reason"] = *reason;
  if (cascaded_from) ev["cascadedFrom"] = format_run_id(*cascaded_from);
  record_async_event(tx, *info, event_kind::run_cancelled, s.preferred_tip, std::move(ev), now);
  mine.push_back(json::value(format_run_id(run)));

  json::object resp;
  resp["runId"] = format_run_id(run);
  resp["phase"] = "Cancelled";
  resp["cancelled"] = mine;
  if (reason) resp["reason"] = *reason;
  if (cascaded_from) resp["cascadedFrom"] = format_run_id(*cascaded_from);
  tx.put(storage::table::callbacks, cancel_record_key(run), tokenrail::json::serialize(resp));
  for (auto& m : mine) cancelled.push_back(m);

  // 4. A cancelled child completes its parent's step with `cancelled`.
  json::object spec = read_spec(tx, run);
  if (auto* t = spec.if_contains("callbackToken"); t && t->is_string()) {
    if (auto cb = e.codec()->verify(token::kind::callback, t->get_string())) {
      auto rec = load_record(tx, *cb);
      if (rec && str_of(*rec, "state") == "open" && read_status(tx, cb->run_id).phase != run_phase::cancelled) {
        step_result r;
        r.status = "cancelled";
        r.error_code = "RUN_CANCELLED";
        r.resolved_by = "child_run";
        r.child_run = run;
        resolve_callback(e, tx, *cb, r, {}, now);
      }
    }
  }
}

}  // namespace tokenrail::engine_detail

// ---- rebuilding the records from the log (import) ---------------------------------

namespace tokenrail::engine_detail {

void restore_callbacks(engine::impl& e, storage::write_transaction& tx, std::string_view session_id) {
  auto codec = e.codec();
  std::vector<event> events;
  tx.scan(storage::table::events, event_prefix(session_id), [&](std::string_view, std::string_view v) {
    decode_events(v, [&](event&& ev) { events.push_back(std::move(ev)); });
    return true;
  });
  for (const auto& ev : events) {
    if (!ev.run) continue;
    const auto& d = ev.data;
    if (ev.kind == event_kind::run_started) {
      // A child linked by start_workflow {parent}: the link and childRunId.
      auto* spec = d.if_contains("spec");
      auto* t = spec && spec->is_object() ? spec->as_object().if_contains("callbackToken") : nullptr;
      if (!t || !t->is_string()) continue;
      auto cb = codec->verify(token::kind::callback, t->get_string());
      if (!cb) continue;   // minted under another keyring: the link cannot be used here
      tx.put(storage::table::callbacks, child_link_key(cb->run_id, *ev.run), "");
      if (auto rec = load_record(tx, *cb); rec && !rec->contains("childRunId")) {
        (*rec)["childRunId"] = format_run_id(*ev.run);
        save_record(tx, *cb, *rec);
      }
      continue;
    }
    if (!ev.node || !d.contains("attempt")) {
      if (ev.kind == event_kind::run_cancelled) {
        json::object resp{{"runId", format_run_id(*ev.run)}, {"phase", "Cancelled"},
                          {"cancelled", json::array{json::value(format_run_id(*ev.run))}}};
        if (auto* r = d.if_contains("reason")) resp["reason"] = *r;
        if (auto* c = d.if_contains("cascadedFrom")) resp["cascadedFrom"] = *c;
        tx.put(storage::table::callbacks, cancel_record_key(*ev.run), tokenrail::json::serialize(resp));
      }
      continue;
    }
    const token::payload cb{*ev.run, *ev.node, d.at("attempt").to_number<std::uint32_t>()};
    if (ev.kind == event_kind::step_suspended) {
      json::object rec;
      rec["state"] = "open";
      for (std::string_view k : {"origin", "stepId", "expiresAt", "childRunId", "index", "workflowId"})
        if (auto* v = d.if_contains(k)) rec[k] = *v;
      if (str_of(rec, "origin") == "suspend") {
        json::object r;
        r["callbackToken"] = codec->mint(token::kind::callback, cb);
        r["runId"] = format_run_id(cb.run_id);
        r["nodeId"] = format_node_id(cb.run_id, cb.node_seq);
        r["stepId"] = rec.at("stepId");
        r["sessionId"] = session_id;
        if (auto* x = rec.if_contains("expiresAt")) r["expiresAt"] = format_time(x->to_number<std::int64_t>());
        rec["suspendResponse"] = tokenrail::json::serialize(r);
      }
      if (auto* x = rec.if_contains("expiresAt"))
        tx.put(storage::table::callbacks, callback_expiry_key(x->to_number<std::int64_t>(), cb), "");
      if (auto c = parse_run_id(str_of(rec, "childRunId")))
        tx.put(storage::table::callbacks, child_link_key(cb.run_id, *c), "");
      save_record(tx, cb, rec);
    } else if (ev.kind == event_kind::step_completed) {
      auto rec = load_record(tx, cb);
      if (!rec) continue;
      const std::string_view by = str_of(d, "resolvedBy"), status = str_of(d, "status");
      const bool by_cancellation = by == "cancel_run" || (by == "child_run" && status == "cancelled");
      (*rec)["state"] = by == "expire_callbacks" ? "expired" : by_cancellation ? "cancelled" : "completed";
      (*rec)["resultStatus"] = status;
      if (auto* o = d.if_contains("output")) (*rec)["output"] = *o;
      if (auto* x = rec->if_contains("expiresAt"))
        tx.erase(storage::table::callbacks, callback_expiry_key(x->to_number<std::int64_t>(), cb));
      save_record(tx, cb, *rec);
    }
  }
}

}  // namespace tokenrail::engine_detail
