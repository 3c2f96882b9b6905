#include <tokenrail/json_parse.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value_stack.hpp>
#include <boost/system/system_error.hpp>

#include <fmt/format.h>

#include <charconv>
#include <string>

namespace tokenrail {

namespace {

// Boost.JSON's own value-building handler (a value_stack), except for one
// thing: numbers with a fraction or an exponent. Boost.JSON 1.81 converts
// them with a fast method that is not correctly rounded (about one double in
// eight does not survive print-then-parse; correct rounding came in 1.83,
// and only as an option). That would change a client's value by one bit,
// give the same workflow text another hash here than in any other
// implementation, and could make `verify` refuse a stored event holding such a
// number (printed and read back, it can move once more). So each one is
// converted again from its text with std::from_chars, which rounds
// correctly.
struct exact_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  boost::json::value_stack st;
  std::string number;   // the number's text so far, when the input splits it

  exact_handler(unsigned char* temp, std::size_t size) : st({}, temp, size) {}

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, boost::json::string_view s, boost::json::error_code&) {
    std::string_view text(s.data(), s.size());
    if (!number.empty()) text = number.append(s.data(), s.size());
    double exact;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), exact);
    // Out of range (beyond ±1.8e308, or below the smallest subnormal):
    // Boost.JSON's value stands.
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) d = exact;
    number.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, boost::json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }
};

/// Builds nothing: for checking text without making a value of it.
struct null_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();
  using sv = boost::json::string_view;
  using ec = boost::json::error_code;
  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_object_begin(ec&) { return true; }
  bool on_object_end(std::size_t, ec&) { return true; }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_key_part(sv, std::size_t, ec&) { return true; }
  bool on_key(sv, std::size_t, ec&) { return true; }
  bool on_string_part(sv, std::size_t, ec&) { return true; }
  bool on_string(sv, std::size_t, ec&) { return true; }
  bool on_number_part(sv, ec&) { return true; }
  bool on_int64(std::int64_t, sv, ec&) { return true; }
  bool on_uint64(std::uint64_t, sv, ec&) { return true; }
  bool on_double(double, sv, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(sv, ec&) { return true; }
  bool on_comment(sv, ec&) { return true; }
};

/// Parses a whole document: the value (null on error) and, in `used`, the
/// bytes consumed (where an error is).
boost::json::value parse_document(std::string_view text, const boost::json::parse_options& options,
                                  boost::json::storage_ptr sp, std::size_t& used, boost::system::error_code& ec) {
  // The parser's working memory starts in a stack buffer.
  unsigned char temp[1024];
  boost::json::basic_parser<exact_handler> parser(options, temp, sizeof temp);
  parser.handler().st.reset(std::move(sp));
  used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  // Returned, not assigned: assigning to a value of another memory
  // resource would copy it.
  if (ec) return nullptr;
  return parser.handler().st.release();
}

}  // namespace

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
  boost::system::error_code ec;
  std::size_t used = 0;
  boost::json::value v = parse_document(text, options, std::move(sp), used, ec);
  if (!ec) return v;

  const auto where = boost::json::object{{"offset", used}};
  if (ec == boost::json::error::too_deep)
    return error::make(errc::NESTING_TOO_DEEP,
                       fmt::format("JSON nests deeper than {} levels (at byte {})", limits.max_depth, used), where);
  if (ec == boost::json::error::syntax && used < text.size() &&
      static_cast<unsigned char>(text[used]) >= 0x80)
    return error::make(errc::INVALID_UTF8, fmt::format("invalid UTF-8 at byte {}", used), where);
  return error::make(errc::INVALID_JSON, fmt::format("invalid JSON at byte {}: {}", used, ec.message()), where);
}

boost::json::value parse_json_text(std::string_view text, boost::system::error_code& ec,
                                   boost::json::storage_ptr sp) {
  // Text this process wrote was refused on the way in beyond the request
  // limits' depth; the records that wrap it add a few levels more.
  boost::json::parse_options options;
  options.max_depth = 1024;
  std::size_t used = 0;
  return parse_document(text, options, std::move(sp), used, ec);
}

bool is_json_text(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 1024;
  boost::json::basic_parser<null_handler> parser(options);
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  return !ec && used == text.size();
}

boost::json::value parse_json_text(std::string_view text, boost::json::storage_ptr sp) {
  boost::system::error_code ec;
  boost::json::value v = parse_json_text(text, ec, std::move(sp));
  if (ec) throw boost::system::system_error(ec);
  return v;
}

}  // namespace tokenrail
