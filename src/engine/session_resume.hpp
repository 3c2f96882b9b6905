// resume_session's lookup (D6, ADR 007 "resumption lookup"): which runs of
// the store an agent most likely wants to pick up again.
//
// Ranking: the query is split into lowercase word tokens (letters, digits,
// and any non-ASCII byte). Each run has fields: notes (notesMarkdown of its
// advances), checkpoint (checkpoint notes), context (values of its start
// context and of later context deltas), workflowId, sessionId, runId. A
// query token found as a word of a field scores the field's weight (notes
// and checkpoint 3, the others 2); a token of 3+ characters that only starts
// a word scores half. Each token counts once, with its best field; the
// whole query found verbatim in a field adds 4. Runs that match nothing are
// left out when the query has words. Ties (and an empty query) go to the
// most recent activity, then the run id.
//
// Cost: one scan of the candidate sessions' runs (status and spec), plus,
// when the query has words, one scan of those sessions' events for the
// text. That is linear in the store (or in one session with sessionId); with
// runId and no query it reads that run only (with a query, its session's
// events too: they are keyed by session, not by run). A full-text index
// maintained on write would make the query sublinear.
#pragma once

#include "engine/records.hpp"

#include <tokenrail/storage/store.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tokenrail::engine_detail {

struct resume_query {
  std::string text;                          // may be empty
  std::optional<std::string> session_id;     // only this session
  std::optional<std::uint64_t> run_id;       // only this run
  std::optional<std::string> workflow_id;    // only runs of this workflow
  std::size_t limit = 5;
};

struct resume_candidate {
  std::string session_id;
  std::uint64_t run_id = 0;
  std::string workflow_id;
  run_status status;
  double score = 0;
  std::string why;   // e.g. "notes: 'auth middleware'; workflowId: 'bug'"
};

/// The best candidates, best first (at most q.limit).
/// Errors: SESSION_NOT_FOUND / RUN_NOT_FOUND when a named session or run is
/// not in the store; STORE_CORRUPT for records that do not decode.
std::vector<resume_candidate> find_resume_candidates(storage::read_transaction& tx, const resume_query& q);

/// The query's word tokens, lowercase, deduplicated, in order (at most 32).
std::vector<std::string> query_tokens(std::string_view text);

}  // namespace tokenrail::engine_detail
