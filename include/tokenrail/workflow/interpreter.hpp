// The workflow interpreter (D2 semantics): pure functions over a compiled
// program. No storage, no tokens, no clock: the same inputs always give the
// same outputs, so the engine can replay any advance.
//
// Semantics the engine relies on (see also docs in each function):
//   - runCondition false -> the step is skipped (no pending step for it).
//   - loops: `while` checks its condition before each iteration; `until`
//     runs the body, then stops once the condition holds; `for` runs `count`
//     iterations (a number, or the name of a variable holding one); `forEach`
//     iterates the array in `items` (a variable name). `maxIterations` is a
//     hard cap for every type (a warning says when it stopped a loop).
//   - loop variables: iterationVar (default "currentIteration") is 1-BASED
//     for every loop type; forEach also sets itemVar (default "currentItem")
//     and indexVar (default "currentIndex", 0-BASED). Inner loops shadow
//     outer ones; loop variables shadow context entries of the same name.
//   - conditionSource {kind:"artifact_contract", contractRef, loopId}: the
//     FIRST iteration always runs (the body is what produces the decision);
//     after each iteration the loop continues only if the last loop_control
//     artifact submitted during that iteration said "continue". No artifact
//     in an iteration -> the loop stops, with a warning.
//     loop_control artifact: {kind:"loop_control" (or any kind whose last
//     dotted segment is "loop_control", e.g. "wr.loop_control"), loopId?,
//     decision:"continue"|"stop"}. Without loopId it applies to the innermost
//     artifact-driven loop; with loopId to the loop whose step id or
//     conditionSource.loopId equals it.
//   - conditionSource {kind:"context_variable", condition}: WorkRail's
//     legacy spelling of the loop's `condition` (equal to loop.condition if
//     both are given).
//   - conditions: {} is "no condition" and holds (as in WorkRail); a while
//     loop on {} runs to maxIterations and an until loop once, with a
//     warning. `matches` is an ECMAScript regex, case-insensitive (ASCII),
//     against the trimmed value; contains/startsWith/endsWith compare
//     trimmed, lower-cased text on both sides.
//   - requireConfirmation: true/false, or an object: a condition
//     ({var...}/{and}/{or}/{not}, or {} which always holds: a warning says
//     so) evaluated at render time, or
//     {message, when?}: required (when `when` holds), message in
//     extras.confirmationMessage. Any other object (e.g. WorkRail's
//     {"kind": "human_approval"}) is truthy as in WorkRail: always
//     required, with warnings for the fields it does not understand.
//   - outputContract {contractRef, required:true}: the output must carry an
//     artifact whose kind matches contractRef (equal, or equal last dotted
//     segment: "wr.contracts.loop_control" is met by kind "loop_control").
//   - promptBlocks values may be WorkRail "prompt values": a string or an
//     array of parts {kind:"text", text} / {kind:"ref", refId}. A ref names
//     a snippet of WorkRail's own registry, which this engine does not have:
//     it renders as "[ref: <refId>]", with a warning.
//   - WorkRail's step flags notesOptional and hasValidation are accepted
//     (booleans) and change nothing: notes are never required here, and
//     validationCriteria alone decide what is checked. requireConfirmation
//     on a loop step has no effect (a warning says so).
#pragma once

#include <tokenrail/error.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::workflow {

/// One entered loop: which loop, which iteration, what the agent said.
struct loop_frame {
  std::uint32_t index = 0;       // the loop step's index in its enclosing block
  std::uint32_t iteration = 0;   // 0-based number of the current iteration
  /// Last loop_control decision seen in this iteration (artifact loops).
  enum class decision : std::uint8_t { none = 0, proceed = 1, stop = 2 };
  decision last = decision::none;
  friend bool operator==(const loop_frame&, const loop_frame&) = default;
};

/// Where a run is: the loop stack (outermost first) and the index of the
/// pending step in the innermost block (the top-level steps when no loop is
/// entered). Small, copyable, equality-comparable, serializable.
/// When the run is complete the cursor has no loops and `step` equals the
/// number of top-level steps.
struct cursor {
  std::vector<loop_frame> loops;
  std::uint32_t step = 0;

