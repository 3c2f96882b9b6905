// Hashes: expected values computed independently with Python's hashlib.
#include <tokenrail/crypto/hash.hpp>

#include <tokenrail/error.hpp>
#include <tokenrail/json/canonical.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

namespace bj = boost::json;
using namespace tokenrail::crypto;

TEST_CASE("sha256 known vectors") {
  CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("workflow_hash is SHA-256 of the canonical form") {
  // python3: hashlib.sha256('{"a":[1,"x"],"b":null,"é":2.5}'.encode()).hexdigest()
  const bj::value def = bj::parse(R"({ "\u00e9": 2.50, "b": null, "a": [1.0, "x"] })");
  CHECK(tokenrail::json::canonicalize(def) == "{\"a\":[1,\"x\"],\"b\":null,\"\xC3\xA9\":2.5}");
  CHECK(workflow_hash(def) == "sha256:03c8cb3e61a59261b385cc78e4d52506b98c371f1416ca0098b6c7680fb573d0");
  // Formatting and key order do not change it; a value does.
  CHECK(workflow_hash(bj::parse(R"({"a":[1,"x"],"\u00e9":2.5,"b":null})")) == workflow_hash(def));
  CHECK(workflow_hash(bj::parse(R"({"a":[1,"x"],"\u00e9":2.6,"b":null})")) != workflow_hash(def));
  CHECK(workflow_hash(def).size() == 7 + 64);
}

TEST_CASE("workflow_hash refuses non-finite numbers") {
  bj::value def = bj::parse(R"({"x":1})");
  def.at("x") = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(workflow_hash(def), tokenrail::failure);
}

TEST_CASE("blake2b-256 known vectors, one-shot and incremental") {
  CHECK(to_hex(blake2b("")) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(to_hex(blake2b("abc")) == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  const char* expected = "83a66fe3dd5d3a362e37fe70272822d456a181c986ad315208613cb09eb266e1";
  CHECK(to_hex(blake2b("prev-hash|{\"type\":\"event\"}")) == expected);
  blake2b_state st;
  st.update("prev-hash").update(std::string_view("|"));
  const std::uint8_t tail[] = {'{', '"', 't', 'y', 'p', 'e', '"', ':', '"', 'e', 'v', 'e', 'n', 't', '"', '}'};
  st.update(std::span<const std::uint8_t>(tail));
  CHECK(to_hex(st.final()) == expected);
  // Copying a state forks it.
  blake2b_state a;
  a.update("ab");
  blake2b_state b = a;
  a.update("c");
  b.update("d");
  CHECK(to_hex(a.final()) == to_hex(blake2b("abc")));
  CHECK(to_hex(b.final()) == to_hex(blake2b("abd")));
}

TEST_CASE("hex helpers are strict") {
  const std::uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff};
  CHECK(to_hex(std::span<const std::uint8_t>(bytes)) == "0001abff");
  CHECK(to_hex(std::string_view("\x00\xff", 2)) == "00ff");
  CHECK(to_hex(std::string_view()) == "");

  std::uint8_t out[4] = {};
  CHECK(from_hex("0001ABff", std::span<std::uint8_t>(out)));
  CHECK(std::vector<std::uint8_t>(out, out + 4) == std::vector<std::uint8_t>(bytes, bytes + 4));
  CHECK_FALSE(from_hex("0001abf", std::span<std::uint8_t>(out)));    // short
  CHECK_FALSE(from_hex("0001abfff0", std::span<std::uint8_t>(out))); // long
  CHECK_FALSE(from_hex("0001abfg", std::span<std::uint8_t>(out)));   // alphabet
  CHECK_FALSE(from_hex("00 1abff", std::span<std::uint8_t>(out)));   // whitespace
  CHECK_FALSE(from_hex(std::string_view("0001ab\0f", 8), std::span<std::uint8_t>(out)));

  CHECK(from_hex("") == std::vector<std::uint8_t>{});
  CHECK(from_hex("0a0B") == std::vector<std::uint8_t>{0x0a, 0x0b});
  CHECK_FALSE(from_hex("abc").has_value());
  CHECK_FALSE(from_hex("zz").has_value());
}

TEST_CASE("init is idempotent and safe from many threads") {
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([i, &results] {
      init();
      results[i] = to_hex(blake2b("abc"));
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK(r == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("init_keyed_blake2b equals one-shot keyed crypto_generichash") {
  init();
  std::vector<std::uint8_t> key(64), msg(700);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 13 + 5);
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i * 31 + 7);
  // Key sizes, output sizes, and head/rest lengths around the 128-byte
  // blocks and the 256-byte buffer of libsodium, including an empty head
  // (served by the lazily keyed state) and an empty rest.
  for (const std::size_t key_len : {1u, 16u, 32u, 64u}) {
    for (const std::size_t outlen : {16u, 32u, 64u}) {
      for (const std::size_t head : {0u, 1u, 6u, 127u, 128u, 129u, 255u, 256u, 257u}) {
        crypto_generichash_state prepared;
        init_keyed_blake2b(prepared, std::span(key.data(), key_len), outlen, std::span(msg.data(), head));
        if (head > 0 && head <= 256 && std::string_view(sodium_version_string()) == "1.0.18") {
          // The saving is real on this libsodium: only the head is left in
          // the buffer (size_t buflen at offset 352 of its blake2b_state),
          // the key block was compressed ahead (128 + head without it;
          // heads over 256 bytes get compressed blocks of their own).
          std::size_t buflen = 0;
          std::memcpy(&buflen, reinterpret_cast<const unsigned char*>(&prepared) + 352, sizeof buflen);
          CHECK(buflen == head);
        }
        for (const std::size_t rest : {0u, 1u, 22u, 122u, 127u, 128u, 250u, 256u, 300u}) {
          crypto_generichash_state st = prepared;
          crypto_generichash_update(&st, msg.data() + head, rest);
          std::uint8_t got[64], want[64];
          crypto_generichash_final(&st, got, outlen);
          crypto_generichash(want, outlen, msg.data(), head + rest, key.data(), key_len);
          INFO("key " << key_len << " out " << outlen << " head " << head << " rest " << rest);
          REQUIRE(to_hex(std::span<const std::uint8_t>(got, outlen)) ==
                  to_hex(std::span<const std::uint8_t>(want, outlen)));
        }
      }
    }
  }
  // A fixed vector (python3: hashlib.blake2b(b"st1_\x00\x09" + bytes(22),
  // key=bytes(range(32)), digest_size=16).hexdigest()).
  std::uint8_t k32[32];
  for (int i = 0; i < 32; ++i) k32[i] = static_cast<std::uint8_t>(i);
  const std::uint8_t head[6] = {'s', 't', '1', '_', 0, 9};
  crypto_generichash_state st;
  init_keyed_blake2b(st, k32, 16, head);
  const std::uint8_t zeros[22] = {};
  crypto_generichash_update(&st, zeros, sizeof zeros);
  std::uint8_t tag[16];
  crypto_generichash_final(&st, tag, sizeof tag);
  CHECK(to_hex(std::span<const std::uint8_t>(tag)) == "9b06dd5cbed8631dd226fd7cb425a9e0");
}
