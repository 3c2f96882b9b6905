#include "engine/status_store.hpp"

#include <tokenrail/error.hpp>

#include <boost/json/object.hpp>

#include <algorithm>

namespace tokenrail::engine_detail {

namespace {

// A status of format 1 or 2 listed its leaves inline; they become keys.
void write_legacy_tips(storage::write_transaction& tx, std::uint64_t run, run_status& s) {
  for (std::uint32_t t : s.legacy_tips) tx.put(storage::table::runs, run_tip_key(run, t), "");
  s.legacy_tips.clear();
}

}  // namespace

run_status read_status(storage::read_transaction& tx, std::uint64_t run) {
  auto sv = tx.get(storage::table::runs, run_status_key(run));
  if (!sv) {
    boost::json::object d;
    d["runId"] = format_run_id(run);
    fail(errc::RUN_NOT_FOUND, "no run has that id in this store", std::move(d));
  }
  return decode_status(*sv);
}

void write_status(storage::write_transaction& tx, std::uint64_t run, run_status& s) {
  if (!s.legacy_tips.empty()) write_legacy_tips(tx, run, s);
  tx.put(storage::table::runs, run_status_key(run), encode_status(s));
}

void write_tips_change(storage::write_transaction& tx, std::uint64_t run, run_status& s, tips_change change) {
  if (change.add == no_node && change.remove == no_node) return;
  // The change is relative to every leaf, so the inline ones become keys first.
  if (!s.legacy_tips.empty()) write_legacy_tips(tx, run, s);
  if (change.remove != no_node) tx.erase(storage::table::runs, run_tip_key(run, change.remove));
  if (change.add != no_node) tx.put(storage::table::runs, run_tip_key(run, change.add), "");
}

void write_tips(storage::write_transaction& tx, std::uint64_t run, const std::set<std::uint32_t>& others) {
  const std::string prefix = run_tip_prefix(run);
  std::vector<std::string> stale;
  tx.scan(storage::table::runs, prefix, [&](std::string_view key, std::string_view) {
    if (key.size() != prefix.size() + 4 || !others.count(get_be32(key.data() + prefix.size()))) stale.emplace_back(key);
    return true;
  });
  for (const auto& k : stale) tx.erase(storage::table::runs, k);
  for (std::uint32_t t : others) tx.put(storage::table::runs, run_tip_key(run, t), "");
}

std::vector<std::uint32_t> read_tips(storage::read_transaction& tx, std::uint64_t run, const run_status& s) {
  std::vector<std::uint32_t> tips = s.legacy_tips;
  const std::string prefix = run_tip_prefix(run);
  tx.scan(storage::table::runs, prefix, [&](std::string_view key, std::string_view) {
    if (key.size() != prefix.size() + 4) byte_reader::corrupt();
    tips.push_back(get_be32(key.data() + prefix.size()));
    return true;
  });
  if (s.node_count) tips.push_back(s.preferred_tip);
  std::sort(tips.begin(), tips.end());
  tips.erase(std::unique(tips.begin(), tips.end()), tips.end());
  return tips;
}

}  // namespace tokenrail::engine_detail
