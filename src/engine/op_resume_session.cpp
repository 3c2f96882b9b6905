// resume_session (D6): the runs an agent most likely wants to continue,
// best first, each with a fresh stateToken for the run's preferred tip.
// Ranking and cost: session_resume.hpp.
#include "engine/context.hpp"
#include "engine/session_resume.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

std::string op_resume_session(engine::impl& e, const boost::json::object& req) {
  resume_query q;
  if (auto* t = member(req, "query")) q.text = std::string(t->as_string());
  if (auto* s = member(req, "sessionId")) q.session_id = std::string(s->as_string());
  if (auto* w = member(req, "workflowId")) q.workflow_id = std::string(w->as_string());
  // D6 says "up to 5" for the agent; a host listing the store (the CLI's
  // `sessions`) may ask for more, within the schema's bound.
  if (auto* l = member(req, "limit")) q.limit = l->to_number<std::size_t>();
  if (auto* r = member(req, "runId")) {
    auto id = parse_run_id(std::string_view(r->as_string()));
    if (!id) throw failure(error::at(errc::INVALID_REQUEST, "/runId", "run_ and 16 lowercase hex digits"));
    q.run_id = *id;
  }
  std::vector<resume_candidate> found;
  e.store->read([&](storage::read_transaction& tx) { found = find_resume_candidates(tx, q); });

  auto codec = e.codec();
  boost::json::array candidates;
  for (const auto& c : found) {
    boost::json::object o;
    o["sessionId"] = c.session_id;
    o["runId"] = format_run_id(c.run_id);
    o["workflowId"] = c.workflow_id;
    o["pendingStepId"] = c.status.pending_step_id.empty() ? boost::json::value(nullptr)
                                                          : boost::json::value(c.status.pending_step_id);
    o["isComplete"] = c.status.phase == run_phase::completed;
    o["phase"] = phase_name(c.status.phase);
    o["lastActivityAt"] = format_time(c.status.last_activity);
    o["whyMatched"] = c.why;
    // Deterministic per (run, node): "fresh" means for the current preferred
    // tip, valid under this store's current key.
    o["stateToken"] = codec->mint(token::kind::state, {c.run_id, c.status.preferred_tip, 0});
    candidates.push_back(std::move(o));
  }
  boost::json::object r;
  r["candidates"] = std::move(candidates);
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
