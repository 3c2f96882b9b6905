// verify (D7): every session's hash chain plus a replay that rebuilds every
// node and projection from the log and compares with the store
// (projection.hpp's verify_store), reported per session.
//
// With sessionId only that session is checked: verify_store runs over a
// view of the transaction in which the store holds just that session (so
// the cost is that session's, not the store's), and the store-wide check
// for runs without a run_started event is left out.
#include "engine/context.hpp"
#include "engine/projection.hpp"

#include <tokenrail/json/canonical.hpp>

#include <map>

namespace tokenrail::engine_detail {

namespace {

/// A read transaction that shows one session: the sessions table lists only
/// it and the full scan of the runs table (the orphan check) is empty.
/// Everything else (gets, prefix scans of one session or run) passes through.
class one_session_view final : public storage::read_transaction {
 public:
  one_session_view(storage::read_transaction& inner, std::string_view session) : inner_(inner), session_(session) {}
  std::optional<std::string_view> get(storage::table t, std::string_view key) override { return inner_.get(t, key); }
  void scan(storage::table t, std::string_view prefix,
            detail::function_ref<bool(std::string_view, std::string_view)> visit, bool reverse) override {
    if (t == storage::table::sessions && prefix.empty()) {
      if (auto v = inner_.get(t, session_)) visit(session_, *v);
      return;
    }
    if (t == storage::table::runs && prefix.empty()) return;
    inner_.scan(t, prefix, visit, reverse);
  }

 private:
  storage::read_transaction& inner_;
  std::string session_;
};

}  // namespace

std::string op_verify(engine::impl& e, const boost::json::object& req) {
  std::optional<std::string> only;
  if (auto* s = member(req, "sessionId")) only = std::string(s->as_string());
  verify_report rep;
  std::map<std::string, std::uint64_t> sessions;   // id -> events (chain head)
  e.store->read([&](storage::read_transaction& tx) {
    if (only && !tx.get(storage::table::sessions, *only)) {
      boost::json::object d;
      d["sessionId"] = *only;
      d["pointer"] = "/sessionId";
      fail(errc::SESSION_NOT_FOUND, "no session has that id in this store", std::move(d));
    }
    one_session_view view(tx, only ? *only : std::string());
    storage::read_transaction& scope = only ? static_cast<storage::read_transaction&>(view) : tx;
    rep = verify_store(scope);
    scope.scan(storage::table::sessions, "", [&](std::string_view key, std::string_view value) {
      std::uint64_t n = 0;
      try {
        n = decode_session(value).next_index;
      } catch (const failure&) {
        // verify_store reports the damaged head.
      }
      sessions.emplace(std::string(key), n);
      return true;
    });
  });
  // verify_store prefixes a session's problems with "<sessionId>: "; ids hold
  // no spaces, so the first ": " ends the id. Other problems are store-wide.
  std::map<std::string, std::vector<std::string>> by_session;
  std::vector<std::string> store_wide;
  for (auto& p : rep.problems) {
    auto cut = p.find(": ");
    if (cut != std::string::npos && sessions.count(p.substr(0, cut))) by_session[p.substr(0, cut)].push_back(p.substr(cut + 2));
    else store_wide.push_back(p);
  }
  boost::json::array list;
  bool ok = true;
  for (const auto& [sid, events] : sessions) {
    if (only && sid != *only) continue;
    boost::json::object s;
    s["sessionId"] = sid;
    s["events"] = events;
    auto it = by_session.find(sid);
    const bool sok = it == by_session.end();
    s["ok"] = sok;
    if (!sok) {
      s["problem"] = it->second.front();
      boost::json::array all;
      for (auto& p : it->second) all.emplace_back(p);
      s["problems"] = std::move(all);
      ok = false;
    }
    list.push_back(std::move(s));
  }
  boost::json::object r;
  if (!only && !store_wide.empty()) ok = false;
  r["ok"] = ok;
  r["sessions"] = std::move(list);
  if (!only) {
    boost::json::array sw;
    for (auto& p : store_wide) sw.emplace_back(p);
    r["problems"] = std::move(sw);
    r["counts"] = boost::json::object{{"sessions", rep.sessions}, {"events", rep.events}, {"runs", rep.runs}, {"nodes", rep.nodes}};
  }
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
