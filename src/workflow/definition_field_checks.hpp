// Field checks shared by the parts of the definition parser (definition*.cpp):
// the need_* throw WORKFLOW_INVALID at the field's JSON pointer, `unknown` warns.
#pragma once

#include <tokenrail/detail/function_ref.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::workflow {

/// True if `s` is a workflow or step id: letters, digits, _ - . : (not
/// starting with - . :), at most `max_len` characters.
bool valid_id(std::string_view s, std::size_t max_len);

/// `v` as an object; else throws at `p`, expecting `what`.
const boost::json::object& need_object(const boost::json::value& v, const std::string& p, std::string_view what);

/// `v` as a string; else throws at `p`, expecting `what`.
std::string need_string(const boost::json::value& v, const std::string& p, std::string_view what = "a string");

/// `v` as an array of objects: calls each(item, the item's pointer) in
/// order; else throws at `p` expecting `array_what`, or at the first item
/// that is no object expecting `item_what`.
void for_each_object(const boost::json::value& v, const std::string& p, std::string_view array_what,
                     std::string_view item_what,
                     detail::function_ref<void(const boost::json::object&, const std::string&)> each);

/// Throws at p/key, expecting `what`, if `o` has no member `key`.
void need_present(const boost::json::object& o, std::string_view key, const std::string& p, std::string_view what);

/// Warns that member `key` of the object at `p` (described as `where`) is
/// unknown: D2 keeps such fields and ignores them.
void unknown(std::vector<warning>& w, const std::string& p, std::string_view key, std::string_view where);

}  // namespace tokenrail::workflow
