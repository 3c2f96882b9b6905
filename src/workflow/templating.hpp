// Run-time templating (D2): "{{a.b.c}}" in prompts, guidance, titles and
// delegation args resolves from the context and loop variables.
//   - a path that resolves -> its value (strings as they are, anything else
//     as compact JSON);
//   - a path that does not resolve -> "[unset: a.b.c]";
//   - anything that is not a path ("{{ 1 + 2 }}", "{{}}") stays verbatim.
#pragma once

#include "workflow/conditions.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace tokenrail::workflow {

std::string render_template(std::string_view text, const scope& s);

/// Every string inside `v` templated (keys untouched); depth-limited copy.
boost::json::value render_json(const boost::json::value& v, const scope& s, int depth = 0);

}  // namespace tokenrail::workflow
