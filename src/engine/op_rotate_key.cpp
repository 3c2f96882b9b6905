// rotate_key (D4): a fresh current key; older keys keep verifying. In one
// write transaction the event is appended and, before the transaction
// commits, the keyring file (persistent stores) is replaced; then the codec
// is swapped. So a store that refuses the write (read-only, full) leaves
// the file as it was (a failed operation writes nothing), a file that
// cannot be written aborts the event, and no token is minted with a key
// that is not on disk.
#include "engine/context.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/storage/keyring_file.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

namespace tokenrail::engine_detail {

/// The store-level log for events that belong to no run (key_rotated).
/// Host session ids cannot start with '~' (start_workflow's schema).
inline constexpr std::string_view store_session = "~store";

namespace {

/// An exclusive flock on the directory that holds the keyring file, so two
/// processes sharing one store never rotate at once (the second would
/// otherwise write a different key under the same id). Released on scope
/// exit. Errors: KEYRING_ERROR.
class keyring_dir_lock {
 public:
  explicit keyring_dir_lock(const std::string& keyring_path) {
    auto dir = std::filesystem::path(keyring_path).parent_path();
    if (dir.empty()) dir = ".";
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
      const int err = errno;
      if (fd_ >= 0) ::close(fd_);
      boost::json::object d;
      d["path"] = dir.string();
      d["errno"] = err;
      fail(errc::KEYRING_ERROR, "cannot lock the keyring's directory for rotation", std::move(d));
    }
  }
  ~keyring_dir_lock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  keyring_dir_lock(const keyring_dir_lock&) = delete;
  keyring_dir_lock& operator=(const keyring_dir_lock&) = delete;

 private:
  int fd_ = -1;
};

/// The keyring to rotate from: the file as it is now (another process may
/// have rotated since this engine opened) joined with the keys this engine
/// holds, the highest id current. Without the re-read, two processes would
/// each mint "key 2" and one's tokens would stop verifying.
token::keyring latest_keyring(const engine::impl& e) {
  auto disk = storage::load_or_create_keyring(e.keyring_path);
  if (!disk) throw failure(std::move(disk).error());
  std::vector<token::key_entry> all = disk->entries();
  for (const auto& k : e.ring.entries()) {
    bool known = false;
    for (const auto& d : all) known = known || d.id == k.id;
    if (!known) all.push_back(k);
  }
  std::optional<std::size_t> top;   // the newest key that is not retired
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].state == token::key_state::retired) continue;
    all[i].state = token::key_state::active;
    if (!top || all[i].id > all[*top].id) top = i;
  }
  if (top) all[*top].state = token::key_state::current;
  auto ring = token::keyring::from_entries(std::move(all));
  if (!ring) throw failure(std::move(ring).error());
  return std::move(*ring);
}

}  // namespace

void refresh_keyring(engine::impl& e) {
  if (!e.persistent_keyring) return;
  std::lock_guard lock(e.keyring_mutex);
  token::keyring latest = latest_keyring(e);
  if (latest.entries().size() == e.ring.entries().size()) return;
  auto codec = std::make_shared<const token::codec>(latest);
  e.ring = std::move(latest);
  e.set_codec(std::move(codec));
}

std::string op_rotate_key(engine::impl& e, const boost::json::object&) {
  // A persistent store whose key is the host's keyring.secret: a key made
  // here would live only in this process, so every token minted with it
  // would stop verifying at the next open (and in the other processes now).
  if (!e.persistent_keyring && e.store->caps().persistent) {
    boost::json::object d;
    d["hint"] = "the key comes from config keyring.secret; use a keyring file (keyring.path, or none: "
                "<store>/keyring.json) to rotate keys";
    fail(errc::KEYRING_ERROR, "rotate_key needs a keyring file on a persistent store", std::move(d));
  }
  std::lock_guard lock(e.keyring_mutex);
  std::optional<keyring_dir_lock> file_lock;
  if (e.persistent_keyring) file_lock.emplace(e.keyring_path);
  const std::int64_t now = e.now();
  token::keyring next = e.persistent_keyring ? latest_keyring(e) : e.ring;
  const std::uint16_t previous = next.current().id;
  const std::uint16_t id = next.rotate(now);
  e.store->write([&](storage::write_transaction& tx) {
    event_appender log(tx, store_session, now, /*create=*/true);
    log.append(event_kind::key_rotated, std::nullopt, std::nullopt,
               boost::json::object{{"keyId", id}, {"previousKeyId", previous}});
    log.finish();
    // Last in the body, so nothing after it can abort the transaction but
    // the commit itself (the body may run again if the map must grow: the
    // same file is written again).
    if (e.persistent_keyring) {
      auto saved = storage::save_keyring(e.keyring_path, next);
      if (!saved) throw failure(std::move(saved).error());
    }
  });
  auto codec = std::make_shared<const token::codec>(next);
  e.ring = std::move(next);
  e.set_codec(std::move(codec));
  boost::json::object r;
  r["keyId"] = id;
  r["previousKeyId"] = previous;
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
