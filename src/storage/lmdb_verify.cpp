// A bounds-checked walk of an LMDB file's B-trees, read with pread.
//
// LMDB trusts its pages: a garbage page number or overflow count makes it
// read past the end of the file through the map, and the process dies with
// SIGBUS. Opening a store therefore walks every page reachable from the
// current meta page once (the free-page tree, the main tree and every
// named table) and refuses the store with STORE_CORRUPT, naming the page,
// before LMDB touches any of it. A read transaction is held during the
// walk so that another process's commits cannot recycle the pages being
// checked.
//
// On-disk layout (LMDB 0.9, 64-bit), from lmdb's mdb.c:
//   page header (16 bytes): pgno u64, pad u16, flags u16, lower u16, upper u16
//                           (lower/upper are one u32 "pages" on overflow pages)
//   node (8 bytes + key + data): lo u16, hi u16, flags u16, ksize u16
//   meta (after the header): magic u32, version u32, address u64, mapsize u64,
//                            dbs[2] (48 bytes each), last_pgno u64, txnid u64
//   db record (48 bytes): pad u32 (page size, in the free db of the meta),
//                         flags u16, depth u16, branch/leaf/overflow pages,
//                         entries, root (u64 each)
#include "lmdb_env.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace tokenrail::storage::lmdb_impl {
namespace {

constexpr std::size_t page_header = 16;
constexpr std::size_t node_header = 8;
constexpr std::size_t db_record = 48;
constexpr std::uint16_t p_branch = 0x01, p_leaf = 0x02, p_overflow = 0x04, p_meta = 0x08, p_leaf2 = 0x20;
constexpr std::uint16_t f_bigdata = 0x01, f_subdata = 0x02, f_dupdata = 0x04;
constexpr std::uint64_t p_invalid = ~0ull;
constexpr std::uint32_t mdb_magic = 0xBEEFC0DE;
constexpr int max_depth = 64;

template <class T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

class walker {
 public:
  walker(int fd, std::uint64_t psize, std::uint64_t last_pgno, const std::string& path)
      : fd_(fd), psize_(psize), last_(last_pgno), path_(path), seen_(last_pgno + 1, false) {}

  result<void> tree(std::uint64_t root, bool main_db, std::string_view name) {
    if (root == p_invalid) return {};
    return page(root, 0, main_db, name);
  }

 private:
  error corrupt(std::uint64_t pgno, std::string_view name, std::string what) {
    boost::json::object details;
    details["path"] = path_;
    details["page"] = pgno;
    details["tree"] = name;
    return error::make(errc::STORE_CORRUPT,
                       fmt::format("the store is corrupt: page {} of {}: {}", pgno, name, what),
                       std::move(details));
  }

  result<std::vector<std::uint8_t>> read_pages(std::uint64_t pgno, std::uint64_t count, std::string_view name) {
    std::vector<std::uint8_t> buf(count * psize_);
    std::size_t done = 0;
    while (done < buf.size()) {
      const ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done,
                                static_cast<off_t>(pgno * psize_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return corrupt(pgno, name, "cannot be read (beyond the end of the file)");
      done += static_cast<std::size_t>(n);
    }
    return buf;
  }

  /// Marks pgno as visited; a page reached twice means a cycle or a shared page.
  bool claim(std::uint64_t pgno) {
    if (seen_[pgno]) return false;
    seen_[pgno] = true;
    return true;
  }

  result<void> page(std::uint64_t pgno, int depth, bool main_db, std::string_view name) {
    if (pgno < 2 || pgno > last_) return corrupt(pgno, name, "page number out of range");
    if (depth > max_depth) return corrupt(pgno, name, "tree deeper than any real one");
    if (!claim(pgno)) return corrupt(pgno, name, "reached twice");
    auto buf = read_pages(pgno, 1, name);
    if (!buf) return std::move(buf).error();
    const std::uint8_t* p = buf.value().data();
    if (load<std::uint64_t>(p) != pgno) return corrupt(pgno, name, "its header names another page");
    const auto flags = load<std::uint16_t>(p + 10);
    const auto lower = load<std::uint16_t>(p + 12);
    const auto upper = load<std::uint16_t>(p + 14);
    const bool branch = flags & p_branch, leaf = flags & p_leaf;
    if (branch == leaf || (flags & (p_overflow | p_meta | p_leaf2)))
      return corrupt(pgno, name, fmt::format("unexpected page flags {:#x}", flags));
    if (lower < page_header || lower > upper || upper > psize_ || (lower - page_header) % 2)
      return corrupt(pgno, name, "free-space bounds out of range");
    const std::size_t n = (lower - page_header) / 2;
    if (branch && n == 0) return corrupt(pgno, name, "a branch page without children");
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t off = load<std::uint16_t>(p + page_header + 2 * i);
      if (off < upper || off + node_header > psize_) return corrupt(pgno, name, "a node outside the page");
      const std::uint8_t* node = p + off;
      const std::uint64_t lo = load<std::uint16_t>(node), hi = load<std::uint16_t>(node + 2);
      const auto nflags = load<std::uint16_t>(node + 4);
      const std::size_t ksize = load<std::uint16_t>(node + 6);
      if (off + node_header + ksize > psize_) return corrupt(pgno, name, "a key runs past the page");
      if (branch) {
        const std::uint64_t child = lo | (hi << 16) | (static_cast<std::uint64_t>(nflags) << 32);
        if (auto r = page(child, depth + 1, main_db, name); !r) return r;
        continue;
      }
      const std::uint64_t dsize = lo | (hi << 16);
      const std::uint8_t* data = node + node_header + ksize;
      if (nflags & f_dupdata) return corrupt(pgno, name, "a duplicate-sorted node (this store never writes them)");
      if (nflags & f_bigdata) {
        if (off + node_header + ksize + 8 > psize_) return corrupt(pgno, name, "an overflow reference runs past the page");
        if (auto r = overflow(load<std::uint64_t>(data), dsize, name); !r) return r;
        continue;
      }
      if (off + node_header + ksize + dsize > psize_) return corrupt(pgno, name, "a value runs past the page");
      if (nflags & f_subdata) {
        if (!main_db || dsize != db_record) return corrupt(pgno, name, "a misplaced table record");
        const std::string sub(reinterpret_cast<const char*>(node + node_header), ksize);
        if (auto r = tree(load<std::uint64_t>(data + 40), false, sub); !r) return r;
      }
    }
    return {};
  }

