// Storage commit costs (D13), all measured in one run on one machine:
//
// - the bare LMDB durable commit of ~1 KB across 6 puts (raw LMDB API, no
//   tokenrail code): the baseline the engine's durable advance is compared
//   with (budget: advance p50 <= 1.25x this);
// - the same bytes through the LMDB backend (store::write), durable p50 and
//   its ratio to the bare commit (the backend's own share of that budget);
// - relaxed-mode commit rates, bare and through the backend;
// - 8 threads committing durably through the backend (group commit) against
//   the sequential durable rate (budget >= 4x), in alternating rounds
//   (`bench_lmdb_commit group` runs only this figure);
// - the memory backend: write transactions of 6 puts + 3 gets per second.
//
// Durable rows are interleaved (bare, backend, bare, ...) so that both see
// the same disk. The store lives in $TOKENRAIL_BENCH_DIR or the current
// directory (scripts/bench runs each bench in a fresh temporary directory).
#include <tokenrail/storage/store.hpp>

#include <lmdb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <ctime>
#include <vector>

#include <unistd.h>

using namespace tokenrail;
using namespace tokenrail::storage;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int puts_per_commit = 6;
constexpr std::size_t value_bytes = 160;  // 6 x (160 + ~12 key bytes) ~ 1 KB

std::filesystem::path bench_root() {
  const char* env = std::getenv("TOKENRAIL_BENCH_DIR");
  auto base = env ? std::filesystem::path(env) : std::filesystem::current_path();
  auto dir = base / ("tokenrail-bench-lmdb-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string key_for(std::uint64_t commit, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "k%010llu/%d", static_cast<unsigned long long>(commit), i);
  return buf;
}

double micros(clock_type::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void check(int rc, const char* what) {
  if (rc) {
    std::fprintf(stderr, "%s: %s\n", what, mdb_strerror(rc));
    std::exit(1);
  }
}

/// Raw LMDB, the way a careful program would use it: one env, one named
/// database, default flags (durable) or MDB_NOSYNC (relaxed, as the backend).
struct bare_lmdb {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  std::uint64_t next = 0;
  std::string value = std::string(value_bytes, 'v');

  bare_lmdb(const std::filesystem::path& dir, unsigned flags) {
    std::filesystem::create_directories(dir);
    check(mdb_env_create(&env), "create");
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_mapsize(env, 1ull << 30);
    check(mdb_env_open(env, dir.c_str(), flags, 0600), "open");
    MDB_txn* txn;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
    check(mdb_dbi_open(txn, "nodes", MDB_CREATE, &dbi), "dbi");
    check(mdb_txn_commit(txn), "commit");
  }
  ~bare_lmdb() { mdb_env_close(env); }

  void commit() {
    MDB_txn* txn;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
    const std::uint64_t c = next++;
    for (int i = 0; i < puts_per_commit; ++i) {
      std::string k = key_for(c, i);
      MDB_val key{k.size(), k.data()}, val{value.size(), value.data()};
      check(mdb_put(txn, dbi, &key, &val, 0), "put");
    }
    check(mdb_txn_commit(txn), "commit");
  }
};

struct backend {
  std::unique_ptr<store> s;
  std::atomic<std::uint64_t> next{0};
  std::string value = std::string(value_bytes, 'v');

  backend(const std::filesystem::path& dir, durability mode) {
    lmdb_options o;
    o.path = dir.string();
    o.mode = mode;
    auto r = open_lmdb_store(o);
    if (!r) {
      std::fprintf(stderr, "open: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    s = std::move(r).value();
  }

  void commit() {
    const std::uint64_t c = next++;
    s->write([&](write_transaction& tx) {
      for (int i = 0; i < puts_per_commit; ++i) tx.put(table::nodes, key_for(c, i), value);
    });
  }
};

template <class F>
double rate_per_second(F&& f, double seconds) {
  const auto start = clock_type::now();
  std::uint64_t n = 0;
  while (std::chrono::duration<double>(clock_type::now() - start).count() < seconds) {
    f();
    ++n;
  }
  return n / std::chrono::duration<double>(clock_type::now() - start).count();
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void verdict(const char* figure, double value, const char* unit, const char* budget, bool ok) {
  std::printf("%s: %.2f %s (budget %s) %s\n", figure, value, unit, budget, ok ? "OK" : "OVER");
}

/// Durable commits from n threads through one backend for `seconds`.
double durable_rate(backend& ours, int threads, double seconds) {
  if (threads == 1) return rate_per_second([&] { ours.commit(); }, seconds);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::vector<std::thread> pool;
  const auto start = clock_type::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      while (!stop) {
        ours.commit();
        ++done;
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  return done / std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Group commit: 8 threads through the backend vs one thread. The disk is
/// shared and its sync latency drifts within seconds, so one 1-thread
/// interval against one 8-thread interval measures the drift as much as
/// the group commit: rounds alternate (1 thread, 8 threads) and the
/// verdict is the median of the per-round ratios.
void group_commit_figures(backend& ours) {
  const int rounds = 5;
  std::vector<double> one, eight, ratio;
  for (int r = 0; r < rounds; ++r) {
    one.push_back(durable_rate(ours, 1, 0.6));
    eight.push_back(durable_rate(ours, 8, 0.6));
    ratio.push_back(eight.back() / one.back());
  }
  std::printf("LMDB backend durable commits, 1 thread: %.0f commits/s (median of %d rounds)\n", median(one), rounds);
  std::printf("LMDB backend durable commits, 8 threads (group commit): %.0f commits/s (median of %d rounds)\n",
              median(eight), rounds);
  std::printf("  per-round ratios (8 threads / 1 thread):");
  for (double x : ratio) std::printf(" %.2f", x);
  std::printf("\n");
  verdict("LMDB backend durable 8 threads / 1 thread", median(ratio), "x", ">= 4x", median(ratio) >= 4);
}

}  // namespace

int main(int argc, char** argv) {
  const auto root = bench_root();
  if (argc > 1 && std::string(argv[1]) == "group") {
    // Only the group-commit figure (for profiling: strace, perf, ...).
    {
      backend ours(root / "backend-durable", durability::durable);
      for (int i = 0; i < 10; ++i) ours.commit();
      group_commit_figures(ours);
    }
    std::filesystem::remove_all(root);
    return 0;
  }

  // 1. Durable commits, bare and through the backend, interleaved.
  {
    bare_lmdb bare(root / "bare-durable", 0);
    backend ours(root / "backend-durable", durability::durable);
    std::vector<double> bare_us, ours_us;
    for (int i = 0; i < 10; ++i) {  // warm up
      bare.commit();
      ours.commit();
    }
    for (int round = 0; round < 6; ++round) {
      for (int i = 0; i < 50; ++i) {
        auto t0 = clock_type::now();
        bare.commit();
        bare_us.push_back(micros(clock_type::now() - t0));
      }
      for (int i = 0; i < 50; ++i) {
        auto t0 = clock_type::now();
        ours.commit();
        ours_us.push_back(micros(clock_type::now() - t0));
      }
    }
    const double bare_p50 = median(bare_us), ours_p50 = median(ours_us);
    std::printf("bare LMDB durable commit p50 (6 puts, ~1 KB): %.1f us (baseline for the durable advance budget)\n",
                bare_p50);
    std::printf("LMDB backend durable commit p50 (same bytes): %.1f us\n", ours_p50);
    verdict("LMDB backend durable commit / bare LMDB commit", ours_p50 / bare_p50, "x", "<= 1.25x", ours_p50 <= 1.25 * bare_p50);

    // 2. Group commit: 8 threads through the backend vs one thread.
    group_commit_figures(ours);
  }

  // 3. Relaxed mode (MDB_NOSYNC; the backend also flushes about once a second).
  {
    bare_lmdb bare(root / "bare-relaxed", MDB_NOSYNC);
    backend ours(root / "backend-relaxed", durability::relaxed);
    const double bare_rate = rate_per_second([&] { bare.commit(); }, 1.5);
    const double ours_rate = rate_per_second([&] { ours.commit(); }, 1.5);
    std::printf("bare LMDB relaxed (MDB_NOSYNC) commits, 1 thread: %.0f commits/s\n", bare_rate);
    verdict("LMDB backend relaxed commits, 1 thread", ours_rate, "commits/s",
            ">= 50000/s, the relaxed advance budget", ours_rate >= 50000);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> done{0};
    std::vector<std::thread> pool;
    const auto start = clock_type::now();
    for (int t = 0; t < 8; ++t)
      pool.emplace_back([&] {
        while (!stop) {
          ours.commit();
          ++done;
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
    for (auto& t : pool) t.join();
    std::printf("LMDB backend relaxed commits, 8 threads (group commit): %.0f commits/s\n",
                done / std::chrono::duration<double>(clock_type::now() - start).count());

    // Reads: one read() with 3 gets, the way a rehydration looks records up.
    std::uint64_t c = 0;
    const std::uint64_t written = ours.next.load();
    const double reads = rate_per_second(
        [&] {
          const std::uint64_t n = (c++ * 7919) % written;
          ours.s->read([&](read_transaction& tx) {
            for (int i = 0; i < 3; ++i)
              if (!tx.get(table::nodes, key_for(n, i))) std::abort();
          });
        },
        1.0);
    std::printf("LMDB backend read transactions (3 gets), 1 thread: %.0f txn/s\n", reads);
  }

  // 4. The memory backend: the storage share of an advance (6 puts, 3 gets).
  {
    auto mem = open_memory_store();
    const std::string value(value_bytes, 'v');
    std::uint64_t c = 0;
    const double cpu0 = thread_cpu_seconds();
    const double rate = rate_per_second(
        [&] {
          const std::uint64_t n = c++;
          mem->write([&](write_transaction& tx) {
            for (int i = 0; i < 3; ++i) (void)tx.get(table::runs, key_for(n, i));
            for (int i = 0; i < puts_per_commit; ++i) tx.put(table::nodes, key_for(n, i), value);
          });
        },
        1.5);
    // On a shared machine wall time also counts other processes' turns;
    // thread CPU time is what one core spends on these transactions.
    const double cpu_rate = c / (thread_cpu_seconds() - cpu0);
    verdict("memory backend write transactions (6 puts + 3 gets), 1 thread, wall clock", rate, "txn/s",
            ">= 200000/s, the memory advance budget, storage share only", rate >= 200000);
    verdict("memory backend write transactions (6 puts + 3 gets), 1 thread, thread CPU time", cpu_rate, "txn/s",
            ">= 200000/s, the memory advance budget, storage share only", cpu_rate >= 200000);
  }

  std::filesystem::remove_all(root);
  return 0;
}
