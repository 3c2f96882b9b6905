// The token codec of D4: deterministic authenticated encryption (SIV style)
// of a 22-byte payload, see include/tokenrail/token/token.hpp.
//
// Wire layout after the 4-character prefix, base64url without padding:
//   [key_id u16 BE][tag 12][ciphertext 22]  = 36 bytes = 48 characters.
// Plaintext: run_id u64 BE | node_seq u32 BE | attempt u32 BE | 6 zero bytes.
// tag        = BLAKE2b-128(key = MAC key of the kind, prefix ‖ key_id ‖ plaintext)[0..12]
// ciphertext = ChaCha20-IETF(key = ENC key of the kind, nonce = tag) ⊕ plaintext
// The prefix is inside the tag, so a token cannot be re-labelled as another
// kind; the kinds also have separate keys. 36 bytes is a multiple of 3, so
// every 48-character string has exactly one decoding: a changed character
// always changes the bytes, and changed bytes always fail the tag.
#include <tokenrail/token/token.hpp>

#include <tokenrail/crypto/hash.hpp>

#include <boost/json/object.hpp>
#include <sodium.h>

#include <cstring>

namespace tokenrail::token {
namespace {

constexpr std::size_t prefix_len = 4;
constexpr std::size_t raw_len = 36;
constexpr std::size_t tag_len = 12;
constexpr std::size_t plain_len = 22;
constexpr std::size_t body_chars = 48;
constexpr char kdf_context[crypto_kdf_CONTEXTBYTES + 1] = "tokenrl1";
static_assert(sizeof kdf_context == crypto_kdf_CONTEXTBYTES + 1);
static_assert(prefix_len + body_chars == token_length);

constexpr std::string_view prefixes[4] = {"st1_", "ak1_", "ck1_", "cb1_"};
constexpr std::string_view field_names[4] = {"stateToken", "ackToken", "checkpointToken", "callbackToken"};

void put_be(std::uint8_t* p, std::uint64_t v, int bytes) noexcept {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
std::uint64_t get_be(const std::uint8_t* p, int bytes) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// base64url without padding, table-driven. Why not sodium_bin2base64 /
// sodium_base642bin: libsodium's codec is constant-time (it avoids
// secret-dependent table lookups), which costs about a quarter of a whole
// verify. A token's body is public ciphertext plus a public tag and key id,
// so nothing secret flows through these lookups and a plain table is safe.
// 36 bytes -> 48 characters exactly (36 is a multiple of 3: no padding, no
// partial group, so every 48-character string has exactly one decoding).
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static_assert(raw_len % 3 == 0 && body_chars == raw_len / 3 * 4);

struct b64_decode_table {
  std::uint8_t v[256];
  constexpr b64_decode_table() : v() {
    for (auto& x : v) x = 0xff;
    for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<std::uint8_t>(i);
  }
};
constexpr b64_decode_table b64_decode{};

// Two characters per lookup: 12 bits index a table of character pairs
// (4096 × 2 bytes), so a 3-byte group costs two lookups instead of four.
struct b64_pair_table {
  char v[4096][2];
  constexpr b64_pair_table() : v() {
    for (int i = 0; i < 4096; ++i) {
      v[i][0] = b64_alphabet[i >> 6];
      v[i][1] = b64_alphabet[i & 63];
    }
  }
};
constexpr b64_pair_table b64_pairs{};

void encode_body(const std::uint8_t (&raw)[raw_len], char* out) noexcept {
  for (std::size_t i = 0, o = 0; i < raw_len; i += 3, o += 4) {
    const std::uint32_t g = std::uint32_t(raw[i]) << 16 | std::uint32_t(raw[i + 1]) << 8 | raw[i + 2];
    std::memcpy(out + o, b64_pairs.v[g >> 12], 2);
    std::memcpy(out + o + 2, b64_pairs.v[g & 0xfff], 2);
  }
}

/// False if a character is outside the base64url alphabet.
bool decode_body(std::string_view body, std::uint8_t (&raw)[raw_len]) noexcept {
  std::uint8_t bad = 0;
  for (std::size_t i = 0, o = 0; i < body_chars; i += 4, o += 3) {
    const std::uint8_t a = b64_decode.v[static_cast<unsigned char>(body[i])];
    const std::uint8_t b = b64_decode.v[static_cast<unsigned char>(body[i + 1])];
    const std::uint8_t c = b64_decode.v[static_cast<unsigned char>(body[i + 2])];
    const std::uint8_t d = b64_decode.v[static_cast<unsigned char>(body[i + 3])];
    bad |= a | b | c | d;   // 0xff marks a character outside the alphabet
    const std::uint32_t g = std::uint32_t(a & 63) << 18 | std::uint32_t(b & 63) << 12 | std::uint32_t(c & 63) << 6 | (d & 63);
    raw[o] = static_cast<std::uint8_t>(g >> 16);
    raw[o + 1] = static_cast<std::uint8_t>(g >> 8);
    raw[o + 2] = static_cast<std::uint8_t>(g);
  }
  return (bad & 0xc0) == 0;
}

}  // namespace

std::string_view prefix(kind k) noexcept { return prefixes[static_cast<std::size_t>(k) & 3]; }
std::string_view field_name(kind k) noexcept { return field_names[static_cast<std::size_t>(k) & 3]; }

// Everything a key needs on the hot path, derived once per keyring entry:
// per kind the BLAKE2b state already keyed and fed prefix ‖ key_id (each
// call copies it and adds the plaintext), and the ChaCha20 key. Both hold
// key material and are wiped when the codec drops the entry.
struct codec::derived {
  struct per_kind {
    crypto_generichash_state mac;
    std::uint8_t enc[crypto_stream_chacha20_ietf_KEYBYTES];
  };
  per_kind kinds[4];
  bool retired = false;

