// Opaque tokens (D4).
//
// A token names (kind, run, node, attempt). Its text is
//   <prefix> base64url( key_id:u16be ‖ tag:12 ‖ ciphertext:22 )
// with prefix st1_ | ak1_ | ck1_ | cb1_ — 52 characters in all. The payload
// is sealed with a deterministic SIV construction built from libsodium
// primitives: the tag is a keyed BLAKE2b of (prefix, key id, plaintext) under
// a per-kind MAC key, and the plaintext is encrypted with ChaCha20-IETF using
// the tag as the nonce under a per-kind encryption key. Both keys are derived
// from the keyring entry with crypto_kdf. Same inputs, same string: replays
// are byte-identical without storing tokens; verification needs only the key.
#pragma once

#include <tokenrail/error.hpp>

#include <array>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::token {

enum class kind : std::uint8_t { state = 0, ack = 1, checkpoint = 2, callback = 3 };

/// "st1_", "ak1_", "ck1_", "cb1_".
std::string_view prefix(kind k) noexcept;
/// "stateToken", "ackToken", "checkpointToken", "callbackToken".
std::string_view field_name(kind k) noexcept;

inline constexpr std::size_t token_length = 52;

/// What a token stands for. run_id is random per run; node_seq counts the
/// nodes of a run from 0; attempt is 0 for the ackToken minted with a node
/// and a fresh random value for each rehydration.
struct payload {
  std::uint64_t run_id = 0;
  std::uint32_t node_seq = 0;
  std::uint32_t attempt = 0;
  friend bool operator==(const payload&, const payload&) = default;
};

/// 32 bytes of key material. Wiped (sodium_memzero) when destroyed, so a
/// key entry copied, moved or dropped leaves no copy of the key behind in
/// freed memory.
struct secret : std::array<std::uint8_t, 32> {
  ~secret();
};

enum class key_state : std::uint8_t { current, active, retired };

struct key_entry {
  std::uint16_t id = 0;
  secret key{};
  key_state state = key_state::active;
  std::int64_t created_at_ms = 0;
};

/// The current key (mints and verifies), older active keys (verify only),
/// and retired keys (refused with TOKEN_KEY_RETIRED). Exactly one is current
/// in every keyring made by generate(), from_entries() or from_json(); a
/// default-constructed keyring has no key at all and is only a placeholder
/// (current() on it is undefined behaviour; codec refuses it).
/// A plain value: const members may be called from several threads at
/// once; rotate() and retire() need exclusive access.
class keyring {
 public:
  /// A keyring with one fresh random current key (id 1, created now).
  /// Throws failure(INTERNAL) if libsodium cannot start.
  static keyring generate();
  /// From entries; INVALID_CONFIG (details {pointer, expected}) unless
  /// exactly one key is current and ids are unique.
  static result<keyring> from_entries(std::vector<key_entry> entries);

  /// The current key. Precondition: not a default-constructed keyring.
  const key_entry& current() const noexcept;
  /// The key with that id, or nullptr. The pointer (like entries()) is
  /// valid until the keyring is modified or destroyed.
  const key_entry* find(std::uint16_t id) const noexcept;
  const std::vector<key_entry>& entries() const noexcept { return entries_; }

  /// Adds a fresh random key as current (created_at_ms = now_ms); the old
  /// current stays active. Returns the new key id: the highest id + 1, or,
  /// once id 65535 exists, the lowest free id. Throws failure(KEYRING_ERROR)
  /// when all 65535 ids are taken, failure(INTERNAL) if libsodium cannot
  /// start.
  std::uint16_t rotate(std::int64_t now_ms);
  /// Marks a key retired; INVALID_REQUEST for the current key or an unknown id.
  result<void> retire(std::uint16_t id);

  /// JSON form used by the keyring file: {"version":1,"keys":[{id,key(hex),state,createdAt}]}.
  /// The text holds every key: wipe it (sodium_memzero) when done with it.
  /// It is built in one allocation, so no other copy is left behind.
  std::string to_json() const;
  /// Errors: KEYRING_ERROR for anything that is not that form: details
  /// {pointer, expected} (including the checks of from_entries), or
  /// {offset} for text that is not JSON (at most 1 MiB, 8 levels).
  static result<keyring> from_json(std::string_view text);

 private:
  std::vector<key_entry> entries_;
};

/// Mints and verifies tokens; holds the derived per-kind keys for every
/// keyring entry so that neither operation derives keys on the hot path.
/// Immutable after construction, so it is safe to share between threads.
class codec {
 public:
  /// Derives the per-kind keys of every entry (retired ones too, so that
  /// their tokens are authenticated before being told they are retired).
  /// Throws failure(INVALID_CONFIG) for a keyring without keys (only a
  /// default-constructed one), failure(INTERNAL) if libsodium cannot start.
  explicit codec(const keyring& ring);

  /// Always succeeds (only std::bad_alloc): the same arguments give the
  /// same 52-character string, sealed with the keyring's current key.
  std::string mint(kind k, const payload& p) const;
  /// Appends the same 52 characters as mint(k, p) to `out`: no allocation of
  /// its own when `out` has room (for responses written into one buffer).
  void mint_to(kind k, const payload& p, std::string& out) const;

  /// Errors: TOKEN_MALFORMED (length, alphabet), TOKEN_UNSUPPORTED_VERSION,
  /// TOKEN_WRONG_KIND (a valid prefix of another kind), TOKEN_UNKNOWN_KEY,
  /// TOKEN_KEY_RETIRED, TOKEN_INVALID (authentication failed). The checks run
  /// in this order: prefix letters (an unknown one is TOKEN_MALFORMED),
  /// version, kind, length, alphabet, key id, tag; a retired key's token
  /// gets TOKEN_KEY_RETIRED only if it authenticates. details:
  /// {field, pointer "/<field>"} when `field` is given, {expected} (the
  /// expected kind's field name) always, {got} for TOKEN_WRONG_KIND.
  /// Allocates nothing on success; any input (empty, huge, binary) is safe.
  result<payload> verify(kind expected, std::string_view text, std::string_view field = {}) const;

 private:
  struct derived;
  std::vector<std::pair<std::uint16_t, std::shared_ptr<const derived>>> keys_;
  std::uint16_t current_id_ = 0;
  const derived* current_ = nullptr;   // the entry of current_id_, owned by keys_
};

}  // namespace tokenrail::token
