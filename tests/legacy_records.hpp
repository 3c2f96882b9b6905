// Records as engines of store formats 1 and 2 wrote them, for the tests
// that read such stores (src/engine/records.hpp: store_formats_readable).
#pragma once

#include "engine/records.hpp"

#include <tokenrail/storage/store.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace trlegacy {

/// Status record version 1: `s` with every leaf of the run listed inline,
/// as formats 1 and 2 stored it. Version 2 is version 1 without the leaves
/// (records.cpp): the same bytes but for the version, with the count and
/// the ascending, delta-coded leaves after node_count.
inline std::string encode_status_v1(const tokenrail::engine_detail::run_status& s, std::vector<std::uint32_t> leaves) {
  using tokenrail::engine_detail::byte_writer;
  std::sort(leaves.begin(), leaves.end());
  std::string node_count, listed;
  byte_writer(node_count).varint(s.node_count);
  byte_writer w(listed);
  w.varint(leaves.size());
  std::uint32_t prev = 0;
  for (auto t : leaves) {
    w.varint(t - prev);
    prev = t;
  }
  std::string out = tokenrail::engine_detail::encode_status(s);
  out[0] = 1;
  out.insert(2 + node_count.size(), listed);
  return out;
}

/// Rewrites every run's status as version 1, its leaves moved from their
/// keys into the record; returns how many runs had more than one leaf.
inline std::size_t rewrite_statuses_as_v1(tokenrail::storage::write_transaction& tx) {
  namespace ed = tokenrail::engine_detail;
  using tokenrail::storage::table;
  std::vector<std::pair<std::string, std::string>> statuses;
  tx.scan(table::runs, "", [&](std::string_view k, std::string_view v) {
    if (k.size() == 9 && k[8] == '\1') statuses.emplace_back(k, v);
    return true;
  });
  std::size_t forked = 0;
  for (const auto& [key, value] : statuses) {
    const std::uint64_t run = ed::get_be64(key.data());
    const ed::run_status s = ed::decode_status(value);
    std::vector<std::uint32_t> leaves{s.preferred_tip};
    std::vector<std::string> tip_keys;
    tx.scan(table::runs, ed::run_tip_prefix(run), [&](std::string_view k, std::string_view) {
      tip_keys.emplace_back(k);
      leaves.push_back(ed::get_be32(k.data() + 9));
      return true;
    });
    for (const auto& k : tip_keys) tx.erase(table::runs, k);
    if (leaves.size() > 1) ++forked;
    tx.put(table::runs, key, encode_status_v1(s, leaves));
  }
  return forked;
}

}  // namespace trlegacy
