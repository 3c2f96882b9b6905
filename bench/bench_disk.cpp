// The disk under the durable figures, with no tokenrail or LMDB code: what
// one fdatasync costs after writing N pages of 4 KiB, scattered across a
// file or side by side. Context for D13's group-commit budget (8 threads
// >= 4x one thread), so it prints no verdict.
//
// Why it matters: a durable advance ends in an fdatasync of the pages its
// commit dirtied, and an LMDB commit dirties whole B-tree paths (leaf,
// branches, root) in each table it writes, at pages taken from the free
// list, i.e. scattered. Group commit shares the sync and the upper tree
// pages among a batch, but not the leaves: each advance of another run
// still adds its own pages. If each scattered page costs the device a
// separate request, a batch's sync grows with its size, and that, not the
// engine's CPU, is what bounds the 8-thread speed-up.
//
// The second part asks whether the device serves concurrent syncs in
// parallel: threads that each rewrite scattered pages of their own file
// and sync it, 1 thread against 8. If 8 threads move barely more pages a
// second than one, the device does not serve syncs side by side: 8
// writers gain only by sharing syncs (group commit), and a shared sync
// still grows with each scattered page it adds.
//
// The files live in $TOKENRAIL_BENCH_DIR or the current directory (the
// disk the other benches' stores use) and are removed afterwards.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

constexpr long page_bytes = 4096;
constexpr long file_pages = 16384;  // 64 MiB: larger than any one commit spreads over
constexpr int rounds = 41;
constexpr int pages_per_sync = 12;   // about what one durable advance dirties

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

struct scratch_file {
  std::filesystem::path path;
  int fd = -1;
  explicit scratch_file(int index = 0) {
    const char* env = std::getenv("TOKENRAIL_BENCH_DIR");
    path = (env ? std::filesystem::path(env) : std::filesystem::current_path()) /
           ("tokenrail-bench-disk-" + std::to_string(::getpid()) + "-" + std::to_string(index));
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("open");
    // Written once and synced, so the measured syncs overwrite allocated
    // blocks (like LMDB reusing free pages) and commit no file-size change.
    std::vector<char> page(page_bytes, 1);
    for (long p = 0; p < file_pages; ++p)
      if (::pwrite(fd, page.data(), page_bytes, p * page_bytes) != page_bytes) die("pwrite");
    if (::fdatasync(fd) != 0) die("fdatasync");
  }
  scratch_file(const scratch_file&) = delete;   // owns the descriptor and the file
  scratch_file& operator=(const scratch_file&) = delete;
  ~scratch_file() {
    ::close(fd);
    std::filesystem::remove(path);
  }
};

/// p50 in microseconds of: write `pages` pages (scattered or side by side),
/// then fdatasync.
double sync_p50(scratch_file& f, int pages, bool contiguous, std::mt19937_64& rng) {
  std::vector<char> page(page_bytes, 2);
  std::uniform_int_distribution<long> any_page(0, file_pages - 1 - pages);
  std::vector<double> us;
  for (int r = 0; r < rounds; ++r) {
    std::vector<long> at(static_cast<std::size_t>(pages));
    const long start = any_page(rng);
    for (int i = 0; i < pages; ++i) at[static_cast<std::size_t>(i)] = contiguous ? start + i : any_page(rng);
    page[0] = static_cast<char>(r);
    const auto t0 = std::chrono::steady_clock::now();
    for (long p : at)
      if (::pwrite(f.fd, page.data(), page_bytes, p * page_bytes) != page_bytes) die("pwrite");
    if (::fdatasync(f.fd) != 0) die("fdatasync");
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(us);
}

/// Scattered pages written and synced per second by `threads` threads, each
/// rewriting pages_per_sync pages of its own file and syncing it, for about
/// half a second.
double pages_per_second(const std::vector<std::unique_ptr<scratch_file>>& files, int threads) {
  std::atomic<long> pages{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<unsigned>(t) + 7);
      std::uniform_int_distribution<long> any_page(0, file_pages - 1);
      std::vector<char> page(page_bytes, 3);
      const int fd = files[static_cast<std::size_t>(t)]->fd;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < pages_per_sync; ++i)
          if (::pwrite(fd, page.data(), page_bytes, any_page(rng) * page_bytes) != page_bytes) die("pwrite");
        if (::fdatasync(fd) != 0) die("fdatasync");
        pages += pages_per_sync;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (auto& th : pool) th.join();
  return static_cast<double>(pages) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  scratch_file f;
  std::mt19937_64 rng(42);
  std::printf("# disk: fdatasync after writing N pages of 4 KiB (p50 of %d, no verdict: context for group commit)\n",
              rounds);
  double one = 0;
  for (int n : {1, 12, 24, 48, 96}) {
    const double scattered = sync_p50(f, n, false, rng);
    const double side_by_side = sync_p50(f, n, true, rng);
    if (n == 1) one = scattered;
    std::printf("  disk sync of %2d pages: scattered %6.0f us (%5.1f us per page beyond the first), side by side %6.0f us\n",
                n, scattered, n > 1 ? (scattered - one) / (n - 1) : 0.0, side_by_side);
  }

  // 1 and 8 threads alternate, five rounds each, as the group-commit figure
  // does: the disk's latency drifts within seconds.
  std::vector<std::unique_ptr<scratch_file>> files;
  for (int t = 0; t < 8; ++t) files.push_back(std::make_unique<scratch_file>(t + 1));
  std::vector<double> one_thread, eight_threads, ratios;
  for (int r = 0; r < 5; ++r) {
    one_thread.push_back(pages_per_second(files, 1));
    eight_threads.push_back(pages_per_second(files, 8));
    ratios.push_back(eight_threads.back() / one_thread.back());
  }
  std::printf("  disk pages synced per second, %d scattered pages per sync, each thread its own file: "
              "1 thread %.0f, 8 threads %.0f (medians of 5 rounds), 8 / 1: %.2f x\n",
              pages_per_sync, median(one_thread), median(eight_threads), median(ratios));
  return 0;
}
