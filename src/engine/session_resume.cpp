// resume_session's ranking (see session_resume.hpp).
#include "engine/session_resume.hpp"

#include "engine/events.hpp"

#include <tokenrail/json/canonical.hpp>

#include <tokenrail/json_parse.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace tokenrail::engine_detail {

namespace {

namespace bj = boost::json;

bool word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

/// 2 if `token` (word bytes, lowered) is a whole word of `text` (lowered),
/// 1 if a word of it only starts with the token, 0 otherwise. Searched in
/// place: no set of the text's words is built (resume_session scores every
/// run of the store against the query).
int word_match(std::string_view text, std::string_view token) {
  int best = 0;
  for (std::size_t p = text.find(token); p != std::string_view::npos; p = text.find(token, p + 1)) {
    if (p > 0 && word_byte(static_cast<unsigned char>(text[p - 1]))) continue;   // inside a word
    const std::size_t end = p + token.size();
    if (end == text.size() || !word_byte(static_cast<unsigned char>(text[end]))) return 2;
    best = 1;
  }
  return best;
}

/// Strings and numbers inside a JSON value (context values), space-separated.
void flatten(const bj::value& v, std::string& out, int depth = 0) {
  if (depth > 64) return;
  switch (v.kind()) {
    case bj::kind::string:
      out.append(v.get_string().data(), v.get_string().size());
      out.push_back('\n');
      break;
    case bj::kind::int64:
    case bj::kind::uint64:
    case bj::kind::double_:
      out += tokenrail::json::serialize(v);
      out.push_back('\n');
      break;
    case bj::kind::array:
      for (const auto& x : v.get_array()) flatten(x, out, depth + 1);
      break;
    case bj::kind::object:
      for (const auto& kv : v.get_object()) flatten(kv.value(), out, depth + 1);
      break;
    default:
      break;
  }
}

/// The searchable text of one run, gathered from its spec and events.
struct run_text {
  std::string notes, checkpoint, context;
};

struct field {
  std::string_view name;
  double weight;
  const std::string* text;
};

struct scored {
  double score = 0;
  std::string why;
};

scored score_run(const std::vector<std::string>& tokens, const std::string& phrase, const std::vector<field>& fields) {
  scored s;
  if (tokens.empty()) return s;
  struct prepared {
    std::string lower_text;
    std::vector<std::string> hits;
    bool phrase = false;
  };
  std::vector<prepared> prep(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) prep[i].lower_text = lowered(*fields[i].text);
  for (const auto& t : tokens) {
    double best = 0;
    std::size_t best_field = fields.size();
    for (std::size_t i = 0; i < fields.size(); ++i) {
      // A whole word scores the field's weight; a word it only begins
      // (at least 3 letters typed) half of it.
      const int m = word_match(prep[i].lower_text, t);
      const double w = m == 2 ? fields[i].weight : (m == 1 && t.size() >= 3) ? fields[i].weight / 2 : 0;
      if (w > best) {
        best = w;
        best_field = i;
      }
    }
    if (best_field < fields.size()) {
      s.score += best;
      prep[best_field].hits.push_back(t);
    }
  }
  if (tokens.size() >= 2) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (prep[i].lower_text.find(phrase) != std::string::npos) {
        s.score += 4;
        prep[i].phrase = true;
        break;
      }
    }
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (prep[i].hits.empty() && !prep[i].phrase) continue;
    std::string shown;
    if (prep[i].phrase) {
      shown = phrase;
    } else {
      for (const auto& h : prep[i].hits) shown += (shown.empty() ? "" : " ") + h;
    }
    if (!s.why.empty()) s.why += "; ";
    s.why += std::string(fields[i].name) + ": '" + shown + "'";
  }
  return s;
}

std::optional<bj::object> parse_object(std::string_view text) {
  bj::error_code ec;
  auto v = parse_json_text(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

}  // namespace

std::vector<std::string> query_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty() && out.size() < 32 && seen.insert(cur).second) out.push_back(cur);
    cur.clear();
  };
  for (char ch : text) {
    if (word_byte(static_cast<unsigned char>(ch))) cur.push_back(lower(ch));
    else flush();
  }
  flush();
  return out;
}