  /// Compact and stable: {"s":<step>} or {"s":<step>,"l":[[index,iteration,decision],...]}
  /// (decision 0 none, 1 continue, 2 stop). Stored in every node record.
  boost::json::value to_json() const;
  /// Errors: STORE_CORRUPT (details {pointer, expected}) for anything that
  /// is not what to_json produces. Never throws.
  static result<cursor> from_json(const boost::json::value&);
  /// Appends the canonical JSON text (RFC 8785) of to_json(), written
  /// directly: every advance stores its child's cursor.
  void append_canonical(std::string& out) const;
  /// The cursor in `text`, if it is exactly in the form to_json() produces
  /// (members in either order, no whitespace); nullopt for anything else,
  /// which the caller then parses as JSON and gives to from_json (which
  /// names what is wrong). A fast path: every advance reads its parent's.
  static std::optional<cursor> parse_compact(std::string_view text);
  friend bool operator==(const cursor&, const cursor&) = default;
};

/// A parallelDelegations entry (D8): start a child run of workflow_id.
struct delegation {
  std::string workflow_id;
  boost::json::value args;   // strings templated ({{var}}); null if absent
};

/// The pending step as the agent should see it.
struct pending_step {
  std::string step_id, title, prompt;   // prompt: prompt / promptBlocks rendered in
                                        // order + matching promptFragments; {{var}} templated
  std::optional<std::string> agent_role;
  std::vector<std::string> guidance;    // templated
  bool require_confirmation = false;
  /// askForFiles, functionReferences, functionDefinitions, outputContract,
  /// confirmationMessage, loops [{loopId, type, iteration (1-based),
  /// maxIterations, item?, index?}] (outermost first); null if none.
  boost::json::value extras;
  std::vector<delegation> delegations;  // from parallelDelegations (D8), args templated
};

struct position {
  cursor at;              // the pending step (meaningless when complete)
  bool complete = false;
  std::vector<warning> warnings;   // e.g. a condition that could not be evaluated (counted false)
};

/// Why an output cannot be accepted. code: VALIDATION_FAILED (a
/// validationCriteria rule), OUTPUT_CONTRACT_MISSING (outputContract.required
/// not met), INVALID_LOOP_CONTROL (a loop_control artifact without a valid
/// decision), INVALID_OUTPUT (output of the wrong shape).
/// pointer: into the request, e.g. "/output/notesMarkdown", "/output/artifacts/0/decision".
struct blocker {
  std::string code, pointer, message, suggested_fix;
  friend bool operator==(const blocker&, const blocker&) = default;
};

// Every function below throws tokenrail::failure(INTERNAL) if `at` does not
// fit the program (a cursor from another workflow); cursors produced by
// start/advance for the same program always fit. Any may throw
// std::bad_alloc. All are thread-safe (they only read their arguments) and
// return values that own their data, except step_id_at.

/// Settles on the first runnable step. `context` = the run's context.
position start(const program&, const boost::json::object& context);

/// Validation of the agent's output for the pending step: validationCriteria
/// (contains/regex/length/schema, and/or/not, each with message) and
/// outputContract.required. Empty vector = accepted.
/// output = {notesMarkdown?: string, artifacts?: [ {kind?, ...} ]} or null.
/// Text rules (contains/regex/length) check notesMarkdown; a schema rule
/// checks the whole output object, or, with "artifactKind", the first artifact
/// of that kind.
std::vector<blocker> check_output(const program&, const cursor& at, const boost::json::object& context,
                                  const boost::json::value& output);

/// Moves past the pending step at `at` and settles on the next runnable step
/// (runCondition skips, loop entry/exit, maxIterations cap, loop_control
/// artifacts in `output`). `context` is the context AFTER merging the
/// request's context. Call check_output first; advance does not validate.
position advance(const program&, const cursor& at, const boost::json::object& context,
                 const boost::json::value& output);

/// Renders the pending step at `at`. Unresolved {{a.b}} -> "[unset: a.b]";
/// non-path expressions stay verbatim. Warnings are appended.
/// `storage` holds the JSON of the result's extras (the default: the heap);
/// the result must not outlive it.
pending_step render(const program&, const cursor& at, const boost::json::object& context,
                    std::vector<warning>& warnings, boost::json::storage_ptr storage = {});

/// A short, stable description of every step for inspect_workflow's preview:
/// [{id, title, kind:"step"|"loop", runCondition?, requireConfirmation?,
///   loop?: {type, maxIterations}, body?: [...]}].
boost::json::array preview(const program&);

/// The id of the step at `at` (cheap; for records and logs). The reference
/// points into the program: valid as long as the program is.
const std::string& step_id_at(const program&, const cursor& at);

}  // namespace tokenrail::workflow
