// expire_callbacks (D8): {now} (ms since the epoch, the host's clock; the
// engine starts no threads) completes every open callback whose deadline
// (suspend_step timeoutMs) is at or before `now` with status timeout, in one
// write transaction. A child run linked to an expired callback is cancelled
// (reason "callback timed out"): nobody waits for its result any more.
// Returns {expired: [{callbackToken, runId, nodeId, stepId, expiresAt,
// cancelledRuns?}]}, oldest deadline first. A completion racing the expiry
// loses with CALLBACK_ALREADY_RESOLVED (and vice versa: a callback completed
// first is not in the index any more).
#include "engine/callbacks.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>

namespace tokenrail::engine_detail {

std::string op_expire_callbacks(engine::impl& e, const boost::json::object& req) {
  const std::int64_t deadline = req.at("now").to_number<std::int64_t>();
  const std::int64_t now = e.now();
  std::string response;
  e.store->write([&](storage::write_transaction& tx) {
    std::vector<std::pair<std::int64_t, token::payload>> due;
    tx.scan(storage::table::callbacks, "t", [&](std::string_view key, std::string_view) {
      std::int64_t at = 0;
      token::payload cb;
      if (!parse_expiry_key(key, at, cb)) return true;
      if (at > deadline) return false;
      due.emplace_back(at, cb);
      return true;
    });
    boost::json::array expired;
    auto codec = e.codec();
    for (const auto& [at, cb] : due) {
      auto rec = resolve_if_open(e, tx, cb, "timeout", "expire_callbacks", now);
      if (!rec) continue;
      boost::json::object o;
      // The token suspend_step handed out (recorded in its response), so the
      // host can match the expiry with the token it holds: after rotate_key
      // a fresh mint would differ (another key id), though both verify.
      std::string held;
      if (auto text = str_of(*rec, "suspendResponse"); !text.empty()) {
        boost::system::error_code ec;
        auto v = parse_json_text(text, ec);
        if (!ec && v.is_object())
          if (auto* t = v.as_object().if_contains("callbackToken"); t && t->is_string()) held = t->get_string();
      }
      o["callbackToken"] = held.empty() ? codec->mint(token::kind::callback, cb) : held;
      o["runId"] = format_run_id(cb.run_id);
      o["nodeId"] = format_node_id(cb.run_id, cb.node_seq);
      o["stepId"] = str_of(*rec, "stepId");
      o["expiresAt"] = format_time(at);
      if (auto child = parse_run_id(str_of(*rec, "childRunId"))) {
        boost::json::array cancelled;
        cancel_run_in_tx(e, tx, *child, std::string("callback timed out"), cb.run_id, now, cancelled);
        o["cancelledRuns"] = std::move(cancelled);
      }
      expired.push_back(std::move(o));
    }
    boost::json::object out;
    out["expired"] = std::move(expired);
    out["now"] = deadline;
    response = tokenrail::json::serialize(out);
  });
  return response;
}

}  // namespace tokenrail::engine_detail
