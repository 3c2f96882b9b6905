#include "engine/projection.hpp"

#include "engine/callbacks.hpp"   // D8 (issue 5): status_on_async_event
#include "engine/status_store.hpp"

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace tokenrail::engine_detail {

namespace {

std::uint32_t u32_of(const boost::json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) fail(errc::VERIFY_FAILED, fmt::format("event data lacks '{}'", k));
  return v->to_number<std::uint32_t>();
}

struct replayer {
  session_projection& p;
  std::map<std::pair<std::uint64_t, std::uint32_t>, boost::json::object> deltas;
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::string> outputs;

  projected_run& run_of(const event& ev) {
    if (!ev.run) fail(errc::VERIFY_FAILED, "event without runId");
    auto it = p.runs.find(*ev.run);
    if (it == p.runs.end()) fail(errc::VERIFY_FAILED, "event for a run that was not started");
    return it->second;
  }

  void apply(const event& ev) {
    const auto& d = ev.data;
    if (ev.kind == event_kind::session_created || ev.kind == event_kind::run_completed ||
        ev.kind == event_kind::key_rotated) {
      return;
    }
    if (ev.kind == event_kind::run_started) {
      if (!ev.run || p.runs.count(*ev.run)) fail(errc::VERIFY_FAILED, "run_started twice or without runId");
      p.runs[*ev.run].document = d;
      return;
    }
    if (!ev.node) fail(errc::VERIFY_FAILED, "event without nodeId");
    const auto key = std::make_pair(*ev.run, *ev.node);
    if (ev.kind == event_kind::context_set) {
      run_of(ev);
      deltas[key] = d.at("context").as_object();
    } else if (ev.kind == event_kind::output_appended) {
      run_of(ev);
      outputs[key] = json::canonicalize(d.at("output"));
    } else if (ev.kind == event_kind::node_created) {
      auto& r = run_of(ev);
      if (r.nodes.count(*ev.node)) fail(errc::VERIFY_FAILED, "node created twice");
      projected_node n;
      n.parent = d.contains("parent") ? u32_of(d, "parent") : no_node;
      n.from_attempt = u32_of(d, "attempt");
      n.created_at = ev.at;
      n.complete = d.at("complete").as_bool();
      if (auto* s = d.if_contains("stepId")) n.step_id = std::string(s->as_string());
      n.cursor = d.at("cursor");
      if (n.parent == no_node) {
        n.context = r.document.at("spec").at("context").as_object();
      } else {
        auto pit = r.nodes.find(n.parent);
        if (pit == r.nodes.end()) fail(errc::VERIFY_FAILED, "node created under a parent that does not exist");
        n.context = pit->second.context;
      }
      if (auto dit = deltas.find(key); dit != deltas.end()) {
        merge_context(n.context, dit->second);
        deltas.erase(dit);
      }
      std::string out;
      if (auto oit = outputs.find(key); oit != outputs.end()) {
        out = std::move(oit->second);
        outputs.erase(oit);
      }
      const tips_change tips =
          status_on_node_created(r.status, n.parent, *ev.node, n.complete, ev.at, n.step_id, n.complete ? out : "");
      if (tips.remove != no_node) r.other_tips.erase(tips.remove);
      if (tips.add != no_node) r.other_tips.insert(tips.add);
      r.nodes.emplace(*ev.node, std::move(n));
    } else if (ev.kind == event_kind::edge_created) {
      auto& r = run_of(ev);
      auto it = r.nodes.find(u32_of(d, "to"));
      if (it == r.nodes.end() || it->second.parent != u32_of(d, "from") ||
          it->second.from_attempt != u32_of(d, "attempt"))
        fail(errc::VERIFY_FAILED, "edge_created does not match its node");
    } else if (ev.kind == event_kind::advance_recorded) {
      auto& r = run_of(ev);
      auto ins = r.acks.emplace(std::make_pair(*ev.node, u32_of(d, "attempt")), u32_of(d, "child"));
      if (!ins.second) fail(errc::VERIFY_FAILED, "two advances recorded for one (node, attempt)");
    } else if (ev.kind == event_kind::checkpoint_recorded) {
      auto& r = run_of(ev);
      if (!r.nodes.count(*ev.node)) fail(errc::VERIFY_FAILED, "checkpoint on a node that does not exist");
      r.status.last_activity = ev.at;
    } else if (ev.kind == event_kind::step_suspended || ev.kind == event_kind::step_completed ||
               ev.kind == event_kind::run_cancelled) {
      // D8 (issue 5): the same status rule as the live path (callback_status.cpp).
      auto& r = run_of(ev);
      status_on_async_event(r.status, ev.kind, *ev.node, d, ev.at);
    } else {
      fail(errc::VERIFY_FAILED, "unknown event kind '" + ev.kind + "'");
    }
  }
};

}  // namespace

session_projection project_session(storage::read_transaction& tx, std::string_view session_id) {
  session_projection p;
  p.session_id = std::string(session_id);
  replayer rp{p, {}, {}};
  bool stop = false;
  tx.scan(storage::table::events, event_prefix(session_id), [&](std::string_view key, std::string_view value) {
    // A record holds one event or the group of one transaction, keyed by
    // its first index: records follow each other without gaps.
    std::uint64_t expected = p.events;
    try {
      if (key.size() != session_id.size() + 9 || get_be64(key.data() + session_id.size() + 1) != expected)
        fail(errc::VERIFY_FAILED, "event keys are not consecutive");
      decode_events(value, [&](event&& ev) {
        expected = p.events;
        if (ev.index != expected) fail(errc::VERIFY_FAILED, "event index does not match its position");
        hash32 h = blake2b_256().update(std::span<const std::uint8_t>(p.last_hash)).update(ev.canonical).final();
        if (h != ev.hash) fail(errc::VERIFY_FAILED, "hash chain broken");
        // The stored text must be the canonical form of what it says.
        if (json::canonicalize(parse_json_text(ev.canonical)) != ev.canonical)
          fail(errc::VERIFY_FAILED, "event is not in canonical form");
        p.last_hash = h;
        ++p.events;
        rp.apply(ev);
      });
    } catch (const failure& f) {
      p.problems.push_back(fmt::format("event {}: {}", expected, f.err().message));
      stop = true;
    } catch (const std::exception& ex) {
      p.problems.push_back(fmt::format("event {}: malformed data ({})", expected, ex.what()));
      stop = true;
    }
    return !stop;
  });
  return p;
}

