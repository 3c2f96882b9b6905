// Hashes and byte helpers built on libsodium.
//
//   workflow_hash  "sha256:" + hex(SHA-256(JCS(definition)))   (D3 pinning)
//   blake2b        unkeyed BLAKE2b-256, one-shot or incremental  (D7 event chain)
//   init_keyed_blake2b  keyed BLAKE2b prepared once per key        (D4 token tags)
//   to_hex/from_hex                                               (lowercase hex)
//
// Every function here calls crypto::init() itself, so callers need not.
// All are thread-safe (a blake2b_state object is used by one thread at a
// time). Those that return a std::string may throw std::bad_alloc.
#pragma once

#include <boost/json/value.hpp>
#include <sodium/crypto_generichash.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::crypto {

/// Initializes libsodium once per process. Idempotent and thread-safe
/// (a function-local static). Throws tokenrail::failure(INTERNAL) if libsodium
/// cannot initialize (no usable randomness source).
void init();

using digest32 = std::array<std::uint8_t, 32>;

/// SHA-256 of `data` (libsodium crypto_hash_sha256).
digest32 sha256(std::string_view data);

/// "sha256:" + lowercase hex of SHA-256 of the RFC 8785 canonical form of
/// `definition`. Throws tokenrail::failure(INVALID_REQUEST, with the JSON
/// pointer) if the definition holds a non-finite double.
std::string workflow_hash(const boost::json::value& definition);

/// Unkeyed BLAKE2b with a 32-byte output (crypto_generichash).
digest32 blake2b(std::string_view data);

/// Incremental BLAKE2b-256: hash prev ‖ event without concatenating them.
/// A plain value type (copyable: copying forks the hash state). Calling
/// update() or final() after final() is a programming error (it restarts
/// nothing; the output is unspecified but never a crash).
class blake2b_state {
 public:
  blake2b_state();
  blake2b_state& update(std::string_view data);
  blake2b_state& update(std::span<const std::uint8_t> data);
  digest32 final();

 private:
  crypto_generichash_state st_;
};

/// Keyed BLAKE2b prepared once for many messages that all begin with `head`
/// (for example a MAC key used for every token of one kind): sets `out` to
/// the state that has absorbed `key` and `head`. Copy it per message, add the
/// rest with crypto_generichash_update and finish with
/// crypto_generichash_final (output length `outlen`): the digest is exactly
/// crypto_generichash(out, outlen, head ‖ rest, key, key.size()).
///
/// Why not just crypto_generichash_init(key) and copy: libsodium buffers
/// the key block and compresses it lazily, so every copy would compress the
/// key again. With a non-empty `head`, `out` gets the key block already
/// compressed, which saves one BLAKE2b compression per message (see
/// hash.cpp for how, and the checks that guard it).
///
/// `out` holds key material: sodium_memzero it when it is dropped. The
/// temporaries used here are wiped. Preconditions (libsodium's):
/// 1 <= key.size() <= 64, 16 <= outlen <= 64.
void init_keyed_blake2b(crypto_generichash_state& out, std::span<const std::uint8_t> key, std::size_t outlen,
                        std::span<const std::uint8_t> head);

/// Lowercase hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);
std::string to_hex(std::string_view bytes);

/// Decodes hex (either case) into `out`; true only if `hex` is exactly
/// 2 × out.size() hex digits, nothing else (no separators, no whitespace).
bool from_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept;
/// Decodes hex of any even length; nullopt on an odd length or a non-hex character.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);

}  // namespace tokenrail::crypto
