// Rendering of a step's `promptBlocks` (goal, constraints, procedure,
// outputRequired, verify) into prompt text; see definition_prompt_blocks.cpp.
#pragma once

#include <tokenrail/workflow/library.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace tokenrail::workflow {

/// The promptBlocks object `v` (at pointer `p`), checked and rendered as
/// headed markdown sections; unknown blocks and prompt refs add warnings.
std::string render_prompt_blocks(const boost::json::value& v, const std::string& p, std::vector<warning>& w);

}  // namespace tokenrail::workflow
