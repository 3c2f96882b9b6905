#include <tokenrail/json_parse.hpp>

#include <catch2/catch.hpp>

#include <boost/system/system_error.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tokenrail;

TEST_CASE("parse_json accepts a document and refuses bad input with its own code") {
  auto ok = parse_json(R"({"a":[1,2,{"b":"c"}]})");
  REQUIRE(ok.has_value());
  CHECK(ok->at("a").at(2).at("b") == "c");

  CHECK(parse_json("{").error().code == errc::INVALID_JSON);
  CHECK(parse_json("").error().code == errc::INVALID_JSON);
  CHECK(parse_json("{} {}").error().code == errc::INVALID_JSON);
  CHECK(parse_json("\"\xff\"").error().code == errc::INVALID_UTF8);

  json_limits small;
  small.max_bytes = 10;
  auto big = parse_json(R"({"a":"0123456789"})", small);
  CHECK(big.error().code == errc::PAYLOAD_TOO_LARGE);
  CHECK(big.error().details.at("limit") == 10);
}

TEST_CASE("parse_json refuses 10,000-deep nesting without recursing") {
  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  auto r = parse_json(deep);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::NESTING_TOO_DEEP);
}

TEST_CASE("parse_json handles a 10 MB string within limits and refuses it beyond") {
  std::string text = "\"" + std::string(10u << 20, 'x') + "\"";
  CHECK(parse_json(text).error().code == errc::PAYLOAD_TOO_LARGE);
  json_limits roomy;
  roomy.max_bytes = 16u << 20;
  auto r = parse_json(text, roomy);
  REQUIRE(r.has_value());
  CHECK(r->as_string().size() == (10u << 20));
}

namespace {

/// Exactly the double nearest to `text` (std::from_chars rounds correctly).
double nearest(std::string_view text) {
  double d = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
  REQUIRE(r.ec == std::errc());
  return d;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("numbers with a fraction or exponent parse to the nearest double") {
  // Each of these came out one bit off with boost::json::parse (1.81).
  const char* texts[] = {"11143.938825400413", "0.011962827571952765", "1893.0204142085095",
                         "5.544031041049645076e-18", "8.48479699021827475e251", "-4.085372328610088e+269",
                         "123456789012345678901234567890"};
  for (const char* t : texts) {
    INFO(t);
    auto v = parse_json(std::string("[") + t + "]");
    REQUIRE(v.has_value());
    REQUIRE(v->as_array()[0].is_double());
    CHECK(same_bits(v->as_array()[0].as_double(), nearest(t)));
    CHECK(same_bits(parse_json_text(t).as_double(), nearest(t)));
  }
  // Integers stay integers; out-of-range exponents keep Boost.JSON's answer.
  CHECK(parse_json("[-9223372036854775808, 18446744073709551615]")->as_array()[0].is_int64());
  CHECK(parse_json("18446744073709551615")->is_uint64());
  CHECK(parse_json("1e-400")->as_double() == 0.0);
}

TEST_CASE("every double survives print-then-parse bit for bit") {
  std::mt19937_64 rng(7);
  int failures = 0;
  char buf[64];
  for (int i = 0; i < 200000; ++i) {
    // Ordinary magnitudes (2^-20 .. 2^40) and, one time in four, any finite double.
    double x;
    if (i % 4) {
      x = std::ldexp(1.0 + static_cast<double>(rng() >> 11) * 0x1p-53, static_cast<int>(rng() % 60) - 20);
    } else {
      const std::uint64_t bits = rng();
      std::memcpy(&x, &bits, sizeof x);
      if (!std::isfinite(x)) continue;
    }
    const auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;
    const std::string_view text(buf, static_cast<std::size_t>(end - buf));
    boost::system::error_code ec;
    const auto v = parse_json_text(text, ec);
    const double back = v.is_double() ? v.as_double() : v.to_number<double>();
    if (ec || !same_bits(back, x)) ++failures;
  }
  CHECK(failures == 0);
}

TEST_CASE("parse_json_text reports invalid text as an error code, or throws") {
  boost::system::error_code ec;
  auto v = parse_json_text("{\"a\":", ec);
  CHECK(ec);
  CHECK(v.is_null());
  parse_json_text("[1] 2", ec);
  CHECK(ec);
  CHECK_THROWS_AS(parse_json_text("nul"), boost::system::system_error);
  // Deep records (beyond the request limit of 64) still parse.
  std::string deep = std::string(200, '[') + std::string(200, ']');
  parse_json_text(deep, ec);
  CHECK_FALSE(ec);
}

TEST_CASE("is_json_text accepts exactly what parse_json_text parses") {
  const std::vector<std::string> texts = {
      R"({"a":[1,2.5,"x\u00e9",true,null]})", "  [1] ", "\"\xc3\xa9\"", "0", std::string(300, '[') + std::string(300, ']'),
      // refused: cut short, trailing bytes, invalid UTF-8, empty, too deep
      R"({"a":)", "[1] 2", "\"\xff\"", "\"\xc3\"", "", std::string(1100, '[') + std::string(1100, ']'),
      R"({"kind":"ok"})" + std::string("\x01\x7f\xff", 3)};
  for (const auto& t : texts) {
    INFO(t.substr(0, 40));
    boost::system::error_code ec;
    parse_json_text(t, ec);
    CHECK(is_json_text(t) == !ec);
  }
  CHECK(is_json_text(R"({"a":[1,2.5,"x\u00e9",true,null]})"));
  CHECK_FALSE(is_json_text("\"\xff\""));
}
