// Conditions (D2) and the variable scope they read: context + loop variables.
//
//   {var, equals|not_equals|gt|gte|lt|lte|contains|startsWith|endsWith|matches|in: value}
//   {var}              truthiness
//   {and: [c...]}  {or: [c...]}  {not: c}
//   {}                 no condition: always true (as WorkRail's evaluator)
//
// Equality is lenient: strings compare trimmed and case-insensitively,
// contains/startsWith/endsWith compare trimmed lower-case text, `matches`
// is a case-insensitive ECMAScript regex over the trimmed text (WorkRail
// compiles it with the "i" flag),
// numbers and numeric strings compare as numbers, "true"/"yes"/"1" are true
// (and "false"/"no"/"0" false). An unset variable is null: it equals only
// null, and every ordering/text operator is false for it. A condition that
// cannot be evaluated (e.g. gt between a number and an object, a regex that
// exceeds the matcher's limits) is false and adds a warning.
#pragma once

#include <tokenrail/workflow/library.hpp>

#include <boost/json/object.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenrail::workflow {

/// Nesting limit for conditions and validation rules (and/or/not).
inline constexpr int max_condition_depth = 32;

/// A loop variable: a small owned value (iteration numbers) or a borrowed
/// one (a forEach item, which lives in the context). Names point into the
/// program (or a literal) and must outlive the scope.
struct scope_var {
  std::string_view name;
  const boost::json::value* ref = nullptr;
  boost::json::value own;
  scope_var(std::string_view n, boost::json::value v) : name(n), own(std::move(v)) {}
  scope_var(std::string_view n, const boost::json::value* r) : name(n), ref(r) {}
  const boost::json::value& value() const { return ref ? *ref : own; }
};

/// What conditions and templates can see. Loop variables shadow the context.
struct scope {
  const boost::json::object* context = nullptr;
  // Innermost last. Inline room for a few loop levels: every rendered step
  // builds a scope, and a heap block for two or three variables costs more
  // than the lookups.
  boost::container::small_vector<scope_var, 4> vars;

  /// Resolves a dotted path ("a.b.0.c": objects by key, arrays by index).
  /// nullptr if any segment is missing.
  const boost::json::value* lookup(std::string_view path) const;
};

/// True if `s` is a dotted variable path (identifier segments or indexes).
bool is_var_path(std::string_view s) noexcept;

/// Compile-time check of a condition; throws failure(WORKFLOW_INVALID) at
/// the first bad field, appends warnings for unknown keys.
void check_condition(const boost::json::value& c, const std::string& pointer,
                     std::vector<warning>& warnings, int depth = 0);

/// Evaluates a (checked) condition. `base` + `suffix` is its JSON pointer,
/// used only for warnings (built lazily: evaluation allocates nothing for it).
bool eval_condition(const boost::json::value& c, const scope& s, std::vector<warning>& warnings,
                    std::string_view base, std::string_view suffix = {});

/// Lenient helpers, exposed for tests and validation rules.
bool lenient_equals(const boost::json::value* a, const boost::json::value& b);
std::optional<double> as_number(const boost::json::value& v);
bool truthy(const boost::json::value* v);
/// A scalar as text (strings as is, numbers/bools as JSON); nullopt for
/// null, arrays and objects.
std::optional<std::string> scalar_text(const boost::json::value& v);

}  // namespace tokenrail::workflow
