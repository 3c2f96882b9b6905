// templateCall expansion (D2), done on the JSON before validation so that
// the pinned definition is self-contained.
//
//   {"id": "review", "title": "...", "templateCall": {"templateId":
//     "wr.templates.routine.code-review", "args": {"target": "src/"}}}
//
// is replaced by the steps of the routine "wr.routine-code-review" (or
// "routine-code-review", or "code-review"), each id (nested loop bodies
// included) prefixed "review." - the separator is "."; loop bodies given by
// id and conditionSource.loopId naming a routine step are prefixed too.
// {target} in any string of the routine's steps becomes "src/" (a non-string
// arg is inserted as compact JSON); outside prose (title, prompt, guidance,
// promptBlocks, messages: text in any case) a string that is exactly
// "{name}" is replaced by the arg's value as it is, whatever its type
// ("maxIterations": "{max}" with args {max: 3} gives 3); {{var}} is left
// for run time. A
// runCondition on the calling step is and-ed into every expanded top-level
// step. A routine that itself contains a templateCall is an error.
#pragma once

#include <tokenrail/workflow/library.hpp>

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::workflow {

/// The separator between the calling step's id and a routine step's id.
inline constexpr std::string_view routine_id_separator = ".";

/// The arg name if `text` is exactly one single-brace placeholder "{name}"
/// (then expansion puts the arg's JSON value there, not text).
std::optional<std::string_view> whole_placeholder(std::string_view text);

/// The routine ids tried for a templateId, in order.
std::vector<std::string> routine_candidates(std::string_view template_id);

/// Where each step of the expanded definition came from: pointer of the step
/// in the expanded definition -> pointer in the file ("/steps/4" ->
/// "/steps/3"; a routine's step -> the caller's ".../templateCall").
struct pointer_origin {
  std::string expanded, source;
};

/// The definition with every templateCall expanded. Throws failure:
/// WORKFLOW_INVALID (bad templateCall shape, routine with a templateCall),
/// WORKFLOW_DANGLING_REF (unknown routine), TEMPLATE_ARG_MISSING.
/// `origins` (optional) receives the step pointer map when anything expanded.
/// `warnings` (optional) receives, with their pointers in the file, the
/// fields expansion does not carry over: unknown members of templateCall and
/// members of the calling step other than id, title, type, runCondition
/// (the step is replaced, so they would otherwise vanish unreported).
boost::json::value expand_templates(const boost::json::value& definition, const routine_resolver& routines,
                                    std::vector<pointer_origin>* origins = nullptr,
                                    std::vector<warning>* warnings = nullptr);

/// Maps a pointer into the expanded definition back to the file; unchanged
/// when no origin covers it.
std::string source_pointer(const std::vector<pointer_origin>& origins, std::string_view expanded);

}  // namespace tokenrail::workflow
