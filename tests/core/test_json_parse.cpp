#include <tokenrail/json_parse.hpp>

#include <catch2/catch.hpp>

#include <string>

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
