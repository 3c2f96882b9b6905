// Canonical JSON: RFC 8785, the JSON Canonicalization Scheme (JCS).
//
// The pinning hash of D3 is computed over this form, so it must be exactly
// the RFC's: object members sorted by the UTF-16 code units of their keys
// (so a key with a non-BMP character sorts by its surrogates, not by code
// point), numbers formatted as ECMAScript's Number.prototype.toString does
// (shortest round-trip digits, exponent form from 1e21 and below 1e-6,
// -0 as 0), strings with minimal escaping (\" \\ \b \f \n \r \t and other
// control characters as \u00xx with lowercase hex; everything else is
// literal UTF-8), no insignificant whitespace.
//
// Integers that boost::json stores as int64/uint64 are printed exactly, even
// beyond 2^53 (RFC 8785 would require them to be doubles; keeping them exact
// is what a reader of the definition means, and is deterministic).
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace tokenrail::json {

/// Appends the canonical form of `v` to `out`.
/// Throws tokenrail::failure(INVALID_REQUEST, details {pointer, expected})
/// if `v` holds a double that is not finite (NaN or ±Infinity: they have no
/// JSON form). Strings are assumed to be valid UTF-8 (boost::json's parser
/// guarantees it); invalid bytes are copied as they are.
/// On failure `out` may hold a partial result.
void canonicalize_to(std::string& out, const boost::json::value& v);

/// The canonical form of `v`. Same errors as canonicalize_to.
std::string canonicalize(const boost::json::value& v);

/// Appends `v` as JSON text with the members of each object in their own
/// order, and otherwise as canonicalize_to writes it: numbers as ECMAScript
/// prints them (11143.938825400413, not boost::json::serialize's
/// 1.1143938825400413E4), minimal escaping, no whitespace. A double that is
/// not finite is written as null (as JSON.stringify does). Never throws
/// except std::bad_alloc.
void serialize_to(std::string& out, const boost::json::value& v);

/// The text serialize_to appends.
std::string serialize(const boost::json::value& v);

/// Appends `s` as a JSON string literal with RFC 8785's minimal escaping
/// (\" \\ \b \f \n \r \t, other control characters as \u00xx in lowercase
/// hex, everything else as is) — also exactly what boost::json::serialize
/// writes, so hand-built JSON text matches serialized values byte for byte.
void append_quoted(std::string& out, std::string_view s);

}  // namespace tokenrail::json
