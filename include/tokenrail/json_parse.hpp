// Parsing untrusted JSON text with limits (D14): size, nesting depth and
// UTF-8 validity are checked by the parser itself, so a hostile input costs
// at most max_bytes of work and never recurses past max_depth.
//
// Every number with a fraction or an exponent is rounded correctly (the
// nearest double to its decimal text), which Boost.JSON 1.81's own parser
// does not guarantee: use these functions, never boost::json::parse, so that
// a value survives a store/load round trip bit for bit and hashes as it
// would in any other implementation.
#pragma once

#include <tokenrail/error.hpp>

#include <boost/json/storage_ptr.hpp>
#include <boost/system/error_code.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string_view>

namespace tokenrail {

struct json_limits {
  std::size_t max_bytes = 8u << 20;  // 8 MiB
  std::size_t max_depth = 64;
};

/// Parses one JSON document (no comments, nothing after it but
/// whitespace). Errors: PAYLOAD_TOO_LARGE (details {limit, size}), then
/// NESTING_TOO_DEEP, INVALID_UTF8, INVALID_JSON (details {offset}: the byte
/// offset). Empty text is INVALID_JSON. May throw std::bad_alloc.
/// Thread-safe; `text` is not referenced after the call.
result<boost::json::value> parse_json(std::string_view text, const json_limits& limits = {});

/// The same, with the parsed value's memory taken from `sp` (an arena, for
/// a request that lives for one call). The parser's own working memory
/// starts in a stack buffer.
result<boost::json::value> parse_json(std::string_view text, const json_limits& limits,
                                      boost::json::storage_ptr sp);

/// Parses JSON text this process wrote itself (stored records, built-in
/// documents): no size limit, nesting up to 1,024 levels. On invalid text
/// sets `ec` (boost::json's error, e.g. too_deep) and returns null.
/// The value's memory comes from `sp` (default: the
/// default resource). May throw std::bad_alloc.
boost::json::value parse_json_text(std::string_view text, boost::system::error_code& ec,
                                   boost::json::storage_ptr sp = {});

/// The same; throws boost::system::system_error on invalid text, as
/// boost::json::parse does.
boost::json::value parse_json_text(std::string_view text, boost::json::storage_ptr sp = {});
/// True when `text` is one JSON document (valid UTF-8, nesting up to 1,024
/// levels), checked without building a value: for stored text that is
/// returned as it is (recorded responses), which a damaged store must not
/// turn into invalid output. May throw std::bad_alloc. Thread-safe.
bool is_json_text(std::string_view text);

}  // namespace tokenrail
