#include <tokenrail/json_parse.hpp>

#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>

#include <fmt/format.h>

namespace tokenrail {

result<boost::json::value> parse_json(std::string_view text, const json_limits& limits) {
  return parse_json(text, limits, {});
}

result<boost::json::value> parse_json(std::string_view text, const json_limits& limits,
                                      boost::json::storage_ptr sp) {
  if (text.size() > limits.max_bytes)
    return error::make(errc::PAYLOAD_TOO_LARGE,
                       fmt::format("the JSON text is {} bytes; the limit is {}", text.size(), limits.max_bytes),
                       boost::json::object{{"limit", limits.max_bytes}, {"size", text.size()}});

  boost::json::parse_options options;
  options.max_depth = limits.max_depth;
  unsigned char temp[1024];
  boost::json::stream_parser parser({}, options, temp);
  parser.reset(std::move(sp));
  boost::system::error_code ec;
  const std::size_t used = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (!ec) return parser.release();

  const auto where = boost::json::object{{"offset", used}};
  if (ec == boost::json::error::too_deep)
    return error::make(errc::NESTING_TOO_DEEP,
                       fmt::format("JSON nests deeper than {} levels (at byte {})", limits.max_depth, used), where);
  if (ec == boost::json::error::syntax && used < text.size() &&
      static_cast<unsigned char>(text[used]) >= 0x80)
    return error::make(errc::INVALID_UTF8, fmt::format("invalid UTF-8 at byte {}", used), where);
  return error::make(errc::INVALID_JSON, fmt::format("invalid JSON at byte {}: {}", used, ec.message()), where);
}

}  // namespace tokenrail
