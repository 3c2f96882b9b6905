// What every durability test asserts about a store after the fact:
// verify (hash chains + replay of the log), byte-identical replays of every
// reported response, and no step advanced twice.
#pragma once

#include "durability/process_support.hpp"

#include "engine/context.hpp"   // white-box: the node records (src/engine)
#include "engine/records.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <utility>

namespace trdur {

inline std::uint64_t be64(std::string_view s) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
  return v;
}
inline std::uint32_t be32(std::string_view s) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
  return v;
}

/// The engine's own verify operation over the whole store.
inline json::value verify_op(tokenrail::engine& e) {
  auto r = json::parse(e.call("verify", "{}"));
  INFO("verify: " << json::serialize(r));
  REQUIRE(r.as_object().contains("ok"));
  return r;
}

struct dag_facts {
  std::size_t runs = 0;
  std::size_t nodes = 0;
  std::size_t twice = 0;            // (run, parent, attempt) with more than one child
  std::size_t count_mismatch = 0;   // runs whose status nodeCount != their node records
};

/// No step advanced twice: every (run, node, attempt) has at most one child
/// node, and each run's status counts exactly the nodes stored for it.
inline dag_facts check_dags(tokenrail::engine& e) {
  using namespace tokenrail;
  dag_facts f;
  std::map<std::uint64_t, std::size_t> per_run;
  std::set<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>> edges;
  e.internals().store->read([&](storage::read_transaction& tx) {
    tx.scan(storage::table::nodes, "", [&](std::string_view key, std::string_view value) {
      const std::uint64_t run = be64(key);
      const std::uint32_t seq = be32(key.substr(8));
      auto n = engine_detail::decode_node(value, seq);
      ++per_run[run];
      ++f.nodes;
      if (n.parent != engine_detail::no_node && !edges.emplace(run, n.parent, n.from_attempt).second) {
        UNSCOPED_INFO("run " << run << ": node " << n.parent << " attempt " << n.from_attempt << " has two children");
        ++f.twice;
      }
      return true;
    });
    for (auto& [run, count] : per_run) {
      auto sv = tx.get(storage::table::runs, engine_detail::run_status_key(run));
      if (!sv || engine_detail::decode_status(*sv).node_count != count) {
        UNSCOPED_INFO("run " << run << ": status nodeCount differs from " << count << " node records");
        ++f.count_mismatch;
      }
    }
  });
  f.runs = per_run.size();
  return f;
}

/// Re-sends every recorded {"op","req","resp"} line; returns how many
/// responses differed (each is reported).
inline std::size_t replay_mismatches(tokenrail::engine& e, const std::vector<std::string>& lines) {
  std::size_t bad = 0;
  for (const auto& l : lines) {
    auto rec = json::parse(l).as_object();
    const std::string op(rec.at("op").as_string());
    const std::string req(rec.at("req").as_string());
    const std::string resp(rec.at("resp").as_string());
    const std::string again = e.call(op, req);
    if (again != resp) {
      if (bad < 5) UNSCOPED_INFO(op << " " << req << "\n  recorded: " << resp << "\n  replayed: " << again);
      ++bad;
    }
  }
  return bad;
}

}  // namespace trdur
