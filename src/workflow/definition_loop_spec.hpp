// Parsing of a loop step's `loop` object into its loop_spec, and the warning
// for a loop whose condition always holds; see definition_loop_spec.cpp.
#pragma once

#include "workflow/program.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace tokenrail::workflow {

/// Checks the `loop` object `v` (at pointer `p`) and fills `l` from it.
/// Throws failure(WORKFLOW_INVALID) at the first bad field; appends warnings.
void parse_loop_spec(loop_spec& l, const boost::json::value& v, const std::string& p, std::vector<warning>& w);

/// Warns when loop step `s` (its loop already parsed) has an empty
/// condition {}, which always holds.
void warn_if_always_true(const step& s, std::vector<warning>& w);

}  // namespace tokenrail::workflow
