#include "workflow/safe_regex.hpp"

#include <boost/regex.hpp>

namespace tokenrail::workflow {

std::optional<std::string> regex_problem(std::string_view pattern) {
  if (pattern.size() > max_pattern_length)
    return "a pattern of at most " + std::to_string(max_pattern_length) + " characters";
  try {
    boost::regex re(pattern.begin(), pattern.end(), boost::regex::ECMAScript);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("a valid ECMAScript regular expression (") + e.what() + ")";
  }
}

std::optional<bool> regex_search(std::string_view text, std::string_view pattern, bool icase) {
  if (pattern.size() > max_pattern_length) return std::nullopt;
  try {
    boost::regex::flag_type flags = boost::regex::ECMAScript;
    if (icase) flags = flags | boost::regex::icase;
    boost::regex re(pattern.begin(), pattern.end(), flags);
    return boost::regex_search(text.begin(), text.end(), re);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace tokenrail::workflow