  derived(const key_entry& e) : retired(e.state == key_state::retired) {
    for (int k = 0; k < 4; ++k) {
      std::uint8_t mac_key[crypto_generichash_KEYBYTES];
      crypto_kdf_derive_from_key(mac_key, sizeof mac_key, static_cast<std::uint64_t>(k) * 2, kdf_context,
                                 e.key.data());
      crypto_kdf_derive_from_key(kinds[k].enc, sizeof kinds[k].enc, static_cast<std::uint64_t>(k) * 2 + 1,
                                 kdf_context, e.key.data());
      // The MAC input always starts with prefix ‖ key_id: absorbed here once,
      // with the key block already compressed (crypto::init_keyed_blake2b),
      // so a tag costs one BLAKE2b compression.
      std::uint8_t head[prefix_len + 2];
      std::memcpy(head, prefixes[k].data(), prefix_len);
      put_be(head + prefix_len, e.id, 2);
      crypto::init_keyed_blake2b(kinds[k].mac, mac_key, crypto_generichash_BYTES_MIN, head);
      sodium_memzero(mac_key, sizeof mac_key);
    }
  }
  ~derived() { sodium_memzero(kinds, sizeof kinds); }
  derived(const derived&) = delete;
  derived& operator=(const derived&) = delete;

  void tag(kind k, const std::uint8_t (&plain)[plain_len], std::uint8_t (&out)[tag_len]) const noexcept {
    crypto_generichash_state st = kinds[static_cast<int>(k)].mac;
    crypto_generichash_update(&st, plain, plain_len);
    std::uint8_t full[crypto_generichash_BYTES_MIN];
    crypto_generichash_final(&st, full, sizeof full);
    std::memcpy(out, full, tag_len);
  }

