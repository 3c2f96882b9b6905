// The keyring file beside the store (D9): the secret that tokens are
// sealed with, kept in a file only its owner can read.
#pragma once

#include <tokenrail/error.hpp>
#include <tokenrail/token/token.hpp>

#include <optional>
#include <string>

namespace tokenrail::storage {

/// Reads the keyring at path, or, when there is no file, creates one with a
/// fresh random key (token::keyring::generate) and mode 0600. Creation is
/// atomic and never clobbers: the keyring is written to a temporary file
/// (O_CREAT|O_EXCL, 0600), synced, and hard-linked into place, so a
/// concurrent creator (another process) either wins or reads the winner's
/// file, and a crash never leaves a half-written keyring.
///
/// Errors (all KEYRING_ERROR, details.path = path): an empty path, the
/// file has any group or other permission bits (it must be 0600 or
/// stricter: fix with chmod 600), is not a regular file, belongs to another
/// user, is larger than 1 MB, cannot be read or created (a symlink to a
/// missing file is not followed to create one), or is not a valid keyring
/// (details.pointer names the field). Thread-safe and safe across
/// processes.
result<token::keyring> load_or_create_keyring(const std::string& path);

/// Checks, creating nothing, what load_or_create_keyring would meet at
/// path: a file there is read and checked like load_or_create_keyring
/// does and returned; with no file there, the directory it would be
/// created in must exist and be writable, and an empty optional is
/// returned. For a host that opens something else first (the engine opens
/// its store) and must not leave that behind when the keyring is refused.
/// Errors: those of load_or_create_keyring, and KEYRING_ERROR when the
/// directory is missing or not writable.
result<std::optional<token::keyring>> check_keyring(const std::string& path);

/// Replaces the keyring file atomically (after rotate_key): writes a
/// temporary file with mode 0600, fsyncs it, renames it over path and
/// fsyncs the directory. A reader sees the old keyring or the new one,
/// never a mix. Errors: KEYRING_ERROR with details.path (an empty path;
/// the file cannot be written or replaced). Two concurrent savers: the
/// last rename wins; callers serialise rotations (rotate_key locks the
/// directory).
result<void> save_keyring(const std::string& path, const token::keyring& ring);

}  // namespace tokenrail::storage
