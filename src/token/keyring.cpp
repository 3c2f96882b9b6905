// The keyring of D4: current key, older active keys, retired keys, and the
// JSON form of the keyring file.
#include <tokenrail/token/token.hpp>

#include <tokenrail/crypto/hash.hpp>
#include <tokenrail/json_parse.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>

#include <malloc.h>   // malloc_usable_size

namespace tokenrail::token {

secret::~secret() { sodium_memzero(data(), size()); }

namespace {

secret random_secret() {
  crypto::init();
  secret s;
  randombytes_buf(s.data(), s.size());
  return s;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string_view state_name(key_state s) noexcept {
  switch (s) {
    case key_state::current: return "current";
    case key_state::active: return "active";
    case key_state::retired: return "retired";
  }
  return "active";
}

std::optional<key_state> state_from_name(std::string_view s) noexcept {
  if (s == "current") return key_state::current;
  if (s == "active") return key_state::active;
  if (s == "retired") return key_state::retired;
  return std::nullopt;
}

}  // namespace

keyring keyring::generate() {
  keyring ring;
  ring.entries_.push_back(key_entry{1, random_secret(), key_state::current, now_ms()});
  return ring;
}

result<keyring> keyring::from_entries(std::vector<key_entry> entries) {
  std::size_t currents = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].state == key_state::current) ++currents;
    for (std::size_t j = 0; j < i; ++j)
      if (entries[j].id == entries[i].id)
        return error::at(errc::INVALID_CONFIG, "/keys/" + std::to_string(i) + "/id", "a key id not used before",
                         "key id " + std::to_string(entries[i].id) + " appears twice in the keyring");
  }
  if (currents != 1)
    return error::at(errc::INVALID_CONFIG, "/keys", "exactly one key with state \"current\"",
                     "the keyring has " + std::to_string(currents) + " current keys; it needs exactly one");
  keyring ring;
  ring.entries_ = std::move(entries);
  return ring;
}

const key_entry& keyring::current() const noexcept {
  for (const auto& e : entries_)
    if (e.state == key_state::current) return e;
  return entries_.front();  // unreachable: construction guarantees one current key
}

const key_entry* keyring::find(std::uint16_t id) const noexcept {
  for (const auto& e : entries_)
    if (e.id == id) return &e;
  return nullptr;
}

std::uint16_t keyring::rotate(std::int64_t now) {
  // Ids only grow, so an id never names two different secrets over the
  // life of a store; wrap to the lowest free id only after 65535 rotations.
  std::uint16_t id = 0;
  std::uint16_t max_id = 0;
  for (const auto& e : entries_) max_id = std::max(max_id, e.id);
  if (max_id < 0xFFFF) {
    id = static_cast<std::uint16_t>(max_id + 1);
  } else {
    std::uint32_t candidate = 1;
    while (candidate <= 0xFFFF && find(static_cast<std::uint16_t>(candidate))) ++candidate;
    if (candidate > 0xFFFF) fail(errc::KEYRING_ERROR, "the keyring has no free key id left");
    id = static_cast<std::uint16_t>(candidate);
  }
  for (auto& e : entries_)
    if (e.state == key_state::current) e.state = key_state::active;
  entries_.push_back(key_entry{id, random_secret(), key_state::current, now});
  return id;
}

result<void> keyring::retire(std::uint16_t id) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    auto& e = entries_[i];
    if (e.id != id) continue;
    if (e.state == key_state::current)
      return error::at(errc::INVALID_REQUEST, "/keyId", "a key id other than the current key",
                       "the current key cannot be retired; rotate first");
    e.state = key_state::retired;
    return {};
  }
  return error::at(errc::INVALID_REQUEST, "/keyId", "the id of a key in the keyring",
                   "key " + std::to_string(id) + " is not in the keyring");
}

std::string keyring::to_json() const {
  // Written by hand into one buffer reserved up front (boost::json would
  // leave the hex keys behind in freed strings); the same text as
  // serializing {"version":1,"keys":[{"id","key","state","createdAt"}]}.
  std::string out;
  out.reserve(32 + entries_.size() * 160);
  out.append(R"({"version":1,"keys":[)");
  char hex[2 * sizeof(secret) + 1];
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const key_entry& e = entries_[i];
    sodium_bin2hex(hex, sizeof hex, e.key.data(), e.key.size());
    if (i) out.push_back(',');
    out.append(R"({"id":)").append(std::to_string(e.id));
    out.append(R"(,"key":")").append(hex, 2 * sizeof(secret));
    out.append(R"(","state":")").append(state_name(e.state));
    out.append(R"(","createdAt":)").append(std::to_string(e.created_at_ms)).push_back('}');
  }
  sodium_memzero(hex, sizeof hex);
  out.append("]}");
  return out;
}

