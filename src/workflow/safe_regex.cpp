#include "workflow/safe_regex.hpp"

#include <boost/regex.hpp>

#include <string>
#include <unordered_map>

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

namespace {

// Compiling a pattern costs far more than matching a short text; the same
// few patterns (from the loaded definitions) are matched over and over.
// Per thread, so no locking; bounded, so hostile definitions cannot grow it.
const boost::regex& compiled_pattern(std::string_view pattern, bool icase) {
  thread_local std::unordered_map<std::string, boost::regex> cache;
  std::string key(pattern);
  key += icase ? '\x01' : '\x00';
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= 256) cache.clear();
  boost::regex::flag_type flags = boost::regex::ECMAScript;
  if (icase) flags = flags | boost::regex::icase;
  boost::regex re(pattern.begin(), pattern.end(), flags);   // throws on a bad pattern: nothing cached
  return cache.emplace(std::move(key), std::move(re)).first->second;
}

}  // namespace

std::optional<bool> regex_search(std::string_view text, std::string_view pattern, bool icase) {
  if (pattern.size() > max_pattern_length) return std::nullopt;
  try {
    const boost::regex& re = compiled_pattern(pattern, icase);
    return boost::regex_search(text.begin(), text.end(), re);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace tokenrail::workflow
