// validationCriteria (D2): rules over the agent's output, checked before an
// advance. A rule is one of
//   {type:"contains", value, message?, condition?}
//   {type:"regex", pattern, flags? ("i"), message?, condition?}
//   {type:"length", min?, max?, message?, condition?}      (code points of notesMarkdown)
//   {type:"schema", schema, artifactKind?, message?, condition?}
// or a composition {and:[rules]}, {or:[rules]}, {not: rule}, each with an
// optional message. validationCriteria itself is a rule, a composition, or
// an array of them (all must hold; each failing one is its own blocker).
// `condition` (a D2 condition) makes a rule apply only when it holds.
#pragma once

#include "workflow/conditions.hpp"

#include <tokenrail/workflow/interpreter.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace tokenrail::workflow {

/// Compile-time check; throws failure(WORKFLOW_INVALID) at the first bad field.
void check_rules(const boost::json::value& rules, const std::string& pointer, std::vector<warning>& warnings,
                 int depth = 0);

/// Blockers for every failing top-level rule of `rules` against `output`
/// (already shape-checked: an object). `step_pointer` names the rules in warnings.
void apply_rules(const boost::json::value& rules, const boost::json::object& output, const scope& s,
                 std::vector<blocker>& out, std::vector<warning>& warnings, const std::string& pointer);

/// An artifact kind meets a contract/kind reference when equal, or when their
/// last dotted segments are equal ("wr.contracts.loop_control" ~ "loop_control").
bool kind_matches(std::string_view kind, std::string_view ref) noexcept;

}  // namespace tokenrail::workflow
