// delete_sessions (issue 4 item 5, retention): removes whole sessions — every
// run with its nodes, ack records, callbacks, child links, indexes, and the
// session's event log and chain head — in ONE write transaction, so a
// deletion is all or nothing. LMDB puts the freed pages on its free list and
// reuses them for later writes, so a store that keeps deleting old sessions
// stays bounded in size (tests/durability/test_retention.cpp).
//
// Request {sessionIds?: [id], olderThanMs?: n} (at least one): the listed
// sessions, or every session whose last activity (the `at` of its newest
// event) is older than now - olderThanMs, or, with both, the listed ones
// that are that old. Response {deleted: [ids], notFound: [ids]} (notFound:
// listed ids with no session). Deleting again is harmless: {deleted: []}.
//
// Decisions (documented here because the brief leaves them open):
// - Pinned workflow definitions stay. They are content-addressed and stored
//   once per distinct definition (not per run), so they do not grow with
//   history; finding unreferenced ones would need a scan of every remaining
//   run (or a reference count written by every start).
// - Runs linked across sessions (a child run started with
//   parent.callbackToken, or a delegation child, in another session) tie
//   their sessions together: deleting one without the other would leave a
//   child that can never complete its parent, or a parent waiting forever.
//   Listed sessions with such links are refused (INVALID_REQUEST, pointer
//   /sessionIds, details.linkedSessions) unless the linked sessions are
//   listed too; an age-based deletion skips them (details in `skipped`).
// - The store-level log ("~store": key_rotated events) is never deleted.
// - No event records the deletion: the log is per session and the session
//   is gone; hosts that need an audit trail log the response.
// - Tokens of deleted runs then fail with RUN_NOT_FOUND or NODE_NOT_FOUND.
#include "engine/callbacks.hpp"
#include "engine/context.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

#include <map>
#include <optional>
#include <set>

