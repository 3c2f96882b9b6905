#include "workflow/safe_regex.hpp"

#include <boost/regex.hpp>

#include <locale>
#include <string>
#include <unordered_map>

namespace tokenrail::workflow {

namespace {

// Case-insensitive matching folds ASCII letters only: the regex is imbued
// with the classic locale, so a host that sets a global locale (say a
// Latin-1 one, which would fold bytes of UTF-8 sequences) cannot change
// what a definition matches. Folding is done by the engine, never by
// lower-casing the pattern, which would turn \D \S \W into \d \s \w.
boost::regex make_regex(std::string_view pattern, bool icase) {
  boost::regex re;
  re.imbue(std::locale::classic());
  boost::regex::flag_type flags = boost::regex::ECMAScript;
  if (icase) flags = flags | boost::regex::icase;
  re.assign(pattern.begin(), pattern.end(), flags);   // throws on a bad pattern
  return re;
}

}  // namespace

std::optional<std::string> regex_problem(std::string_view pattern) {
  if (pattern.size() > max_pattern_length)
    return "a pattern of at most " + std::to_string(max_pattern_length) + " characters";
  try {
    make_regex(pattern, false);
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
  boost::regex re = make_regex(pattern, icase);   // throws on a bad pattern: nothing cached
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
