// Versions: the macros, the runtime queries and the status names.
#include "capi_test_support.hpp"

#include <cstdio>

TEST_CASE("runtime version matches the header the program was built with") {
  REQUIRE(std::string(tokenrail_version()) == TOKENRAIL_VERSION_STRING);
  char built[32];
  std::snprintf(built, sizeof built, "%d.%d.%d", TOKENRAIL_VERSION_MAJOR, TOKENRAIL_VERSION_MINOR,
                TOKENRAIL_VERSION_PATCH);
  REQUIRE(std::string(built) == TOKENRAIL_VERSION_STRING);
  REQUIRE(TOKENRAIL_VERSION_NUMBER ==
          TOKENRAIL_VERSION_MAJOR * 10000 + TOKENRAIL_VERSION_MINOR * 100 + TOKENRAIL_VERSION_PATCH);
}

TEST_CASE("runtime ABI version matches the header") {
  REQUIRE(tokenrail_abi_version() == TOKENRAIL_ABI_VERSION);
}

TEST_CASE("every status has a name, unknown ones a placeholder") {
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_OK)) == "TOKENRAIL_OK");
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_ERR_RESPONSE)) == "TOKENRAIL_ERR_RESPONSE");
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_ERR_INVALID_ARGUMENT)) == "TOKENRAIL_ERR_INVALID_ARGUMENT");
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_ERR_CLOSED)) == "TOKENRAIL_ERR_CLOSED");
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_ERR_NO_MEMORY)) == "TOKENRAIL_ERR_NO_MEMORY");
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_ERR_OPEN_FAILED)) == "TOKENRAIL_ERR_OPEN_FAILED");
  REQUIRE(std::string(tokenrail_status_name(TOKENRAIL_ERR_INTERNAL)) == "TOKENRAIL_ERR_INTERNAL");
  REQUIRE(std::string(tokenrail_status_name(static_cast<tokenrail_status>(99))) == "TOKENRAIL_UNKNOWN_STATUS");
}

TEST_CASE("operations lists the contract's operations as a JSON array") {
  const char* text = tokenrail_operations();
  REQUIRE(text != nullptr);
  REQUIRE(text == tokenrail_operations());  // one static string
  auto ops = capi_test::json::parse(text).as_array();
  bool has_start = false, has_continue = false;
  for (auto& op : ops) {
    REQUIRE(op.is_string());
    has_start = has_start || op.as_string() == "start_workflow";
    has_continue = has_continue || op.as_string() == "continue_workflow";
  }
  REQUIRE(has_start);
  REQUIRE(has_continue);
}
