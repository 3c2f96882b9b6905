// A damaged stored record (a bad disk, another program writing the store):
// every operation answers with JSON, an error as data where it notices,
// never a crash, undefined behaviour, invalid output or an exception the
// engine did not expect (INTERNAL); and verify finds any change to the
// hash-chained event log. Each record of a session with every kind of
// record (forks, leaves, checkpoints, context, a suspended step,
// delegations and their child runs) is damaged in turn, in four ways, and
// a battery of reading and writing operations runs against it; the
// sanitizer build runs this too.
#include "engine/async_support.hpp"
#include "engine/sessions_support.hpp"

#include <functional>
#include <random>

using namespace trtest;

namespace {

struct record {
  tokenrail::storage::table t;
  std::string key, value;
};

std::vector<record> all_records(tokenrail::engine& e) {
  std::vector<record> out;
  e.internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    for (std::size_t i = 0; i < tokenrail::storage::table_count; ++i) {
      const auto t = static_cast<tokenrail::storage::table>(i);
      tx.scan(t, "", [&](std::string_view k, std::string_view v) {
        out.push_back({t, std::string(k), std::string(v)});
        return true;
      });
    }
  });
  return out;
}

void put(tokenrail::engine& e, const record& r, const std::string& value) {
  e.internals().store->write([&](tokenrail::storage::write_transaction& tx) { tx.put(r.t, r.key, value); });
}

/// Puts the store back to `snapshot` exactly: what the operations wrote on
/// top of a damaged record goes, so each damage meets the same store (and
/// the session does not grow from one to the next).
void restore(tokenrail::engine& e, const std::vector<record>& snapshot) {
  const auto now = all_records(e);
  e.internals().store->write([&](tokenrail::storage::write_transaction& tx) {
    for (const auto& r : now) tx.erase(r.t, r.key);
    for (const auto& r : snapshot) tx.put(r.t, r.key, r.value);
  });
}

}  // namespace

