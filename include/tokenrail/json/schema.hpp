// A JSON Schema subset validator (draft 2020-12 / draft-07 keywords).
//
// Used by workflow definitions (validationCriteria rules of kind `schema`,
// outputContract) and by the engine (requests checked against the tool
// schemas). Supported keywords:
//   type (one name or an array of names; "integer" accepts any number with
//   no fractional part), properties, required, additionalProperties (bool or
//   schema), items (schema), minItems, maxItems, uniqueItems, enum, const,
//   minLength/maxLength (counted in Unicode code points), pattern (std::regex
//   ECMAScript, searched anywhere in the string as JSON Schema says),
//   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers),
//   oneOf, anyOf, allOf, not, and $ref to "#", "#/$defs/<name>" or
//   "#/definitions/<name>" inside the same schema document.
// Keywords outside the subset (title, description, $schema, $id, default,
// examples, format, ...) are ignored, as JSON Schema says for annotations.
// A boolean schema `true` accepts everything, `false` nothing. One
// annotation is read: the description of a `not` schema becomes the
// violation's `expected` (what is wanted instead of what `not` refuses).
//
// Neither function throws for any input (only std::bad_alloc when memory
// runs out): bad schemas (a pattern std::regex cannot compile, a dangling
// $ref, $ref cycles deeper than the limit) come back as violations /
// messages, never as crashes. Both are thread-safe and keep no reference
// to their arguments; they recurse through the instance and the schema, so
// callers bound the nesting of both (parse_json's max_depth).
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace tokenrail::json {

struct schema_violation {
  /// JSON pointer (RFC 6901) into the instance: the value that failed ("" = the root).
  std::string pointer;
  /// JSON pointer into the schema: the keyword that failed, e.g. "/properties/a/type".
  std::string schema_pointer;
  /// What was expected, in words, e.g. "a string", "at most 3 items".
  std::string expected;
};

/// libstdc++'s std::regex matches recursively (stack depth grows with the
/// subject), so `pattern` refuses strings longer than this many bytes as a
/// violation rather than risk overflowing the stack.
inline constexpr std::size_t max_pattern_subject = 8192;

/// How deep $ref may nest while validating one instance; deeper is treated
/// as a malformed (recursive) schema and reported as a violation.
inline constexpr int max_ref_depth = 64;

/// Validates `instance` against `schema`. Returns the FIRST violation in
/// document order (object members in the instance's order, array items by
/// index, keywords in a fixed order per schema), or nullopt if it conforms.
/// For oneOf/anyOf failures the violation names the oneOf/anyOf itself.
std::optional<schema_violation> validate(const boost::json::value& schema,
                                         const boost::json::value& instance);

/// Checks that `schema` is a well-formed schema of this subset: keyword
/// values of the right JSON type, patterns that compile, $refs that resolve.
/// Returns nullopt if fine, else "<schema pointer>: <what is wrong>".
std::optional<std::string> check_schema(const boost::json::value& schema);

}  // namespace tokenrail::json
