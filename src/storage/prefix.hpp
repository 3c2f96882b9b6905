// Prefix arithmetic shared by the backends' scans.
#pragma once

#include <string>
#include <string_view>

namespace tokenrail::storage::prefix_util {

/// The smallest key greater than every key that starts with prefix, in
/// bytewise order: the prefix with its last non-0xff byte incremented and
/// what follows dropped. False when there is none (empty or all 0xff), so
/// the range runs to the end of the table.
inline bool prefix_successor(std::string_view prefix, std::string& out) {
  std::size_t n = prefix.size();
  while (n > 0 && static_cast<unsigned char>(prefix[n - 1]) == 0xff) --n;
  if (n == 0) return false;
  out.assign(prefix.data(), n);
  out[n - 1] = static_cast<char>(static_cast<unsigned char>(out[n - 1]) + 1);
  return true;
}

inline bool starts_with(std::string_view key, std::string_view prefix) noexcept {
  return key.size() >= prefix.size() && key.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace tokenrail::storage::prefix_util