std::vector<resume_candidate> find_resume_candidates(storage::read_transaction& tx, const resume_query& q) {
  const std::vector<std::string> tokens = query_tokens(q.text);
  // The phrase bonus compares the query's words joined by single spaces
  // with the field text lowered: "Auth   middleware!" finds "auth middleware".
  std::string phrase;
  for (const auto& t : tokens) phrase += (phrase.empty() ? "" : " ") + t;

  // Which sessions to look at.
  std::vector<std::string> sessions;
  if (q.run_id) {
    auto doc = tx.get(storage::table::runs, run_spec_key(*q.run_id));
    if (!doc) {
      bj::object d;
      d["runId"] = format_run_id(*q.run_id);
      d["pointer"] = "/runId";
      fail(errc::RUN_NOT_FOUND, "no run has that id in this store", std::move(d));
    }
    auto o = parse_object(*doc);
    const bj::value* s = nullptr;
    if (o)
      if (auto* md = o->if_contains("metadata"); md && md->is_object()) s = md->as_object().if_contains("sessionId");
    if (!s || !s->is_string()) fail(errc::STORE_CORRUPT, "a run record lacks its sessionId");
    sessions.emplace_back(s->as_string());
    if (q.session_id && *q.session_id != sessions.front()) return {};
  } else if (q.session_id) {
    if (!tx.get(storage::table::sessions, *q.session_id)) {
      bj::object d;
      d["sessionId"] = *q.session_id;
      d["pointer"] = "/sessionId";
      fail(errc::SESSION_NOT_FOUND, "no session has that id in this store", std::move(d));
    }
    sessions.push_back(*q.session_id);
  } else {
    tx.scan(storage::table::sessions, "", [&](std::string_view key, std::string_view) {
      sessions.emplace_back(key);
      return true;
    });
  }

  // Best first; only the best q.limit are kept, trimming as the scan goes
  // so memory stays bounded on stores with very many runs.
  auto better = [](const resume_candidate& a, const resume_candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.status.last_activity != b.status.last_activity) return a.status.last_activity > b.status.last_activity;
    return a.run_id < b.run_id;
  };
  auto trim = [&](std::vector<resume_candidate>& v) {
    const std::size_t keep = std::min(q.limit, v.size());
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(keep), v.end(), better);
    v.resize(keep);
  };
  std::vector<resume_candidate> all;
  for (const auto& sid : sessions) {
    // A named run is the only candidate (its record named this session
    // above): no scan of the session's other runs.
    std::vector<std::uint64_t> runs;
    if (q.run_id) {
      runs.push_back(*q.run_id);
    } else {
      tx.scan(storage::table::indexes, session_run_index_prefix(sid), [&](std::string_view key, std::string_view) {
        if (key.size() >= 8) runs.push_back(get_be64(key.data() + key.size() - 8));
        return true;
      });
    }
    if (runs.empty()) continue;

    // The text lives in the events; read them only when there is a query.
    std::map<std::uint64_t, run_text> texts;
    if (!tokens.empty()) {
      // Only three kinds hold searchable text: the others are skipped by
      // their stored header, without being decoded.
      auto searched = [](std::string_view kind) {
        return kind == event_kind::output_appended || kind == event_kind::checkpoint_recorded ||
               kind == event_kind::context_set;
      };
      tx.scan(storage::table::events, event_prefix(sid), [&](std::string_view, std::string_view value) {
        decode_events_of(value, searched, [&](event&& ev) {
          if (!ev.run) return;
          run_text& t = texts[*ev.run];
          if (ev.kind == event_kind::output_appended) {
            if (auto* out = ev.data.if_contains("output"); out && out->is_object()) {
              if (auto* n = out->as_object().if_contains("notesMarkdown"); n && n->is_string()) {
                t.notes.append(n->get_string().data(), n->get_string().size());
                t.notes.push_back('\n');
              }
              if (auto* a = out->as_object().if_contains("artifacts")) flatten(*a, t.notes);
            }
          } else if (ev.kind == event_kind::checkpoint_recorded) {
            if (auto* n = ev.data.if_contains("notesMarkdown"); n && n->is_string()) {
              t.checkpoint.append(n->get_string().data(), n->get_string().size());
              t.checkpoint.push_back('\n');
            }
            if (auto* a = ev.data.if_contains("artifacts")) flatten(*a, t.checkpoint);
          } else if (ev.kind == event_kind::context_set) {
            if (auto* c = ev.data.if_contains("context")) flatten(*c, t.context);
          }
        });
        return true;
      });
    }

    for (std::uint64_t run : runs) {
      auto doc_text = tx.get(storage::table::runs, run_spec_key(run));
      auto st = tx.get(storage::table::runs, run_status_key(run));
      if (!doc_text || !st) continue;
      auto doc = parse_object(*doc_text);
      if (!doc) fail(errc::STORE_CORRUPT, "a run record does not parse");
      const bj::value* spec = doc->if_contains("spec");
      std::string workflow_id;
      if (spec && spec->is_object())
        if (auto* w = spec->as_object().if_contains("workflowId"); w && w->is_string()) workflow_id = std::string(w->as_string());
      if (q.workflow_id && *q.workflow_id != workflow_id) continue;

      resume_candidate c;
      c.session_id = sid;
      c.run_id = run;
      c.workflow_id = workflow_id;
      c.status = decode_status(*st);
      if (!tokens.empty()) {
        run_text& t = texts[run];
        if (spec && spec->is_object())
          if (auto* ctx = spec->as_object().if_contains("context")) flatten(*ctx, t.context);
        const std::string rid = format_run_id(run);
        const std::vector<field> fields = {{"notes", 3, &t.notes},         {"checkpoint", 3, &t.checkpoint},
                                           {"context", 2, &t.context},     {"workflowId", 2, &workflow_id},
                                           {"sessionId", 2, &c.session_id}, {"runId", 2, &rid}};
        scored s = score_run(tokens, phrase, fields);
        if (s.score <= 0) continue;
        c.score = s.score;
        c.why = std::move(s.why);
      } else {
        c.why = "most recent activity";
      }
      all.push_back(std::move(c));
      if (all.size() >= 4 * q.limit + 64) trim(all);
    }
  }
  trim(all);
  return all;
}

}  // namespace tokenrail::engine_detail
