// Pieces of RFC 8785 canonicalization that tests and the schema validator
// reuse. Private to the json module (not installed).
#pragma once

#include <string>
#include <string_view>

namespace tokenrail::json {

/// Appends `d` (finite) as ECMAScript's Number.prototype.toString(d) would:
/// shortest digits that round-trip, plain notation for 1e-7 < |d| < 1e21,
/// otherwise "<digit>[.<digits>]e(+|-)<exp>"; -0 is "0".
void append_es_number(std::string& out, double d);

/// Strict weak order of UTF-8 strings by their UTF-16 code units (RFC 8785
/// §3.2.3). Never reads past either string, even for malformed UTF-8.
bool utf16_less(std::string_view a, std::string_view b) noexcept;

}  // namespace tokenrail::json
