#include "workflow/templating.hpp"

#include <tokenrail/json/canonical.hpp>

#include <cctype>

namespace tokenrail::workflow {
namespace json = boost::json;

std::string render_template(std::string_view text, const scope& s) {
  if (text.find("{{") == std::string_view::npos) return std::string(text);   // the common case
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    std::string_view expr = text.substr(open + 2, close - open - 2);
    while (!expr.empty() && std::isspace(static_cast<unsigned char>(expr.front()))) expr.remove_prefix(1);
    while (!expr.empty() && std::isspace(static_cast<unsigned char>(expr.back()))) expr.remove_suffix(1);
    if (is_var_path(expr)) {
      if (const json::value* v = s.lookup(expr)) {
        if (v->is_string()) out.append(v->get_string());
        else out += tokenrail::json::serialize(*v);
      } else {
        out += "[unset: ";
        out.append(expr);
        out += ']';
      }
    } else {
      out.append(text.substr(open, close + 2 - open));
    }
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

json::value render_json(const json::value& v, const scope& s, int depth) {
  if (depth > 64) return v;
  if (v.is_string()) return json::value(render_template(v.get_string(), s));
  if (v.is_array()) {
    json::array out;
    out.reserve(v.get_array().size());
    for (const auto& item : v.get_array()) out.push_back(render_json(item, s, depth + 1));
    return out;
  }
  if (v.is_object()) {
    json::object out;
    for (const auto& member : v.get_object()) out[member.key()] = render_json(member.value(), s, depth + 1);
    return out;
  }
  return v;
}

}  // namespace tokenrail::workflow
