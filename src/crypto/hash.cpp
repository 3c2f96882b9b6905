#include <tokenrail/crypto/hash.hpp>

#include <tokenrail/error.hpp>
#include <tokenrail/json/canonical.hpp>

#include <sodium.h>

#include <cstring>

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
  // Every unkeyed BLAKE2b-256 starts from the same state: initialize it once
  // and copy it (a plain memory copy, cheaper than re-deriving the
  // parameter block on every event hash).
  static const crypto_generichash_state fresh = [] {
    init();
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 32);
    return st;
  }();
  st_ = fresh;
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

// ---- keyed BLAKE2b with the key block compressed ahead ----------------------
//
// BLAKE2b with a key hashes the key, zero-padded, as a first 128-byte block.
// libsodium keeps up to two blocks in the state's buffer and compresses a
// block only when more input arrives after it (the last block must be
// compressed with the "final" flag). So crypto_generichash_init(key) leaves
// the key block uncompressed, and a state copied from it compresses the key
// again for every message: two compressions for a short message where one
// would do.
//
// To have the key block compressed once: absorb 129 filler bytes, which
// makes libsodium compress the key block (as a non-final block, exactly as
// it would for any message that follows it), then empty the buffer by
// setting its length back to 0. The filler is then as if never written, and
// what remains is BLAKE2b's chaining value and counter after the key block,
// which is what every keyed message starts from. That is valid only if at
// least one message byte follows (an empty message would need the key block
// itself to be the final one), hence the non-empty `head`. Moving the filler
// down over the compressed block also overwrites the key's bytes in the
// buffer: the prepared state keeps only the chaining value, not the key.
//
// Setting the length needs libsodium's internal state layout, not part of its
// API (libsodium 1.0.18, blake2.h, packed): h[8], t[2], f[2] (96 bytes),
// buf[256], then size_t buflen at offset 352. So it is guarded three ways:
// buflen must read 128 after init (the key block) and 129 after the filler,
// and the prepared state must give the same digests as the one-shot keyed
// crypto_generichash on test messages. If any check fails (another libsodium
// with another layout), the plain lazily keyed state is used: slower, same
// output.
namespace {

constexpr std::size_t blake2b_block = 128;
constexpr std::size_t sodium_buflen_offset = 64 + 16 + 16 + 256;
static_assert(sodium_buflen_offset + sizeof(std::size_t) <= sizeof(crypto_generichash_state));

std::size_t sodium_buflen(const crypto_generichash_state& st) noexcept {
  std::size_t n = 0;
  std::memcpy(&n, reinterpret_cast<const unsigned char*>(&st) + sodium_buflen_offset, sizeof n);
  return n;
}

// Compresses the buffered key block of a freshly keyed state (see above);
// false, with `st` in an unknown state, if the layout is not as expected.
bool compress_key_block(crypto_generichash_state& st) noexcept {
  if (sodium_buflen(st) != blake2b_block) return false;
  const std::uint8_t filler[blake2b_block + 1] = {};
  crypto_generichash_update(&st, filler, sizeof filler);
  if (sodium_buflen(st) != sizeof filler) return false;
  const std::size_t empty = 0;
  std::memcpy(reinterpret_cast<unsigned char*>(&st) + sodium_buflen_offset, &empty, sizeof empty);
  return true;
}

// True if the prepared state gives the one-shot keyed hash of head ‖ tail
// for tails of 0, 1 and 300 bytes (within one block, and across several).
bool same_as_one_shot(const crypto_generichash_state& prepared, std::span<const std::uint8_t> key,
                      std::size_t outlen, std::span<const std::uint8_t> head) {
  std::vector<std::uint8_t> msg(head.begin(), head.end());
  bool same = true;
  for (const std::size_t tail : {0u, 1u, 300u}) {
    msg.resize(head.size());
    for (std::size_t i = 0; i < tail; ++i) msg.push_back(static_cast<std::uint8_t>(i * 7 + 1));
    crypto_generichash_state st = prepared;
    crypto_generichash_update(&st, msg.data() + head.size(), tail);
    std::uint8_t got[crypto_generichash_BYTES_MAX], want[crypto_generichash_BYTES_MAX];
    crypto_generichash_final(&st, got, outlen);
    crypto_generichash(want, outlen, msg.data(), msg.size(), key.data(), key.size());
    same = same && std::memcmp(got, want, outlen) == 0;
    sodium_memzero(&st, sizeof st);
    sodium_memzero(got, sizeof got);
    sodium_memzero(want, sizeof want);
  }
  return same;
}

}  // namespace

void init_keyed_blake2b(crypto_generichash_state& out, std::span<const std::uint8_t> key, std::size_t outlen,
                        std::span<const std::uint8_t> head) {
  init();
  crypto_generichash_init(&out, key.data(), key.size(), outlen);
  // The plain state, lazily keyed: the fallback.
  crypto_generichash_state lazy = out;
  crypto_generichash_update(&lazy, head.data(), head.size());
  if (!head.empty() && compress_key_block(out)) {
    crypto_generichash_update(&out, head.data(), head.size());
    if (same_as_one_shot(out, key, outlen, head)) {
      sodium_memzero(&lazy, sizeof lazy);
      return;
    }
  }
  out = lazy;
  sodium_memzero(&lazy, sizeof lazy);
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
