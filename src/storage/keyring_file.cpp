// The keyring file: 0600, created atomically, replaced atomically.
#include <tokenrail/storage/keyring_file.hpp>

#include <boost/json/object.hpp>
#include <fmt/format.h>
#include <sodium.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenrail::storage {
namespace {

constexpr std::size_t max_keyring_bytes = 1u << 20;

error keyring_error(std::string message, const std::string& path, int err = 0) {
  if (err) message += ": " + std::system_category().message(err);   // strerror is not thread-safe
  boost::json::object details;
  details["path"] = path;
  return error::make(errc::KEYRING_ERROR, std::move(message), std::move(details));
}

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string directory_of(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

/// Makes a rename or link in dir durable.
void sync_directory(const std::string& dir) {
  fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);
}

/// A new file beside path, mode 0600, holding text, synced. Returns its name.
result<std::string> write_temp(const std::string& path, std::string_view text) {
  std::string temp;
  fd_guard f;
  for (int attempt = 0; attempt < 8 && f.fd < 0; ++attempt) {
    temp = fmt::format("{}.tmp-{}-{:08x}", path, ::getpid(), randombytes_random());
    f.fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f.fd < 0 && errno != EEXIST) return keyring_error("cannot create the keyring file", path, errno);
  }
  if (f.fd < 0) return keyring_error("cannot create a temporary keyring file", path, EEXIST);
  // The umask can only remove bits; make sure no group/other bit survives.
  if (::fchmod(f.fd, 0600) != 0 || !write_all(f.fd, text) || ::fsync(f.fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return keyring_error("cannot write the keyring file", path, err);
  }
  return temp;
}

enum class read_outcome { ok, missing };

result<read_outcome> read_keyring_text(const std::string& path, std::string& text) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise block until a
  // writer appears (the engine hung); the fstat below refuses it instead.
  // For a regular file the flag changes nothing.
  fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) {
    if (errno == ENOENT) return read_outcome::missing;
    return keyring_error("cannot open the keyring file", path, errno);
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return keyring_error("cannot stat the keyring file", path, errno);
  if (!S_ISREG(st.st_mode)) return keyring_error("the keyring path is not a regular file", path);
  if ((st.st_mode & 077) != 0) {
    auto e = keyring_error(fmt::format("the keyring file has mode {:04o}: group and others must have no "
                                       "access (chmod 600 it)",
                                       st.st_mode & 07777),
                           path);
    e.details.as_object()["mode"] = fmt::format("{:04o}", st.st_mode & 07777);
    return e;
  }
  if (st.st_uid != ::geteuid() && ::geteuid() != 0)
    return keyring_error("the keyring file belongs to another user", path);
  if (static_cast<std::uint64_t>(st.st_size) > max_keyring_bytes)
    return keyring_error("the keyring file is larger than 1 MB", path);
  // Read in place into one buffer sized from fstat, so no other copy of
  // the keys is left behind to wipe. (The file is only ever replaced by a
  // rename, never grown in place; the spare byte would show if it were.)
  text.assign(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(f.fd, text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return keyring_error("cannot read the keyring file", path, errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > static_cast<std::size_t>(st.st_size)) return keyring_error("the keyring file changed while it was read", path);
  text.resize(got);
  return read_outcome::ok;
}

result<token::keyring> parse(const std::string& path, const std::string& text) {
  auto ring = token::keyring::from_json(text);
  if (!ring) {
    error e = std::move(ring).error();
    e.code = errc::KEYRING_ERROR;
    e.retry = errc_retry(e.code);
    e.message = "the keyring file is not a valid keyring: " + e.message;
    if (!e.details.is_object()) e.details = boost::json::object();
    e.details.as_object()["path"] = path;
    return e;
  }
  return std::move(ring).value();
}

/// A string of key material, wiped when it goes out of scope.
struct wiped_text {
  std::string s;
  ~wiped_text() { sodium_memzero(s.data(), s.size()); }
};

/// The keyring in the file at path, or an empty optional when there is no
/// file; what load_or_create_keyring and check_keyring both start with.
result<std::optional<token::keyring>> read_existing(const std::string& path) {
  if (path.empty()) return keyring_error("the keyring path is empty", path);
  if (sodium_init() < 0) return keyring_error("libsodium failed to initialize", path);
  wiped_text text;
  auto got = read_keyring_text(path, text.s);
  if (!got) return std::move(got).error();
  if (got.value() == read_outcome::missing) return std::optional<token::keyring>();
  auto ring = parse(path, text.s);
  if (!ring) return std::move(ring).error();
  return std::optional<token::keyring>(std::move(ring).value());
}

}  // namespace

result<token::keyring> load_or_create_keyring(const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto existing = read_existing(path);
    if (!existing) return std::move(existing).error();
    if (existing->has_value()) return std::move(**existing);

    // No keyring yet: create one without ever showing a partial file, and
    // without clobbering one that another process created meanwhile.
    auto ring = token::keyring::generate();
    const wiped_text json{ring.to_json()};
    auto temp = write_temp(path, json.s);
    if (!temp) return std::move(temp).error();
    const int linked = ::link(temp.value().c_str(), path.c_str());
    const int err = errno;
    ::unlink(temp.value().c_str());
    if (linked == 0) {
      sync_directory(directory_of(path));
      return ring;
    }
    if (err != EEXIST) return keyring_error("cannot create the keyring file", path, err);
    // A symlink whose target is missing: open() said ENOENT, link() says
    // EEXIST, and every attempt goes around again ("keeps disappearing").
    // Name it instead.
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) != 0)
      return keyring_error("the keyring path is a symlink to a file that does not exist", path);
    // Lost the race: read the winner's keyring.
  }
  return keyring_error("the keyring file keeps disappearing", path);
}

result<std::optional<token::keyring>> check_keyring(const std::string& path) {
  auto existing = read_existing(path);
  if (!existing || existing->has_value()) return existing;
  const std::string dir = directory_of(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return keyring_error("the keyring file cannot be created: its directory does not exist", path, errno);
  if (!S_ISDIR(st.st_mode))
    return keyring_error("the keyring file cannot be created: its directory is not a directory", path);
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return keyring_error("the keyring file cannot be created: its directory is not writable", path, errno);
  return std::optional<token::keyring>();
}

result<void> save_keyring(const std::string& path, const token::keyring& ring) {
  if (path.empty()) return keyring_error("the keyring path is empty", path);
  if (sodium_init() < 0) return keyring_error("libsodium failed to initialize", path);
  const wiped_text json{ring.to_json()};
  auto temp = write_temp(path, json.s);
  if (!temp) return std::move(temp).error();
  if (::rename(temp.value().c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.value().c_str());
    return keyring_error("cannot replace the keyring file", path, err);
  }
  sync_directory(directory_of(path));
  return {};
}

}  // namespace tokenrail::storage