namespace {

/// The upstream of from_json's arena: heap blocks that are wiped before
/// they are freed. The whole block is wiped, as malloc sized it: the size
/// monotonic_resource passes back is not the one it asked for.
class wiping_heap final : public boost::json::memory_resource {
  void* do_allocate(std::size_t n, std::size_t align) override {
    void* p = align <= alignof(std::max_align_t) ? std::malloc(n) : std::aligned_alloc(align, (n + align - 1) / align * align);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override {
    sodium_memzero(p, ::malloc_usable_size(p));
    std::free(p);
  }
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override { return this == &other; }
};

}  // namespace

result<keyring> keyring::from_json(std::string_view text) {
  auto bad = [](std::string pointer, std::string_view expected) {
    return error::at(errc::KEYRING_ERROR, pointer, expected);
  };
  // Parsed into a stack buffer that is wiped afterwards: the hex keys are
  // copied into the parsed strings. A keyring of more than ~40 keys
  // overflows it onto the heap, whose blocks are wiped as they are freed.
  alignas(16) unsigned char arena[8192];
  struct wipe_arena {
    unsigned char* p;
    std::size_t n;
    ~wipe_arena() { sodium_memzero(p, n); }
  } wipe{arena, sizeof arena};   // declared before the resource: runs after it
  wiping_heap heap;
  boost::json::monotonic_resource mr(arena, sizeof arena, &heap);
  auto parsed = parse_json(text, json_limits{1u << 20, 8}, &mr);
  if (!parsed) {
    error e = std::move(parsed).error();
    e.message = "the keyring is not valid JSON: " + e.message;
    e.code = errc::KEYRING_ERROR;
    e.retry = errc_retry(e.code);
    return e;
  }
  const auto* root = parsed->if_object();
  if (!root) return bad("", "an object {\"version\":1,\"keys\":[...]}");
  for (const auto& kv : *root)
    if (kv.key() != "version" && kv.key() != "keys") {
      std::string pointer = "/";   // appended: g++ 12 -O3 reports a false -Werror=restrict on "/" + string
      pointer.append(kv.key());
      return bad(pointer, "no such field");
    }
  const auto* version = root->if_contains("version");
  if (!version || !version->is_number() || !(version->to_number<double>() == 1))
    return bad("/version", "1");
  const auto* keys_v = root->if_contains("keys");
  if (!keys_v || !keys_v->is_array() || keys_v->get_array().empty())
    return bad("/keys", "a non-empty array of keys");

  std::vector<key_entry> entries;
  const auto& keys = keys_v->get_array();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string at = "/keys/" + std::to_string(i);
    const auto* k = keys[i].if_object();
    if (!k) return bad(at, "an object {id, key, state, createdAt}");
    for (const auto& kv : *k)
      if (kv.key() != "id" && kv.key() != "key" && kv.key() != "state" && kv.key() != "createdAt")
        return bad(at + "/" + std::string(kv.key()), "no such field");
    key_entry e;
    const auto* id = k->if_contains("id");
    if (!id || !(id->is_int64() || id->is_uint64())) return bad(at + "/id", "an integer from 0 to 65535");
    if (id->is_int64() ? (id->get_int64() < 0 || id->get_int64() > 0xFFFF) : id->get_uint64() > 0xFFFF)
      return bad(at + "/id", "an integer from 0 to 65535");
    e.id = static_cast<std::uint16_t>(id->is_int64() ? id->get_int64() : static_cast<std::int64_t>(id->get_uint64()));
    const auto* key = k->if_contains("key");
    if (!key || !key->is_string() || !crypto::from_hex(key->get_string(), std::span<std::uint8_t>(e.key)))
      return bad(at + "/key", "64 hex digits (a 32-byte secret)");
    const auto* state = k->if_contains("state");
    const auto st = state && state->is_string() ? state_from_name(state->get_string()) : std::nullopt;
    if (!st) return bad(at + "/state", "\"current\", \"active\" or \"retired\"");
    e.state = *st;
    const auto* created = k->if_contains("createdAt");
    if (!created || !created->is_int64()) return bad(at + "/createdAt", "an integer (milliseconds since 1970)");
    e.created_at_ms = created->get_int64();
    for (const auto& prev : entries)
      if (prev.id == e.id) return bad(at + "/id", "a key id not used before");
    entries.push_back(e);
  }
  auto ring = from_entries(std::move(entries));
  if (!ring) {
    error e = std::move(ring).error();
    e.code = errc::KEYRING_ERROR;
    e.retry = errc_retry(e.code);
    return e;
  }
  return ring;
}

}  // namespace tokenrail::token
