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
// The file lives in $TOKENRAIL_BENCH_DIR or the current directory (the
// disk the other benches' stores use) and is removed afterwards.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

constexpr long page_bytes = 4096;
constexpr long file_pages = 16384;  // 64 MiB: larger than any one commit spreads over
constexpr int rounds = 41;

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
  scratch_file() {
    const char* env = std::getenv("TOKENRAIL_BENCH_DIR");
    path = (env ? std::filesystem::path(env) : std::filesystem::current_path()) /
           ("tokenrail-bench-disk-" + std::to_string(::getpid()));
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("open");
    // Written once and synced, so the measured syncs overwrite allocated
    // blocks (like LMDB reusing free pages) and commit no file-size change.
    std::vector<char> page(page_bytes, 1);
    for (long p = 0; p < file_pages; ++p)
      if (::pwrite(fd, page.data(), page_bytes, p * page_bytes) != page_bytes) die("pwrite");
    if (::fdatasync(fd) != 0) die("fdatasync");
  }
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
  return 0;
}
