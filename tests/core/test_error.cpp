#include <tokenrail/error.hpp>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <set>

using namespace tokenrail;

TEST_CASE("every registered code has a name, a family and round-trips by name") {
  std::set<int> seen;
#define TOKENRAIL_X(name, num, retry, text)                               \
  {                                                                       \
    REQUIRE(errc_name(errc::name) == #name);                              \
    REQUIRE(errc_from_name(#name) == errc::name);                         \
    REQUIRE(num >= 1000);                                                 \
    REQUIRE(num < 6000);                                                  \
    REQUIRE(seen.insert(num).second);                                     \
    if (num / 1000 == 2) REQUIRE(errc_retry(errc::name) == retry_kind::not_retryable); \
  }
  TOKENRAIL_ERROR_CODES(TOKENRAIL_X)
#undef TOKENRAIL_X
  REQUIRE_FALSE(errc_from_name("NOPE").has_value());
}

TEST_CASE("errors serialize to the D6 shape") {
  auto e = error::at(errc::INVALID_REQUEST, "/context/ticket", "a string");
  auto j = e.to_json();
  auto& body = j.at("error").as_object();
  CHECK(body.at("code") == "INVALID_REQUEST");
  CHECK(body.at("numericCode") == 1002);
  CHECK(body.at("message") == "/context/ticket: expected a string");
  CHECK(body.at("retry").at("kind") == "not_retryable");
  CHECK(body.at("details").at("pointer") == "/context/ticket");

  auto busy = error::make(errc::STORE_BUSY, "");
  auto bj = busy.to_json();
  CHECK(bj.at("error").at("retry").at("kind") == "retryable_after_ms");
  CHECK(bj.at("error").at("retry").at("afterMs").as_int64() > 0);
  CHECK(bj.at("error").at("message").as_string() == errc_text(errc::STORE_BUSY));
  CHECK_FALSE(bj.at("error").as_object().contains("details"));
}

TEST_CASE("result carries a value or an error, and take() throws the error") {
  result<int> ok = 7;
  REQUIRE(ok.has_value());
  CHECK(*ok == 7);
  result<int> bad = error::make(errc::RUN_NOT_FOUND, "no run r1");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::RUN_NOT_FOUND);
  try {
    (void)std::move(bad).take();
    FAIL("take() did not throw");
  } catch (const failure& f) {
    CHECK(f.err().message == "no run r1");
  }
}
