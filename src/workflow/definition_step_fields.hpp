// Parsing of the object-valued fields of a standard step into that step;
// see definition_step_fields.cpp.
#pragma once

#include "workflow/program.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace tokenrail::workflow {

// Each checks field value `v` (at pointer `p`) and fills step `s` from it.
// They throw failure(WORKFLOW_INVALID) at the first bad field and append
// warnings for unknown members.

/// promptFragments: [{id, when?, text}].
void parse_fragments(step& s, const boost::json::value& v, const std::string& p, std::vector<warning>& w);

/// requireConfirmation: true, false, a condition, or {message, when?}.
void parse_confirmation(step& s, const boost::json::value& v, const std::string& p, std::vector<warning>& w);

/// outputContract: {contractRef, required?}.
void parse_contract(step& s, const boost::json::value& v, const std::string& p, std::vector<warning>& w);

/// parallelDelegations: [{workflowId, args?}].
void parse_delegations(step& s, const boost::json::value& v, const std::string& p, std::vector<warning>& w);

}  // namespace tokenrail::workflow
