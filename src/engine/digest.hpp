// Digest helpers over crypto/hash.hpp (BLAKE2b-256) for the event chain and
// request digests.
#pragma once

#include <tokenrail/crypto/hash.hpp>

#include <string_view>

namespace tokenrail::engine_detail {

using hash32 = crypto::digest32;
using blake2b_256 = crypto::blake2b_state;

inline hash32 blake2b(std::string_view s) { return crypto::blake2b(s); }

inline std::string_view as_view(const hash32& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

using crypto::to_hex;

}  // namespace tokenrail::engine_detail
