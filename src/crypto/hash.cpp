#include <tokenrail/crypto/hash.hpp>

#include <tokenrail/error.hpp>
#include <tokenrail/json/canonical.hpp>

#include <sodium.h>

namespace tokenrail::crypto {

void init() {
  // A function-local static is initialized exactly once even when several
  // threads arrive together; sodium_init() itself is also idempotent.
  static const int status = sodium_init();
  if (status < 0) fail(errc::INTERNAL, "libsodium failed to initialize");
}

digest32 sha256(std::string_view data) {
  init();
  digest32 out;
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string workflow_hash(const boost::json::value& definition) {
  const std::string canonical = json::canonicalize(definition);
  const digest32 h = sha256(canonical);
  std::string out = "sha256:";
  out += to_hex(h);
  return out;
}

digest32 blake2b(std::string_view data) {
  init();
  digest32 out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     nullptr, 0);
  return out;
}

blake2b_state::blake2b_state() {
  init();
  crypto_generichash_init(&st_, nullptr, 0, 32);
}

blake2b_state& blake2b_state::update(std::string_view data) {
  crypto_generichash_update(&st_, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return *this;
}

blake2b_state& blake2b_state::update(std::span<const std::uint8_t> data) {
  crypto_generichash_update(&st_, data.data(), data.size());
  return *this;
}

digest32 blake2b_state::final() {
  digest32 out;
  crypto_generichash_final(&st_, out.data(), out.size());
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // the terminating NUL sodium writes
  return out;
}

std::string to_hex(std::string_view bytes) {
  return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

namespace {
bool all_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}
}  // namespace

bool from_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept {
  // sodium_hex2bin stops at the first non-hex character; checking the
  // alphabet and the exact length first makes decoding strict.
  if (hex.size() != out.size() * 2 || !all_hex(hex)) return false;
  if (out.empty()) return true;  // sodium_hex2bin must not see a null buffer
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0) return false;
  return len == out.size() && end == hex.data() + hex.size();
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(hex.size() / 2);
  if (!from_hex(hex, std::span<std::uint8_t>(out))) return std::nullopt;
  return out;
}

}  // namespace tokenrail::crypto