namespace {

void compare_run(storage::read_transaction& tx, std::uint64_t run, const projected_run& r,
                 std::vector<std::string>& problems, verify_report& report) {
  const std::string rid = format_run_id(run);
  auto doc = tx.get(storage::table::runs, run_spec_key(run));
  if (!doc) {
    problems.push_back(rid + ": run record missing");
    return;
  }
  if (json::canonicalize(r.document) != *doc) problems.push_back(rid + ": spec differs from run_started");
  auto st = tx.get(storage::table::runs, run_status_key(run));
  if (!st) {
    problems.push_back(rid + ": status record missing");
  } else {
    run_status stored = decode_status(*st);
    std::vector<std::uint32_t> tips(r.other_tips.begin(), r.other_tips.end());
    if (r.status.node_count) tips.push_back(r.status.preferred_tip);
    std::sort(tips.begin(), tips.end());
    if (read_tips(tx, run, stored) != tips) problems.push_back(rid + ": tips differ from the replay");
    stored.legacy_tips.clear();   // compared as tips just above
    if (!(stored == r.status)) problems.push_back(rid + ": status differs from the replay");
  }
  std::uint32_t stored_nodes = 0;
  tx.scan(storage::table::nodes, node_prefix(run), [&](std::string_view key, std::string_view value) {
    ++stored_nodes;
    const std::uint32_t seq = get_be32(key.data() + 8);
    auto it = r.nodes.find(seq);
    if (it == r.nodes.end()) {
      problems.push_back(format_node_id(run, seq) + ": stored node has no node_created event");
      return true;
    }
    const projected_node& pn = it->second;
    node_record n = decode_node(value, seq);
    if (n.parent != pn.parent || n.from_attempt != pn.from_attempt || n.created_at != pn.created_at ||
        n.complete != pn.complete || n.step_id != pn.step_id || parse_json_text(n.cursor) != pn.cursor)
      problems.push_back(format_node_id(run, seq) + ": node differs from the replay");
    std::string ctx_text = n.context;
    if (n.context_owner != seq) {
      auto ov = tx.get(storage::table::nodes, node_key(run, n.context_owner));
      ctx_text = ov ? decode_node(*ov, n.context_owner).context : std::string();
    }
    boost::json::value ctx = ctx_text.empty() ? boost::json::value(boost::json::object()) : parse_json_text(ctx_text);
    if (ctx != boost::json::value(pn.context)) problems.push_back(format_node_id(run, seq) + ": context differs from the replay");
    return true;
  });
  if (stored_nodes != r.nodes.size()) problems.push_back(rid + ": node count differs from the replay");
  report.nodes += stored_nodes;
  std::size_t stored_acks = 0;
  tx.scan(storage::table::acks, ack_prefix(run), [&](std::string_view key, std::string_view value) {
    ++stored_acks;
    const auto k = std::make_pair(get_be32(key.data() + 8), get_be32(key.data() + 12));
    auto it = r.acks.find(k);
    if (it == r.acks.end() || it->second != decode_ack(value).child)
      problems.push_back(format_node_id(run, k.first) + ": ack record differs from advance_recorded");
    return true;
  });
  if (stored_acks != r.acks.size()) problems.push_back(rid + ": ack records differ from the replay");
}

}  // namespace

verify_report verify_store(storage::read_transaction& tx) {
  verify_report report;
  std::vector<std::string> sessions;
  tx.scan(storage::table::sessions, "", [&](std::string_view key, std::string_view) {
    sessions.emplace_back(key);
    return true;
  });
  std::set<std::uint64_t> seen_runs;
  for (const auto& s : sessions) {
    ++report.sessions;
    auto p = project_session(tx, s);
    report.events += p.events;
    for (auto& prob : p.problems) report.problems.push_back(s + ": " + prob);
    auto head_v = tx.get(storage::table::sessions, s);
    try {
      session_head head = decode_session(*head_v);
      if (head.next_index != p.events || head.last_hash != p.last_hash)
        report.problems.push_back(s + ": chain head differs from the last event");
    } catch (const failure& f) {
      report.problems.push_back(s + ": " + f.err().message);
    }
    for (const auto& [run, r] : p.runs) {
      ++report.runs;
      seen_runs.insert(run);
      std::vector<std::string> probs;
      try {
        compare_run(tx, run, r, probs, report);
      } catch (const std::exception& ex) {
        probs.push_back(format_run_id(run) + ": " + ex.what());
      }
      for (auto& prob : probs) report.problems.push_back(s + ": " + prob);
    }
  }
  tx.scan(storage::table::runs, "", [&](std::string_view key, std::string_view) {
    if (key.size() == 9 && key[8] == '\0' && !seen_runs.count(get_be64(key.data())))
      report.problems.push_back(format_run_id(get_be64(key.data())) + ": run has no run_started event");
    return true;
  });
  report.ok = report.problems.empty();
  return report;
}

}  // namespace tokenrail::engine_detail
