// rotate_key (D4): a fresh current key; older keys keep verifying. The
// keyring file (persistent stores) is replaced first, then the event is
// recorded, then the codec is swapped, so a failure part-way never leaves
// tokens minted with a key that is not on disk.
#include "engine/context.hpp"

#if __has_include(<tokenrail/storage/keyring_file.hpp>)
#include <tokenrail/storage/keyring_file.hpp>
#define TOKENRAIL_HAVE_KEYRING_FILE 1
#endif

#include <boost/json/serialize.hpp>

namespace tokenrail::engine_detail {

/// The store-level log for events that belong to no run (key_rotated).
/// Host session ids cannot start with '~' (start_workflow's schema).
inline constexpr std::string_view store_session = "~store";

std::string op_rotate_key(engine::impl& e, const boost::json::object&) {
  std::lock_guard lock(e.keyring_mutex);
  const std::int64_t now = e.now();
  token::keyring next = e.ring;
  const std::uint16_t previous = next.current().id;
  const std::uint16_t id = next.rotate(now);
  if (e.persistent_keyring) {
#ifdef TOKENRAIL_HAVE_KEYRING_FILE
    auto saved = storage::save_keyring(e.keyring_path, next);
    if (!saved) throw failure(std::move(saved).error());
#endif
  }
  e.store->write([&](storage::write_transaction& tx) {
    event_appender log(tx, store_session, now, /*create=*/true);
    log.append(event_kind::key_rotated, std::nullopt, std::nullopt,
               boost::json::object{{"keyId", id}, {"previousKeyId", previous}});
    log.finish();
  });
  auto codec = std::make_shared<const token::codec>(next);
  e.ring = std::move(next);
  e.codec_ptr.store(std::move(codec), std::memory_order_release);
  boost::json::object r;
  r["keyId"] = id;
  r["previousKeyId"] = previous;
  return boost::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
