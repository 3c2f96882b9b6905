// Shape checks shared by the parts of the definition parser; one place, so
// every part words its errors and unknown-field warnings the same way.
#include "workflow/definition_field_checks.hpp"

#include "workflow/program.hpp"

#include <algorithm>
#include <cctype>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr errc invalid = errc::WORKFLOW_INVALID;

}  // namespace

bool valid_id(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  if (!std::isalnum(static_cast<unsigned char>(s.front())) && s.front() != '_') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

const json::object& need_object(const json::value& v, const std::string& p, std::string_view what) {
  if (!v.is_object()) throw_at(invalid, p, what);
  return v.get_object();
}

void for_each_object(const json::value& v, const std::string& p, std::string_view array_what,
                     std::string_view item_what,
                     detail::function_ref<void(const json::object&, const std::string&)> each) {
  if (!v.is_array()) throw_at(invalid, p, array_what);
  std::size_t i = 0;
  for (const auto& item : v.get_array()) {
    const std::string ip = pointer_join(p, i++);
    each(need_object(item, ip, item_what), ip);
  }
}

std::string need_string(const json::value& v, const std::string& p, std::string_view what) {
  if (!v.is_string()) throw_at(invalid, p, what);
  return std::string(v.get_string());
}

void need_present(const json::object& o, std::string_view key, const std::string& p, std::string_view what) {
  if (!o.contains(key)) throw_at(invalid, pointer_join(p, key), what);
}

void unknown(std::vector<warning>& w, const std::string& p, std::string_view key, std::string_view where) {
  w.push_back({pointer_join(p, key), "unknown field \"" + std::string(key) + "\" in " + std::string(where) +
                                         " (kept, ignored)"});
}

}  // namespace tokenrail::workflow