TEST_CASE("a damaged record is an error as data for every operation that reads it", "[sessions][tamper][badstore]") {
  const auto backend = GENERATE(from_range(backends()));
  auto e = async_engine(backend);
  if (!e) return;
  // Run 1: checkpoint, advances, a fork with a context delta.
  auto r0 = start_in(*e, "lin3", "ses-dmg", json::object{{"ticket", "T-7"}});
  REQUIRE(error_code(checkpoint(*e, r0, "looked around")).empty());
  auto r1 = advance(*e, r0, "one");
  REQUIRE(error_code(advance(*e, r1, "two")).empty());
  auto h = call(*e, "continue_workflow", json::object{{"stateToken", r0.at("stateToken")}});
  json::object fork{{"stateToken", h.at("stateToken")}, {"ackToken", h.at("ackToken")},
                    {"output", json::object{{"notesMarkdown", "again"}}}, {"context", json::object{{"k", 1}}}};
  auto f = call(*e, "continue_workflow", fork);
  REQUIRE(error_code(f).empty());
  // Run 2: a suspended step (a callback record).
  auto s0 = start_in(*e, "lin3", "ses-dmg");
  auto cb = suspend(*e, s0, 60000);
  REQUIRE(error_code(cb).empty());
  // Run 3: parallel delegations and their child runs.
  auto p0 = start_in(*e, "async-fanout", "ses-dmg", json::object{{"area", "caching"}});
  REQUIRE(error_code(p0).empty());
  REQUIRE(error_code(advance(*e, p0, "prepared")).empty());

  const std::string run1(r0.at("session").at("runId").as_string());
  const std::string run3(p0.at("session").at("runId").as_string());
  // Requests built at each call: the writing ones use fresh tokens or
  // notes every time, so each damaged record meets a write that reads it.
  int n = 0;
  auto req = [](std::string op, json::value body) { return std::pair{std::move(op), std::move(body)}; };
  const std::vector<std::function<std::pair<std::string, json::value>()>> operations = {
      [&] { return req("verify", json::object{}); },   // first: before a write rewrites a damaged record
      [&] { return req("get_run", json::object{{"runId", run1}}); },
      [&] { return req("get_run", json::object{{"runId", run3}}); },
      [&] { return req("continue_workflow", json::object{{"stateToken", r0.at("stateToken")}}); },
      [&] {   // a fresh attempt of the newest node, advanced: a fork that writes
        auto fresh = call(*e, "continue_workflow", json::object{{"stateToken", f.at("stateToken")}});
        if (!fresh.as_object().contains("ackToken"))   // the damage is in the way: the rehydrate again
          return req("continue_workflow", json::object{{"stateToken", f.at("stateToken")}});
        return req("continue_workflow", json::object{{"stateToken", fresh.at("stateToken")}, {"ackToken", fresh.at("ackToken")},
                                                     {"output", json::object{{"notesMarkdown", "n" + std::to_string(++n)}}}});
      },
      [&] { return req("continue_workflow", fork); },   // a replay
      [&] {
        return req("checkpoint_workflow",
                   json::object{{"stateToken", f.at("stateToken")}, {"notesMarkdown", "cp" + std::to_string(++n)}});
      },
      [&] { return req("start_workflow", json::object{{"workflowId", "lin3"}, {"sessionId", "ses-dmg"}}); },
      [&] { return req("complete_step", json::object{{"callbackToken", cb.at("callbackToken")}, {"result", result("error")}}); },
      [&] { return req("expire_callbacks", json::object{{"now", std::int64_t(4102444800000)}}); },   // 2100
      [&] { return req("resume_session", json::object{{"sessionId", "ses-dmg"}}); },
      [&] { return req("resume_session", json::object{{"query", "T-7"}}); },
      [&] { return req("export_session", json::object{{"sessionId", "ses-dmg"}}); },
      [&] { return req("export_session", json::object{{"sessionId", "ses-dmg"}, {"format", "markdown"}}); },
      [&] { return req("inspect_workflow", json::object{{"workflowId", "lin3"}}); },
      [&] { return req("cancel_run", json::object{{"runId", run3}}); },   // cascades to the children
      [&] { return req("delete_sessions", json::object{{"sessionIds", json::array{"ses-dmg"}}}); },   // last
  };

  const auto records = all_records(*e);
  REQUIRE(records.size() > 40);
  std::mt19937 rng(11);
  std::size_t event_damage = 0;
  for (const auto& rec : records) {
    const std::size_t size = rec.value.size();
    std::vector<std::string> damaged;
    damaged.push_back(rec.value.substr(0, size / 2));                       // cut short
    damaged.push_back(rec.value + std::string("\x01\x7f\xff", 3));          // trailing bytes
    // One byte changed: each byte of a short record (a status, a node, a
    // session head), 8 spread over a longer one. The records are the same
    // on both backends: every byte on one of them is enough.
    const bool every_byte = size <= 64 && backend == "memory";
    const std::size_t step = std::max<std::size_t>(1, size / 8);
    for (std::size_t at = every_byte ? 0 : std::uniform_int_distribution<std::size_t>(0, step - 1)(rng); at < size;
         at += every_byte ? 1 : step) {
      std::string flipped = rec.value;
      flipped[at] ^= 0xff;
      damaged.push_back(std::move(flipped));
    }
    std::string noise(std::max<std::size_t>(size, 8), '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    damaged.push_back(std::move(noise));                                    // random bytes
    for (const auto& value : damaged) {
      put(*e, rec, value);
      bool verified = true;
      for (const auto& make : operations) {
        const auto [op, body] = make();
        const std::string text = e->call(op, json::serialize(body));
        boost::system::error_code ec;
        const json::value v = json::parse(text, ec);
        INFO(tokenrail::storage::table_name(rec.t) << " record (" << rec.key.size() << "-byte key), " << op << ": "
                                                    << text.substr(0, 400));
        REQUIRE_FALSE(ec);
        REQUIRE(v.is_object());
        if (const auto* err = v.as_object().if_contains("error")) {
          CHECK(err->at("code") != "INTERNAL");
          CHECK_FALSE(err->at("message").as_string().empty());
        } else if (op == "verify") {
          verified = v.at("ok").as_bool();
        }
      }
      // A damaged status or node that still decodes is used as it reads
      // (records carry no checksum), and a write may build on it: undone.
      restore(*e, records);
      // The event log and its head are hash-chained: any change is found.
      if (rec.t == tokenrail::storage::table::events || rec.t == tokenrail::storage::table::sessions) {
        ++event_damage;
        CHECK_FALSE(verified);
      }
    }
  }
  CHECK(event_damage >= 8);
  CHECK(verify(*e).ok);
}