namespace tokenrail::engine_detail {

namespace {

/// The runs of a session (from the session -> runs index).
std::vector<std::uint64_t> runs_of(storage::read_transaction& tx, const std::string& session) {
  std::vector<std::uint64_t> runs;
  const std::string prefix = session_run_index_prefix(session);
  tx.scan(storage::table::indexes, prefix, [&](std::string_view key, std::string_view) {
    if (key.size() == prefix.size() + 8) runs.push_back(get_be64(key.data() + prefix.size()));
    return true;
  });
  return runs;
}

/// The `at` of the session's newest event (its last activity), or nullopt.
std::optional<std::int64_t> last_activity(storage::read_transaction& tx, const std::string& session) {
  std::optional<std::int64_t> at;
  tx.scan(storage::table::events, event_prefix(session), [&](std::string_view, std::string_view v) {
    decode_events(v, [&](event&& ev) { at = ev.at; });   // the record's last event
    return false;
  }, /*reverse=*/true);
  return at;
}

/// The session a run belongs to ("" if the run record is gone).
std::string session_of_run(storage::read_transaction& tx, std::uint64_t run) {
  auto doc = tx.get(storage::table::runs, run_spec_key(run));
  if (!doc) return {};
  boost::system::error_code ec;
  auto v = parse_json_text(*doc, ec);
  if (ec || !v.is_object()) fail(errc::STORE_CORRUPT, "a run record does not parse");
  const auto* md = v.as_object().if_contains("metadata");
  const auto* sid = md && md->is_object() ? md->as_object().if_contains("sessionId") : nullptr;
  if (!sid || !sid->is_string()) fail(errc::STORE_CORRUPT, "a run record lacks metadata.sessionId");
  return std::string(sid->as_string());
}

/// Every key in table t that starts with prefix.
void collect(storage::read_transaction& tx, storage::table t, std::string_view prefix,
             std::vector<std::pair<storage::table, std::string>>& out) {
  tx.scan(t, prefix, [&](std::string_view key, std::string_view) {
    out.emplace_back(t, std::string(key));
    return true;
  });
}

/// What deleting a run needs from its spec (read once per run).
struct run_facts {
  bool readable = false;                  // false: the record is gone or damaged (deleting it is still allowed)
  std::optional<std::string> idempotency_key;
  std::optional<std::string> callback_token;   // its parent link, if any
};

run_facts facts_of(storage::read_transaction& tx, std::uint64_t run) {
  run_facts f;
  auto doc = tx.get(storage::table::runs, run_spec_key(run));
  if (!doc) return f;
  boost::system::error_code ec;
  auto v = parse_json_text(*doc, ec);
  const auto* spec = !ec && v.is_object() ? v.as_object().if_contains("spec") : nullptr;
  if (!spec || !spec->is_object()) return f;
  f.readable = true;
  if (auto* k = spec->as_object().if_contains("idempotencyKey"); k && k->is_string()) f.idempotency_key = std::string(k->get_string());
  if (auto* t = spec->as_object().if_contains("callbackToken"); t && t->is_string()) f.callback_token = std::string(t->get_string());
  return f;
}

/// Parent <-> child links ('c' parent‖child records) of some runs.
struct link_map {
  std::multimap<std::uint64_t, std::uint64_t> children;   // parent -> child
  std::multimap<std::uint64_t, std::uint64_t> parents;    // child -> parent
};

/// The links of `runs`, read by key rather than by a scan of every link in
/// the store: a run's children under its own prefix; its parent is the run
/// its spec.callbackToken names (every link is made from that token:
/// start_workflow {parent}, a delegation's child, restore_callbacks). Only
/// when a token does not verify here (imported from a store with another
/// key, or a retired key) or the spec cannot be read is the parent unknown:
/// then all links are scanned.
link_map read_links(engine::impl& e, storage::read_transaction& tx, const std::map<std::uint64_t, run_facts>& runs) {
  link_map m;
  auto add = [&](std::uint64_t parent, std::uint64_t child) {
    m.children.emplace(parent, child);
    m.parents.emplace(child, parent);
  };
  const auto codec = e.codec();
  bool unknown_parent = false;
  for (const auto& [r, facts] : runs) {
    const std::string prefix = child_link_prefix(r);
    // A copy of the binding: clang before 16 cannot capture a structured
    // binding in a lambda.
    const std::uint64_t parent = r;
    tx.scan(storage::table::callbacks, prefix, [&](std::string_view key, std::string_view) {
      if (key.size() == prefix.size() + 8) add(parent, get_be64(key.data() + prefix.size()));
      return true;
    });
    if (!facts.readable) {
      unknown_parent = true;
      continue;
    }
    if (!facts.callback_token) continue;
    if (auto cb = codec->verify(token::kind::callback, *facts.callback_token)) {
      if (tx.get(storage::table::callbacks, child_link_key(cb->run_id, r))) add(cb->run_id, r);
    } else {
      unknown_parent = true;
    }
  }
  if (unknown_parent) {
    m = {};
    tx.scan(storage::table::callbacks, "c", [&](std::string_view key, std::string_view) {
      if (key.size() == 17) add(get_be64(key.data() + 1), get_be64(key.data() + 9));
      return true;
    });
  }
  return m;
}

/// Sessions (other than `session`) that runs of `session` are linked to.
std::set<std::string> linked_sessions(storage::read_transaction& tx, const link_map& links, const std::string& session,
                                      const std::vector<std::uint64_t>& runs) {
  std::set<std::string> out;
  auto add = [&](std::uint64_t other) {
    std::string s = session_of_run(tx, other);
    if (!s.empty() && s != session) out.insert(std::move(s));
  };
  for (std::uint64_t r : runs) {
    for (auto [it, end] = links.children.equal_range(r); it != end; ++it) add(it->second);
    for (auto [it, end] = links.parents.equal_range(r); it != end; ++it) add(it->second);
  }
  return out;
}

/// Every record of one session, for erasing after the scans are done.
void collect_session(storage::read_transaction& tx, const link_map& links, const std::map<std::uint64_t, run_facts>& facts,
                     const std::string& session, const std::vector<std::uint64_t>& runs,
                     std::vector<std::pair<storage::table, std::string>>& out) {
  using storage::table;
  std::set<std::uint64_t> damaged;   // runs with a callback record that does not parse
  for (std::uint64_t r : runs) {
    const std::string rp = node_prefix(r);   // runId:8, the prefix of runs/nodes/acks keys
    // The idempotency index entry of the run's start, if it still names it.
    if (const auto& key = facts.at(r).idempotency_key) {
      const std::string ik = idempotency_index_key(*key);
      if (auto resp = tx.get(table::indexes, ik); resp && resp->find(format_run_id(r)) != std::string_view::npos)
        out.emplace_back(table::indexes, ik);
    }
    collect(tx, table::runs, rp, out);
    collect(tx, table::nodes, rp, out);
    collect(tx, table::acks, rp, out);
    collect(tx, table::indexes, "c" + rp, out);             // idempotent checkpoints
    // The run's callbacks, and the deadline ('t' expiresAt‖run‖node‖attempt)
    // of each one still open: it exists exactly while its record is open
    // with an expiresAt, so it is found from the record instead of a scan of
    // every deadline in the store (only a damaged record needs that scan).
    const std::string cp = callback_run_prefix(r);
    tx.scan(table::callbacks, cp, [&](std::string_view key, std::string_view v) {
      out.emplace_back(table::callbacks, std::string(key));
      boost::system::error_code ec;
      auto rec = parse_json_text(v, ec);
      if (key.size() != cp.size() + 8 || ec || !rec.is_object()) {
        damaged.insert(r);
        return true;
      }
      const auto* x = rec.as_object().if_contains("expiresAt");
      if (x && x->is_number() && str_of(rec.as_object(), "state") == "open")
        out.emplace_back(table::callbacks, callback_expiry_key(x->to_number<std::int64_t>(),
                                                               {r, get_be32(key.data() + cp.size()),
                                                                get_be32(key.data() + cp.size() + 4)}));
      return true;
    });
    collect(tx, table::callbacks, child_link_prefix(r), out);
    out.emplace_back(table::callbacks, cancel_record_key(r));
    for (auto [it, end] = links.parents.equal_range(r); it != end; ++it)
      out.emplace_back(table::callbacks, child_link_key(it->second, r));
  }
  if (!damaged.empty()) {
    tx.scan(table::callbacks, "t", [&](std::string_view key, std::string_view) {
      std::int64_t at = 0;
      token::payload cb;
      if (parse_expiry_key(key, at, cb) && damaged.count(cb.run_id)) out.emplace_back(table::callbacks, std::string(key));
      return true;
    });
  }
  collect(tx, table::indexes, session_run_index_prefix(session), out);
  collect(tx, table::events, event_prefix(session), out);
  out.emplace_back(table::sessions, session);
}

}  // namespace
}  // namespace tokenrail::engine_detail