  // Encryption and decryption are the same XOR with the keystream.
  void xor_stream(kind k, const std::uint8_t (&tag)[tag_len], const std::uint8_t* in,
                  std::uint8_t* out) const noexcept {
    // The 12-byte tag is exactly a ChaCha20-IETF nonce: distinct plaintexts
    // get distinct tags, so a nonce repeats only for the same plaintext,
    // which is the deterministic behaviour tokens want (SIV).
    static_assert(tag_len == crypto_stream_chacha20_ietf_NONCEBYTES);
    crypto_stream_chacha20_ietf_xor(out, in, plain_len, tag, kinds[static_cast<int>(k)].enc);
  }
};

codec::codec(const keyring& ring) {
  crypto::init();
  // A default-constructed keyring has no key at all; only generate(),
  // from_entries() and from_json() make usable ones.
  if (ring.entries().empty()) fail(errc::INVALID_CONFIG, "the keyring has no keys");
  keys_.reserve(ring.entries().size());
  current_id_ = ring.current().id;
  for (const auto& e : ring.entries()) {
    keys_.emplace_back(e.id, std::make_shared<const derived>(e));
    if (e.id == current_id_) current_ = keys_.back().second.get();
  }
}

void codec::mint_to(kind k, const payload& p, std::string& out) const {
  const derived* d = current_;   // ring.current() is one of its entries: never null

  std::uint8_t plain[plain_len] = {};
  put_be(plain, p.run_id, 8);
  put_be(plain + 8, p.node_seq, 4);
  put_be(plain + 12, p.attempt, 4);

  std::uint8_t raw[raw_len];
  put_be(raw, current_id_, 2);
  std::uint8_t tag[tag_len];
  d->tag(k, plain, tag);
  std::memcpy(raw + 2, tag, tag_len);
  d->xor_stream(k, tag, plain, raw + 2 + tag_len);

  char text[token_length];
  std::memcpy(text, prefix(k).data(), prefix_len);
  encode_body(raw, text + prefix_len);
  out.append(text, token_length);
}

std::string codec::mint(kind k, const payload& p) const {
  std::string out;
  out.reserve(token_length);  // one allocation
  mint_to(k, p, out);
  return out;
}

namespace {

error token_error(errc code, kind expected, std::string_view field, std::string message,
                  std::optional<kind> got = std::nullopt) {
  boost::json::object details;
  if (!field.empty()) {
    details["field"] = field;
    std::string pointer = "/";
    pointer += field;
    details["pointer"] = pointer;
  }
  details["expected"] = field_name(expected);
  if (got) details["got"] = field_name(*got);
  return error::make(code, std::move(message), std::move(details));
}

std::optional<kind> kind_of_letters(std::string_view two) noexcept {
  for (int k = 0; k < 4; ++k)
    if (prefixes[k].substr(0, 2) == two) return static_cast<kind>(k);
  return std::nullopt;
}

}  // namespace

result<payload> codec::verify(kind expected, std::string_view text, std::string_view field) const {
  const std::string_view name = field.empty() ? field_name(expected) : field;
  auto malformed = [&](const char* why) {
    return token_error(errc::TOKEN_MALFORMED, expected, field,
                       std::string(name) + " is not a tokenrail token: " + why);
  };

  // The prefix first, so that a token of another kind or version gets its
  // own error even if something else about it is also wrong.
  const auto letters = kind_of_letters(text.substr(0, 2));
  if (!letters) return malformed("unknown prefix");
  std::size_t us = 2;
  while (us < text.size() && us < 6 && text[us] >= '0' && text[us] <= '9') ++us;
  if (us == 2 || us >= text.size() || text[us] != '_') return malformed("unknown prefix");
  if (text.substr(2, us - 2) != "1")
    return token_error(errc::TOKEN_UNSUPPORTED_VERSION, expected, field,
                       std::string(name) + " has version " + std::string(text.substr(2, us - 2)) +
                           "; this engine reads version 1 tokens");
  if (*letters != expected)
    return token_error(errc::TOKEN_WRONG_KIND, expected, field,
                       std::string(name) + " must be a " + std::string(field_name(expected)) + ", not a " +
                           std::string(field_name(*letters)),
                       *letters);
  if (text.size() != token_length) return malformed("wrong length");
  const std::string_view body = text.substr(prefix_len);
  std::uint8_t raw[raw_len];
  if (!decode_body(body, raw)) return malformed("character outside the base64url alphabet");

  const auto key_id = static_cast<std::uint16_t>(get_be(raw, 2));
  const derived* d = nullptr;
  for (const auto& [id, dk] : keys_)
    if (id == key_id) d = dk.get();
  if (!d)
    return token_error(errc::TOKEN_UNKNOWN_KEY, expected, field,
                       std::string(name) + " was minted with key " + std::to_string(key_id) +
                           ", which this keyring does not have");

  std::uint8_t tag[tag_len];
  std::memcpy(tag, raw + 2, tag_len);
  std::uint8_t plain[plain_len];
  d->xor_stream(expected, tag, raw + 2 + tag_len, plain);
  std::uint8_t check[tag_len];
  d->tag(expected, plain, check);
  // The tag and the six zero padding bytes are checked together in one
  // constant-time comparison (no early exit that would time the tag):
  //   got  = check ‖ plain[16..22) ‖ 0…   want = tag ‖ 0 0 0 0 0 0 ‖ 0…
  // crypto_verify_32 is libsodium's fixed-size constant-time compare, a
  // few vector instructions, where two sodium_memcmp calls cost ~190.
  constexpr std::size_t pad_len = plain_len - 16;
  static_assert(tag_len + pad_len <= crypto_verify_32_BYTES);
  std::uint8_t got[crypto_verify_32_BYTES] = {};
  std::uint8_t want[crypto_verify_32_BYTES] = {};
  std::memcpy(got, check, tag_len);
  std::memcpy(got + tag_len, plain + 16, pad_len);
  std::memcpy(want, tag, tag_len);
  if (crypto_verify_32(got, want) != 0)
    return token_error(errc::TOKEN_INVALID, expected, field,
                       std::string(name) + " failed authentication (altered, or minted with another secret)");
  // Authenticated first, so only a genuine token of a retired key is told
  // that its key was retired; a forgery naming that key is just invalid.
  if (d->retired)
    return token_error(errc::TOKEN_KEY_RETIRED, expected, field,
                       std::string(name) + " was minted with key " + std::to_string(key_id) +
                           ", which has been retired");

  payload p;
  p.run_id = get_be(plain, 8);
  p.node_seq = static_cast<std::uint32_t>(get_be(plain + 8, 4));
  p.attempt = static_cast<std::uint32_t>(get_be(plain + 12, 4));
  return p;
}

}  // namespace tokenrail::token
