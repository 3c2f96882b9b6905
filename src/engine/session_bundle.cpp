// Session bundles: export and verified, idempotent import (see session_bundle.hpp).
#include "engine/session_bundle.hpp"

#include "engine/callbacks.hpp"
#include "engine/projection.hpp"
#include "engine/status_store.hpp"

#include <tokenrail/crypto/hash.hpp>
#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <set>

namespace tokenrail::engine_detail {

namespace {

constexpr std::string_view chain_rule =
    "hash = BLAKE2b-256(prev || RFC 8785 JSON of the event without prev and hash); prev of event 0 is 32 zero bytes";

[[noreturn]] void bad_event(std::uint64_t position, std::string reason, std::string pointer = {}) {
  boost::json::object d;
  d["position"] = position;
  d["reason"] = reason;
  d["pointer"] = pointer.empty() ? "/bundle/events/" + std::to_string(position) : std::move(pointer);
  fail(errc::INVALID_BUNDLE, fmt::format("the bundle is refused at event {}: {}", position, reason), std::move(d));
}

[[noreturn]] void bad_workflow(const std::string& hash, std::string reason) {
  boost::json::object d;
  d["workflowHash"] = hash;
  d["reason"] = reason;
  d["pointer"] = "/bundle/workflows/" + hash;
  fail(errc::INVALID_BUNDLE, fmt::format("the bundle is refused at workflow {}: {}", hash, reason), std::move(d));
}

[[noreturn]] void bad_shape(std::string_view pointer, std::string reason) {
  boost::json::object d;
  d["reason"] = reason;
  d["pointer"] = pointer;
  fail(errc::INVALID_BUNDLE, "the bundle is malformed: " + reason, std::move(d));
}

bool hex32(const boost::json::value* v, hash32& out) {
  return v && v->is_string() && v->as_string().size() == 64 &&
         crypto::from_hex(std::string_view(v->as_string()), std::span<std::uint8_t>(out));
}

/// "event 12: what" (project_session's problem text) -> 12 and "what".
std::pair<std::uint64_t, std::string> split_problem(const std::string& p, std::uint64_t fallback) {
  std::uint64_t n = fallback;
  constexpr std::string_view pre = "event ";
  if (p.rfind(pre, 0) == 0) {
    const char* b = p.data() + pre.size();
    auto r = std::from_chars(b, p.data() + p.size(), n);
    if (r.ec == std::errc() && r.ptr + 2 <= p.data() + p.size() && r.ptr[0] == ':')
      return {n, std::string(r.ptr + 2, p.data() + p.size())};
  }
  return {fallback, p};
}

/// What the pure checks learn from the events; used by the write phase.
struct checked_bundle {
  std::string session_id;
  std::vector<std::string> stored;      // hash:32 ‖ canonical text, as the events table keeps them
  std::vector<hash32> hashes;
  std::int64_t created_at = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;   // (run, index of run_started)
  std::map<std::uint64_t, std::string> run_hash;               // run -> workflowHash
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::uint64_t> node_event;   // (run, node) -> index
  std::map<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>, std::pair<std::string, std::uint64_t>>
      digests;                                                 // (run, node, attempt) -> (digest bytes, index)
  std::map<std::string, std::shared_ptr<const workflow::compiled>> workflows;   // the ones runs use
  struct checkpoint {
    std::uint64_t run;
    std::uint32_t node;
    hash32 digest;   // of the content (the event's data), as checkpoint_workflow keys it
    std::int64_t at;
  };
  /// By run: write_run looks up its own instead of going through every
  /// checkpoint of the session (runs x checkpoints in a session of many runs).
  std::map<std::uint64_t, std::vector<checkpoint>> checkpoints;
  /// What each advance sent besides its tokens, by the node it created:
  /// {context?, output?} (from context_set / output_appended).
  std::map<std::pair<std::uint64_t, std::uint32_t>, boost::json::object> request_body;
};

checked_bundle check_bundle(const boost::json::object& b) {
  checked_bundle c;
  auto* format = b.if_contains("format");
  if (!format || !format->is_string() || format->as_string() != bundle_format)
    bad_shape("/bundle/format", "format must be \"" + std::string(bundle_format) + "\"");
  auto* sid = b.if_contains("sessionId");
  if (!sid || !sid->is_string() || !valid_session_id(sid->as_string()))
    bad_shape("/bundle/sessionId", "sessionId must be 1..128 printable ASCII characters");
  c.session_id = std::string(sid->as_string());
  auto* events = b.if_contains("events");
  if (!events || !events->is_array() || events->as_array().empty())
    bad_shape("/bundle/events", "events must be a non-empty array");
  auto* workflows = b.if_contains("workflows");
  if (!workflows || !workflows->is_object()) bad_shape("/bundle/workflows", "workflows must be an object");
  auto* manifest = b.if_contains("manifest");
  if (!manifest || !manifest->is_object()) bad_shape("/bundle/manifest", "manifest must be an object");

  // ---- 2. the chain, event by event.
  hash32 running{};
  auto& request_body = c.request_body;
  const auto& list = events->as_array();
  c.stored.reserve(list.size());
  c.hashes.reserve(list.size());
  for (std::uint64_t i = 0; i < list.size(); ++i) {
    const std::string ptr = "/bundle/events/" + std::to_string(i);
    if (!list[i].is_object()) bad_event(i, "an event must be an object");
    const auto& o = list[i].as_object();
    hash32 prev{}, stated{};
    if (!hex32(o.if_contains("prev"), prev)) bad_event(i, "prev must be 64 lowercase hex digits", ptr + "/prev");
    if (!hex32(o.if_contains("hash"), stated)) bad_event(i, "hash must be 64 lowercase hex digits", ptr + "/hash");
    if (prev != running)
      bad_event(i, "prev is not the hash of the event before it: an event was changed, dropped, inserted or moved here",
                ptr + "/prev");
    boost::json::object body = o;
    body.erase("prev");
    body.erase("hash");
    std::string canonical;
    try {
      canonical = json::canonicalize(body);
    } catch (const failure& f) {
      bad_event(i, "the event cannot be canonicalized: " + f.err().message);
    }
    const hash32 h = blake2b_256().update(std::span<const std::uint8_t>(running)).update(canonical).final();
    if (h != stated) bad_event(i, "hash does not match the event's content: the event was changed", ptr + "/hash");
    std::string stored(as_view(h));
    stored.append(canonical);
    event ev;
    try {
      ev = decode_event(stored);
    } catch (const failure&) {
      bad_event(i, "not a well-formed event (index, kind, data, at, runId, nodeId)");
    }
    if (ev.index != i) bad_event(i, "index does not match the event's position", ptr + "/index");
    if (i == 0) {
      auto* s = ev.data.if_contains("sessionId");
      if (ev.kind != event_kind::session_created || !s || !s->is_string() || s->as_string() != c.session_id)
        bad_event(0, "the first event must be session_created for the bundle's sessionId");
      c.created_at = ev.at;
    }
    if (ev.kind == event_kind::run_started && ev.run) {
      const boost::json::value* hash = nullptr;
      if (auto* spec = ev.data.if_contains("spec"); spec && spec->is_object())
        hash = spec->as_object().if_contains("workflowHash");
      if (!hash || !hash->is_string()) bad_event(i, "run_started lacks spec.workflowHash", ptr + "/data/spec");
      c.runs.emplace_back(*ev.run, i);
      c.run_hash[*ev.run] = std::string(hash->as_string());
    } else if (ev.kind == event_kind::node_created && ev.run && ev.node) {
      c.node_event.emplace(std::make_pair(*ev.run, *ev.node), i);
    } else if (ev.kind == event_kind::checkpoint_recorded && ev.run && ev.node) {
      c.checkpoints[*ev.run].push_back({*ev.run, *ev.node, blake2b(json::canonicalize(ev.data)), ev.at});
    } else if ((ev.kind == event_kind::context_set || ev.kind == event_kind::output_appended) && ev.run && ev.node) {
      const char* field = ev.kind == event_kind::context_set ? "context" : "output";
      if (auto* v = ev.data.if_contains(field)) request_body[{*ev.run, *ev.node}][field] = *v;
    } else if (ev.kind == event_kind::advance_recorded && ev.run && ev.node) {
      hash32 d{};
      auto* attempt = ev.data.if_contains("attempt");
      auto* child = ev.data.if_contains("child");
      if (!attempt || !attempt->is_number() || !child || !child->is_number())
        bad_event(i, "advance_recorded lacks its attempt or child", ptr + "/data");
      boost::system::error_code ec, ec2;
      auto a = attempt->to_number<std::uint32_t>(ec);
      auto ch = child->to_number<std::uint32_t>(ec2);
      if (ec || ec2) bad_event(i, "advance_recorded attempt or child is not a 32-bit number", ptr + "/data");
      if (auto* digest = ev.data.if_contains("digest")) {
        if (!hex32(digest, d)) bad_event(i, "advance_recorded digest must be 64 hex digits", ptr + "/data/digest");
      } else {
        // No digest in the event: the request's identity is rebuilt from
        // what the advance recorded about the child (context delta and
        // output), the body continue_workflow digests (tokens excluded).
        auto body = request_body.find({*ev.run, ch});
        d = blake2b(json::canonicalize(body == request_body.end() ? boost::json::object() : body->second));
      }
      c.digests[{*ev.run, *ev.node, a}] = {std::string(as_view(d)), i};
    }
    running = h;
    c.hashes.push_back(h);
    c.stored.push_back(std::move(stored));
  }

  // ---- 3. pinned workflows.
  for (const auto& kv : workflows->as_object()) {
    const std::string hash(kv.key());
    std::string actual;
    try {
      actual = crypto::workflow_hash(kv.value());
    } catch (const failure& f) {
      bad_workflow(hash, "the definition cannot be hashed: " + f.err().message);
    }
    if (actual != hash) bad_workflow(hash, "the definition does not match its hash: it was changed");
    auto compiled = workflow::compile(kv.value());
    if (!compiled) bad_workflow(hash, "the definition does not compile: " + compiled.error().message);
    if ((*compiled)->workflow_hash != hash)
      bad_workflow(hash, "the definition is not a pinned (expanded) definition: it compiles to another hash");
    c.workflows.emplace(hash, std::move(*compiled));
  }
  for (const auto& [run, index] : c.runs) {
    const auto& hash = c.run_hash[run];
    if (!c.workflows.count(hash))
      bad_event(index, "the run's pinned workflow " + hash + " is not in the bundle's workflows",
                "/bundle/events/" + std::to_string(index) + "/data/spec/workflowHash");
  }
  for (auto it = c.workflows.begin(); it != c.workflows.end();) {
    bool used = false;
    for (const auto& rh : c.run_hash) used = used || rh.second == it->first;
    it = used ? std::next(it) : c.workflows.erase(it);
  }

  // ---- 4. the manifest agrees with the chain.
  const auto& m = manifest->as_object();
  auto* count = m.if_contains("eventCount");
  boost::system::error_code ec;
  const std::uint64_t n = list.size();
  std::uint64_t said = count && count->is_number() ? count->to_number<std::uint64_t>(ec) : 0;
  if (!count || ec) bad_shape("/bundle/manifest/eventCount", "manifest.eventCount must be a non-negative integer");
  if (said != n)
    bad_event(std::min(said, n),
              fmt::format("the manifest says {} events but the bundle holds {}: events were dropped or added at the end",
                          said, n),
              "/bundle/manifest/eventCount");
  hash32 head{};
  if (!hex32(m.if_contains("headHash"), head)) bad_shape("/bundle/manifest/headHash", "manifest.headHash must be 64 hex digits");
  if (head != running)
    bad_event(n - 1, "the manifest's headHash is not the hash of the last event", "/bundle/manifest/headHash");
  // The summary members export_session writes are optional (a bundle put
  // together by hand may leave them out), but one present must say what the
  // events say: a reader of the bundle trusts them, and a bundle of another
  // chain rule would otherwise only fail as "hash does not match".
  auto summary_mismatch = [&](std::string_view member, const boost::json::value& actual) {
    auto* v = m.if_contains(member);
    if (v && *v != actual)
      bad_shape("/bundle/manifest/" + std::string(member),
                fmt::format("manifest.{} is not what the events say ({})", member, json::serialize(actual)));
  };
  if (auto* rule = m.if_contains("chain"); rule && !(rule->is_string() && rule->get_string() == chain_rule))
    bad_shape("/bundle/manifest/chain", fmt::format("the bundle's chain rule is not this engine's (\"{}\")", chain_rule));
  boost::json::array run_ids, workflow_hashes;
  for (const auto& [run, index] : c.runs) run_ids.emplace_back(format_run_id(run));
  for (const auto& kv : c.workflows) workflow_hashes.emplace_back(kv.first);   // sorted, as export lists them
  summary_mismatch("runIds", run_ids);
  summary_mismatch("workflowHashes", workflow_hashes);
  summary_mismatch("firstEventAt", boost::json::value(format_time(c.created_at)));
  return c;
}

[[noreturn]] void conflict(const std::string& session, std::uint64_t position, std::string reason) {
  boost::json::object d;
  d["position"] = position;
  d["reason"] = reason;
  d["sessionId"] = session;
  d["pointer"] = "/bundle/events/" + std::to_string(position);
  fail(errc::INVALID_BUNDLE, "the bundle conflicts with this store: " + reason, std::move(d));
}

/// Rebuilds one run's records from its replayed projection.
void write_run(engine::impl& e, storage::write_transaction& tx, const checked_bundle& c, std::uint64_t run,
               std::uint64_t started_at, const projected_run& pr) {
  const std::string rid = format_run_id(run);
  const auto* md = pr.document.is_object() ? pr.document.as_object().if_contains("metadata") : nullptr;
  const boost::json::value* md_run = md && md->is_object() ? md->as_object().if_contains("runId") : nullptr;
  const boost::json::value* md_ses = md && md->is_object() ? md->as_object().if_contains("sessionId") : nullptr;
  if (!md_run || !md_ses || *md_run != boost::json::value(rid) || *md_ses != boost::json::value(c.session_id))
    bad_event(started_at, "run_started's metadata names another run or session",
              "/bundle/events/" + std::to_string(started_at) + "/data/metadata");
  const auto* spec = pr.document.as_object().if_contains("spec");
  if (!spec || !spec->is_object() || !spec->as_object().contains("workflowId") ||
      !spec->as_object().at("workflowId").is_string())
    bad_event(started_at, "run_started lacks spec.workflowId", "/bundle/events/" + std::to_string(started_at) + "/data/spec");

  run_info info;
  info.run_id = run;
  info.session_id = c.session_id;
  info.workflow_id = std::string(spec->as_object().at("workflowId").as_string());
  info.workflow_hash = c.run_hash.at(run);
  info.wf = c.workflows.at(info.workflow_hash);
  const workflow::program& prog = *info.wf->prog;

  tx.put(storage::table::runs, run_spec_key(run), json::canonicalize(pr.document));
  run_status status = pr.status;
  write_status(tx, run, status);
  write_tips(tx, run, pr.other_tips);
  tx.put(storage::table::indexes, session_run_index_key(c.session_id, run), "");

  std::map<std::uint32_t, std::uint32_t> owner;   // node -> the node holding its context
  std::map<std::uint32_t, workflow::cursor> cursors;
  for (const auto& [seq, pn] : pr.nodes) {
    const auto ev_it = c.node_event.find({run, seq});
    const std::uint64_t at_event = ev_it == c.node_event.end() ? 0 : ev_it->second;
    node_record rec;
    rec.parent = pn.parent;
    rec.from_attempt = pn.from_attempt;
    rec.created_at = pn.created_at;
    rec.complete = pn.complete;
    rec.step_id = pn.step_id;
    rec.cursor = tokenrail::json::serialize(pn.cursor);
    // The cursor must fit the pinned program, or the first advance of the
    // imported run would fail deep inside the interpreter.
    try {
      workflow::cursor cur = parse_cursor(rec.cursor);
      if (!pn.complete && workflow::step_id_at(prog, cur) != pn.step_id)
        bad_event(at_event, "the node's cursor and stepId disagree with the pinned workflow");
      cursors.emplace(seq, std::move(cur));
    } catch (const failure& f) {
      if (f.err().code == errc::INVALID_BUNDLE) throw;
      bad_event(at_event, "the node's cursor does not fit the pinned workflow: " + f.err().message);
    }
    // Share the parent's context record when the context did not change,
    // as the live path does (a node reads at most one other record).
    if (pn.parent != no_node && pr.nodes.at(pn.parent).context == pn.context) {
      rec.context_owner = owner.at(pn.parent);
    } else {
      rec.context_owner = seq;
      rec.context = json::canonicalize(pn.context);
    }
    owner[seq] = rec.context_owner;
    // Nodes are immutable: one this store already holds (a session that
    // grows by a later import) stays as it is.
    if (!tx.get(storage::table::nodes, node_key(run, seq)))
      tx.put(storage::table::nodes, node_key(run, seq), encode_node(rec, seq));
  }

  // Ack records: the request digest travels in advance_recorded; the
  // recorded response is rendered again for the child node with this
  // store's tokens (the exporting store's tokens mean nothing here).
  for (const auto& [k, child] : pr.acks) {
    const auto d = c.digests.find({run, k.first, k.second});
    if (d == c.digests.end()) bad_event(0, "an advance was recorded without its request digest");
    // An ack record this store already holds keeps its response: replays of
    // advances made here must stay byte-identical.
    if (tx.get(storage::table::acks, ack_key(run, k.first, k.second))) continue;
    const projected_node& cn = pr.nodes.at(child);
    step_response_in out;
    out.kind = "ok";
    out.run = &info;
    out.seq = child;
    out.complete = cn.complete;
    out.attempt = 0;
    out.at = &cursors.at(child);
    out.context = &cn.context;
    std::string response;
    try {
      // The interpreter is pure: advancing the parent's cursor again with
      // the recorded output gives the warnings the first response carried.
      static const boost::json::value no_output;
      const boost::json::value* output = &no_output;
      if (auto b = c.request_body.find({run, child}); b != c.request_body.end())
        if (auto* o = b->second.if_contains("output")) output = o;
      out.warnings = workflow::advance(prog, cursors.at(k.first), cn.context, *output).warnings;
      response = step_response(e, std::move(out));
    } catch (const failure& f) {
      bad_event(d->second.second, "the recorded advance cannot be rendered: " + f.err().message);
    }
    tx.put(storage::table::acks, ack_key(run, k.first, k.second), encode_ack(d->second.first, child, response));
  }

  // Idempotency indexes, so that repeating a checkpoint or a keyed start in
  // this store answers as it did at home instead of recording again. The
  // responses are those checkpoint_workflow / start_workflow give, with
  // this store's tokens (test_export_import checks they are byte-identical
  // when both stores share a secret).
  auto codec = e.codec();
  static const std::vector<checked_bundle::checkpoint> none;
  const auto cps = c.checkpoints.find(run);
  for (const auto& cp : cps == c.checkpoints.end() ? none : cps->second) {
    const std::string key = checkpoint_index_key(run, cp.node, as_view(cp.digest).substr(0, 16));
    if (tx.get(storage::table::indexes, key)) continue;
    boost::json::object r;
    boost::json::object point;
    point["runId"] = rid;
    point["nodeId"] = format_node_id(run, cp.node);
    point["digest"] = to_hex(as_view(cp.digest).substr(0, 16));
    point["at"] = format_time(cp.at);
    r["checkpoint"] = std::move(point);
    r["stateToken"] = codec->mint(token::kind::state, {run, cp.node, 0});
    r["checkpointToken"] = codec->mint(token::kind::checkpoint, {run, cp.node, 0});
    r["session"] = boost::json::object{{"sessionId", c.session_id}, {"runId", rid}};
    tx.put(storage::table::indexes, key, tokenrail::json::serialize(r));
  }
  if (auto* idem = spec->as_object().if_contains("idempotencyKey"); idem && idem->is_string() && pr.nodes.count(0)) {
    const std::string key = idempotency_index_key(std::string_view(idem->as_string()));
    if (!tx.get(storage::table::indexes, key)) {
      const projected_node& root = pr.nodes.at(0);
      step_response_in out;
      out.run = &info;
      out.seq = 0;
      out.complete = root.complete;
      out.attempt = 0;
      out.at = &cursors.at(0);
      out.context = &root.context;
      try {
        out.warnings = workflow::start(prog, root.context).warnings;
        tx.put(storage::table::indexes, key, step_response(e, std::move(out)));
      } catch (const failure& f) {
        bad_event(started_at, "the run's first step cannot be rendered: " + f.err().message);
      }
    }
  }
}

}  // namespace

boost::json::object export_bundle(storage::read_transaction& tx, std::string_view session_id) {
  if (!tx.get(storage::table::sessions, session_id)) {
    boost::json::object d;
    d["sessionId"] = session_id;
    d["pointer"] = "/sessionId";
    fail(errc::SESSION_NOT_FOUND, "no session has that id in this store", std::move(d));
  }
  boost::json::array events;
  boost::json::array run_ids;
  std::set<std::string> hashes;
  hash32 prev{};
  std::int64_t first_at = 0;
  tx.scan(storage::table::events, event_prefix(session_id), [&](std::string_view, std::string_view value) {
    decode_events(value, [&](event&& ev) {
      if (events.empty()) first_at = ev.at;
      if (ev.kind == event_kind::run_started && ev.run) {
        run_ids.emplace_back(format_run_id(*ev.run));
        try {
          hashes.insert(std::string(ev.data.at("spec").at("workflowHash").as_string()));
        } catch (const std::exception&) {
          fail(errc::STORE_CORRUPT, "a run_started event lacks spec.workflowHash");
        }
      }
      boost::json::value v = parse_stored_json(ev.canonical, "an event");
      if (!v.is_object()) fail(errc::STORE_CORRUPT, "an event is not an object");
      auto& o = v.as_object();
      o["prev"] = to_hex(as_view(prev));
      o["hash"] = to_hex(as_view(ev.hash));
      prev = ev.hash;
      events.push_back(std::move(v));
    });
    return true;
  });
  boost::json::object workflows;
  boost::json::array workflow_hashes;
  for (const auto& h : hashes) {
    auto def = tx.get(storage::table::workflows, h);
    if (!def) {
      boost::json::object d;
      d["workflowHash"] = h;
      fail(errc::PINNED_WORKFLOW_MISSING, "a run's pinned definition is not in the store", std::move(d));
    }
    boost::system::error_code ec;
    auto v = parse_json_text(*def, ec);
    if (ec) fail(errc::STORE_CORRUPT, "a pinned workflow definition does not parse");
    workflows[h] = std::move(v);
    workflow_hashes.emplace_back(h);
  }
  boost::json::object manifest;
  manifest["eventCount"] = events.size();
  manifest["headHash"] = to_hex(as_view(prev));
  manifest["firstEventAt"] = format_time(first_at);
  manifest["runIds"] = std::move(run_ids);
  manifest["workflowHashes"] = std::move(workflow_hashes);
  manifest["chain"] = chain_rule;
  boost::json::object b;
  b["format"] = bundle_format;
  b["sessionId"] = session_id;
  b["events"] = std::move(events);
  b["workflows"] = std::move(workflows);
  b["manifest"] = std::move(manifest);
  return b;
}

import_result import_bundle(engine::impl& e, const boost::json::object& bundle) {
  const checked_bundle c = check_bundle(bundle);
  const std::uint64_t n = c.stored.size();
  import_result res;
  res.session_id = c.session_id;
  for (const auto& [run, index] : c.runs) res.run_ids.push_back(format_run_id(run));
  res.event_count = n;
  res.head_hash = to_hex(as_view(c.hashes.back()));

  e.store->write([&](storage::write_transaction& tx) {
    res.written = false;
    std::uint64_t have = 0;
    if (auto hv = tx.get(storage::table::sessions, c.session_id)) {
      const session_head head = decode_session(*hv);
      if (head.next_index > n)
        conflict(c.session_id, n, fmt::format("the store holds {} events of this session, the bundle only {}",
                                              head.next_index, n));
      if (head.next_index > 0) {
        // The chain makes the last shared hash vouch for the whole prefix.
        // The session's last record begins with the hash of its last event
        // (a single event's value and a group alike, see events.hpp).
        const std::uint64_t last = head.next_index - 1;
        std::string_view last_hash;
        tx.scan(storage::table::events, event_prefix(c.session_id), [&](std::string_view, std::string_view sv) {
          last_hash = sv.substr(0, 32);
          return false;
        }, /*reverse=*/true);
        if (last_hash != as_view(c.hashes[last])) {
          // Only on this error path: find where the histories part.
          std::uint64_t first = 0;
          bool parted = false;
          tx.scan(storage::table::events, event_prefix(c.session_id), [&](std::string_view, std::string_view sv) {
            decode_events(sv, [&](event&& ev) {
              if (parted || first >= n || ev.hash != c.hashes[first]) parted = true;
              else ++first;
            });
            return !parted;
          });
          conflict(c.session_id, first,
                   fmt::format("the store holds a different history of this session from event {} on", first));
        }
      }
      if (head.next_index == n) return;   // already imported: nothing to write
      have = head.next_index;
    }
    for (const auto& [run, index] : c.runs) {
      if (auto doc = tx.get(storage::table::runs, run_spec_key(run))) {
        boost::system::error_code ec;
        auto v = parse_json_text(*doc, ec);
        const boost::json::value* s = nullptr;
        if (!ec && v.is_object())
          if (auto* md = v.as_object().if_contains("metadata"); md && md->is_object())
            s = md->as_object().if_contains("sessionId");
        if (!s || *s != boost::json::value(c.session_id))
          conflict(c.session_id, index, "run " + format_run_id(run) + " already exists in this store in another session");
      }
    }
    for (const auto& [hash, wf] : c.workflows)
      if (!tx.get(storage::table::workflows, hash)) tx.put(storage::table::workflows, hash, json::canonicalize(wf->definition));
    for (std::uint64_t i = have; i < n; ++i) tx.put(storage::table::events, event_key(c.session_id, i), c.stored[i]);
    session_head head;
    head.created_at = c.created_at;
    head.next_index = n;
    std::copy(c.hashes.back().begin(), c.hashes.back().end(), head.last_hash.begin());
    tx.put(storage::table::sessions, c.session_id, encode_session(head));

    // ---- 5. the replay: the engine's own projection over the events just written.
    session_projection p = project_session(tx, c.session_id);
    if (!p.problems.empty()) {
      auto [pos, why] = split_problem(p.problems.front(), p.events);
      bad_event(pos, "the events do not replay: " + why);
    }
    if (p.events != n) bad_event(p.events, "the events do not replay");
    std::map<std::uint64_t, std::uint64_t> started;
    for (const auto& [run, index] : c.runs) started[run] = index;
    for (const auto& [run, pr] : p.runs) write_run(e, tx, c, run, started.at(run), pr);
    // D8 callback records are not in a bundle either: callback_restore.cpp rebuilds
    // them from the same events.
    try {
      restore_callbacks(e, tx, c.session_id);
    } catch (const std::exception& ex) {
      const failure* f = dynamic_cast<const failure*>(&ex);
      bad_shape("/bundle/events", std::string("the callback events do not rebuild: ") +
                                      (f ? f->err().message : std::string(ex.what())));
    }
    res.written = true;
  });
  return res;
}

}  // namespace tokenrail::engine_detail