namespace tokenrail {
void engine::impl::forget(std::uint64_t run_id) {
  std::unique_lock lock(cache_mutex_);
  runs_.erase(run_id);
}
}  // namespace tokenrail

namespace tokenrail::engine_detail {

std::string op_delete_sessions(engine::impl& e, const boost::json::object& req) {
  std::vector<std::string> listed;
  if (auto* ids = member(req, "sessionIds"))
    for (const auto& v : ids->as_array()) listed.emplace_back(v.as_string());
  std::optional<std::int64_t> cutoff;
  if (auto* age = member(req, "olderThanMs")) cutoff = e.now() - age->to_number<std::int64_t>();

  boost::json::array deleted, not_found, skipped;
  std::vector<std::uint64_t> gone;   // runs deleted (for the cache, after the commit)
  e.store->write([&](storage::write_transaction& tx) {
    deleted.clear();
    not_found.clear();
    skipped.clear();
    gone.clear();
    // 1. Which sessions.
    std::vector<std::string> candidates;
    if (member(req, "sessionIds")) {
      std::set<std::string> seen;
      for (const auto& s : listed) {
        if (!seen.insert(s).second) continue;
        if (tx.get(storage::table::sessions, s)) candidates.push_back(s);
        else not_found.emplace_back(s);
      }
    } else {
      tx.scan(storage::table::sessions, "", [&](std::string_view key, std::string_view) {
        if (!key.empty() && key.front() != '~') candidates.emplace_back(key);
        return true;
      });
    }
    if (cutoff) {
      std::vector<std::string> old;
      for (auto& s : candidates) {
        auto at = last_activity(tx, s);
        if (!at || *at < *cutoff) old.push_back(std::move(s));
      }
      candidates = std::move(old);
    }
    // 2. Cross-session links: all linked sessions must go together.
    std::map<std::string, std::vector<std::uint64_t>> runs;
    std::map<std::uint64_t, run_facts> facts;
    for (const auto& s : candidates) {
      runs[s] = runs_of(tx, s);
      for (std::uint64_t r : runs[s]) facts.emplace(r, facts_of(tx, r));
    }
    const link_map links = read_links(e, tx, facts);
    const std::set<std::string> chosen(candidates.begin(), candidates.end());
    std::vector<std::string> go;
    for (const auto& s : candidates) {
      std::set<std::string> outside;
      for (auto& l : linked_sessions(tx, links, s, runs[s]))
        if (!chosen.count(l)) outside.insert(l);
      if (outside.empty()) {
        go.push_back(s);
        continue;
      }
      boost::json::array ls;
      for (auto& l : outside) ls.emplace_back(l);
      if (member(req, "sessionIds")) {
        boost::json::object d;
        d["pointer"] = "/sessionIds";
        d["sessionId"] = s;
        d["linkedSessions"] = std::move(ls);
        fail(errc::INVALID_REQUEST,
             "session '" + s + "' has runs linked (parent/child) to runs of other sessions; delete them together",
             std::move(d));
      }
      skipped.push_back(boost::json::object{{"sessionId", s}, {"linkedSessions", std::move(ls)}});
    }
    // 3. Collect every key first (no writes while scanning), then erase.
    std::vector<std::pair<storage::table, std::string>> keys;
    for (const auto& s : go) {
      collect_session(tx, links, facts, s, runs[s], keys);
      gone.insert(gone.end(), runs[s].begin(), runs[s].end());
      deleted.emplace_back(s);
    }
    for (const auto& [t, k] : keys) tx.erase(t, k);
  });
  // This process's cache of run facts would otherwise outlive the runs
  // (other processes' engines keep theirs; see the report on op_continue).
  for (std::uint64_t r : gone) e.forget(r);
  boost::json::object r;
  r["deleted"] = std::move(deleted);
  r["notFound"] = std::move(not_found);
  if (!skipped.empty()) r["skipped"] = std::move(skipped);
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
