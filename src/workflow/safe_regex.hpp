// Regular expressions over untrusted text that cannot crash the process.
//
// std::regex (libstdc++) recurses once per character for patterns such as
// ".*x" and overflows the stack on inputs of a few tens of kilobytes.
// Boost.Regex (header-only) matches without recursion and throws when a
// match gets too complex; this wrapper turns that into "could not evaluate".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tokenrail::workflow {

/// Patterns longer than this are refused (compile time and run time).
inline constexpr std::size_t max_pattern_length = 4096;

/// nullopt if the pattern compiles (ECMAScript syntax), else what is wrong.
std::optional<std::string> regex_problem(std::string_view pattern);

/// Searches `text` for `pattern` anywhere. nullopt = could not evaluate
/// (bad pattern, or the match exceeded Boost.Regex's complexity limits).
std::optional<bool> regex_search(std::string_view text, std::string_view pattern, bool icase);

}  // namespace tokenrail::workflow