  result<void> overflow(std::uint64_t pgno, std::uint64_t size, std::string_view name) {
    if (pgno < 2 || pgno > last_) return corrupt(pgno, name, "overflow page number out of range");
    auto buf = read_pages(pgno, 1, name);
    if (!buf) return std::move(buf).error();
    const std::uint8_t* p = buf.value().data();
    const auto pages = load<std::uint32_t>(p + 12);
    if (load<std::uint64_t>(p) != pgno || !(load<std::uint16_t>(p + 10) & p_overflow))
      return corrupt(pgno, name, "not an overflow page");
    if (pages == 0 || pgno + pages - 1 > last_ || size > pages * psize_ - page_header)
      return corrupt(pgno, name, "overflow run out of range");
    for (std::uint64_t i = 0; i < pages; ++i)
      if (!claim(pgno + i)) return corrupt(pgno + i, name, "reached twice");
    return {};
  }

  int fd_;
  std::uint64_t psize_;
  std::uint64_t last_;
  const std::string& path_;
  std::vector<bool> seen_;
};

struct meta_view {
  std::uint32_t magic = 0;
  std::uint64_t psize = 0;
  std::uint64_t free_root = p_invalid, main_root = p_invalid;
  std::uint64_t last_pgno = 0, txnid = 0;
};

meta_view parse_meta(const std::uint8_t* page) {
  const std::uint8_t* m = page + page_header;
  meta_view v;
  v.magic = load<std::uint32_t>(m);
  v.psize = load<std::uint32_t>(m + 24);  // the free db's pad holds the page size
  v.free_root = load<std::uint64_t>(m + 24 + 40);
  v.main_root = load<std::uint64_t>(m + 24 + db_record + 40);
  v.last_pgno = load<std::uint64_t>(m + 24 + 2 * db_record);
  v.txnid = load<std::uint64_t>(m + 24 + 2 * db_record + 8);
  return v;
}

}  // namespace

result<void> verify_pages(env& e) {
  boost::json::object details;
  details["path"] = e.path;
  auto fail_with = [&](std::string msg) { return error::make(errc::STORE_CORRUPT, std::move(msg), details); };

  // The snapshot to check: the one a read transaction sees now, held until
  // the walk is done so its pages are not recycled meanwhile.
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(e.handle, nullptr, MDB_RDONLY, &txn);
  // Another process may have grown the map since we opened it: adopt its
  // size (mapsize 0 = the size recorded in the file) and begin again.
  for (int attempt = 0; rc == MDB_MAP_RESIZED && attempt < 8; ++attempt) {
    mdb_env_set_mapsize(e.handle, 0);
    rc = mdb_txn_begin(e.handle, nullptr, MDB_RDONLY, &txn);
  }
  if (rc) return lmdb_error(rc, "beginning the page check", e.path);
  struct guard {
    MDB_txn* t;
    ~guard() { mdb_txn_abort(t); }
  } g{txn};
  const std::uint64_t txnid = mdb_txn_id(txn);

  const std::string data = e.path + "/data.mdb";
  const int fd = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lmdb_error(errno, "opening data.mdb for the page check", e.path);
  struct fd_guard {
    int fd;
    ~fd_guard() { ::close(fd); }
  } fg{fd};

  MDB_stat st;
  if (int rc = mdb_env_stat(e.handle, &st)) return lmdb_error(rc, "reading the page size", e.path);
  const std::uint64_t psize = st.ms_psize;
  std::vector<std::uint8_t> metas(2 * psize);
  if (::pread(fd, metas.data(), metas.size(), 0) != static_cast<ssize_t>(metas.size()))
    return fail_with("the store is corrupt: its meta pages cannot be read");
  const meta_view m0 = parse_meta(metas.data()), m1 = parse_meta(metas.data() + psize);
  const meta_view* m = m0.txnid == txnid ? &m0 : m1.txnid == txnid ? &m1 : nullptr;
  if (!m) return {};  // another process committed twice meanwhile; LMDB checked the metas it uses
  if (m->magic != mdb_magic || m->psize != psize) return fail_with("the store is corrupt: bad meta page");

  walker w(fd, psize, m->last_pgno, e.path);
  if (auto r = w.tree(m->free_root, false, "the free-page list"); !r) return r;
  if (auto r = w.tree(m->main_root, true, "the table directory"); !r) return r;
  return {};
}

}  // namespace tokenrail::storage::lmdb_impl
