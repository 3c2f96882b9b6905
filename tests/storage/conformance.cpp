// The one storage conformance suite (D9): every backend passes the same
// cases. A backend plugs in a fixture (backend_fixture.hpp) that opens and
// reopens a store and declares its capabilities; cases that need a
// capability the backend lacks are skipped by that declaration, never by
// the backend's name.
#include "storage/backend_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace tokenrail;
using namespace tokenrail::storage;
using tokenrail::storage::testing::lmdb_durable_fixture;
using tokenrail::storage::testing::lmdb_relaxed_fixture;
using tokenrail::storage::testing::memory_fixture;

namespace {

std::optional<std::string> get(store& s, table t, std::string_view key) {
  std::optional<std::string> out;
  s.read([&](read_transaction& tx) {
    if (auto v = tx.get(t, key)) out = std::string(*v);
  });
  return out;
}

void put(store& s, table t, std::string_view key, std::string_view value) {
  s.write([&](write_transaction& tx) { tx.put(t, key, value); });
}

using kv = std::vector<std::pair<std::string, std::string>>;

kv scan(store& s, table t, std::string_view prefix, bool reverse = false) {
  kv out;
  s.read([&](read_transaction& tx) {
    tx.scan(t, prefix, [&](std::string_view k, std::string_view v) {
      out.emplace_back(k, v);
      return true;
    }, reverse);
  });
  return out;
}

std::vector<std::string> keys(const kv& rows) {
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(r.first);
  return out;
}

std::uint64_t decode_counter(std::optional<std::string_view> v) {
  return v ? std::stoull(std::string(*v)) : 0;
}

}  // namespace

#define BACKENDS memory_fixture, lmdb_durable_fixture, lmdb_relaxed_fixture

TEMPLATE_TEST_CASE("storage: declared capabilities match the store", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  auto c = s->caps();
  CHECK(c.persistent == fx.caps.persistent);
  CHECK(c.multi_process == fx.caps.multi_process);
  CHECK(c.readers_block_writers == fx.caps.readers_block_writers);
  CHECK(c.group_commit == fx.caps.group_commit);
  CHECK(c.max_key_bytes == fx.caps.max_key_bytes);
}

TEMPLATE_TEST_CASE("storage: get, put, overwrite, erase", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  CHECK_FALSE(get(*s, table::runs, "r1"));
  put(*s, table::runs, "r1", "one");
  CHECK(get(*s, table::runs, "r1") == "one");
  // Tables are separate namespaces.
  CHECK_FALSE(get(*s, table::nodes, "r1"));
  put(*s, table::runs, "r1", "uno");
  CHECK(get(*s, table::runs, "r1") == "uno");
  put(*s, table::runs, "r1", "");
  CHECK(get(*s, table::runs, "r1") == "");  // empty value is a value, not absence
  s->write([](write_transaction& tx) {
    tx.erase(table::runs, "r1");
    tx.erase(table::runs, "never-there");  // erasing a missing key is not an error
  });
  CHECK_FALSE(get(*s, table::runs, "r1"));
}

TEMPLATE_TEST_CASE("storage: keys sort bytewise", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  const std::vector<std::string> sorted = {std::string("\x00", 1), std::string("\x01"), "A", "B", "a",
                                           "ab", "b", "\x7f", "\x80", "\xfe", "\xff", std::string("\xff\x00", 2)};
  s->write([&](write_transaction& tx) {
    for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) tx.put(table::events, *it, "v");
  });
  CHECK(keys(scan(*s, table::events, "")) == sorted);
  auto reversed = sorted;
  std::reverse(reversed.begin(), reversed.end());
  CHECK(keys(scan(*s, table::events, "", true)) == reversed);
}

TEMPLATE_TEST_CASE("storage: prefix scans forward, reverse, early stop", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  s->write([](write_transaction& tx) {
    for (const char* k : {"a", "run1", "run1/0", "run1/1", "run1/2", "run10", "run2/0", "s"})
      tx.put(table::nodes, k, std::string("v:") + k);
    tx.put(table::nodes, std::string("p\xff\xff"), "x");
    tx.put(table::nodes, std::string("p\xff\xff\x01"), "y");
    tx.put(table::nodes, "q", "z");
  });
  CHECK(keys(scan(*s, table::nodes, "run1/")) == std::vector<std::string>{"run1/0", "run1/1", "run1/2"});
  CHECK(keys(scan(*s, table::nodes, "run1/", true)) == std::vector<std::string>{"run1/2", "run1/1", "run1/0"});
  CHECK(keys(scan(*s, table::nodes, "run1")) ==
        std::vector<std::string>{"run1", "run1/0", "run1/1", "run1/2", "run10"});
  CHECK(scan(*s, table::nodes, "run1/1")[0].second == "v:run1/1");
  CHECK(scan(*s, table::nodes, "zzz").empty());
  CHECK(scan(*s, table::nodes, "zzz", true).empty());
  CHECK(scan(*s, table::nodes, "b").empty());
  CHECK(scan(*s, table::nodes, "b", true).empty());
  // A prefix ending in 0xff bytes has no simple successor.
  CHECK(keys(scan(*s, table::nodes, std::string("p\xff\xff"))) ==
        std::vector<std::string>{std::string("p\xff\xff"), std::string("p\xff\xff\x01")});
  CHECK(keys(scan(*s, table::nodes, std::string("p\xff\xff"), true)) ==
        std::vector<std::string>{std::string("p\xff\xff\x01"), std::string("p\xff\xff")});
  // Empty table.
  CHECK(scan(*s, table::callbacks, "").empty());
  CHECK(scan(*s, table::callbacks, "", true).empty());

  // Stop early, in both directions.
  for (bool reverse : {false, true}) {
    std::vector<std::string> seen;
    s->read([&](read_transaction& tx) {
      tx.scan(table::nodes, "run1/", [&](std::string_view k, std::string_view) {
        seen.emplace_back(k);
        return seen.size() < 2;
      }, reverse);
    });
    CHECK(seen.size() == 2);
    CHECK(seen[0] == (reverse ? "run1/2" : "run1/0"));
  }
}

TEMPLATE_TEST_CASE("storage: binary keys and values with NUL bytes", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  const std::string k1("r\0\0\x01", 4), k2("r\0\0\x02", 4), k3("r\0\x01", 3);
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  s->write([&](write_transaction& tx) {
    tx.put(table::acks, k1, value);
    tx.put(table::acks, k2, std::string("\0", 1));
    tx.put(table::acks, k3, "three");
  });
  CHECK(get(*s, table::acks, k1) == value);
  CHECK(get(*s, table::acks, k2) == std::string("\0", 1));
  CHECK_FALSE(get(*s, table::acks, std::string("r\0\0", 3)));
  CHECK(keys(scan(*s, table::acks, std::string("r\0\0", 3))) == std::vector<std::string>{k1, k2});
  CHECK(keys(scan(*s, table::acks, std::string("r\0", 2), true)) == std::vector<std::string>{k3, k2, k1});
}

TEMPLATE_TEST_CASE("storage: key limits", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  CHECK_THROWS_AS(put(*s, table::runs, "", "v"), failure);
  CHECK(scan(*s, table::runs, "").empty());  // the failed write wrote nothing
  const std::size_t max = fx.caps.max_key_bytes;
  const std::size_t n = max ? max : 4096;
  const std::string longest(n, 'k');
  put(*s, table::runs, longest, "v");
  CHECK(get(*s, table::runs, longest) == "v");
  if (max) {
    try {
      put(*s, table::runs, std::string(max + 1, 'k'), "v");
      FAIL("a key over max_key_bytes was accepted");
    } catch (const failure& f) {
      CHECK(f.err().code == errc::INTERNAL);
    }
  }
}

TEMPLATE_TEST_CASE("storage: large values", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  std::string big(3u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  put(*s, table::workflows, "big", big);
  put(*s, table::workflows, "small", "s");
  auto back = get(*s, table::workflows, "big");
  REQUIRE(back);
  CHECK(back->size() == big.size());
  CHECK(*back == big);
  // Overwrite with another large value, then shrink.
  std::string big2(2u << 20, 'x');
  put(*s, table::workflows, "big", big2);
  CHECK(get(*s, table::workflows, "big") == big2);
  put(*s, table::workflows, "big", "tiny");
  CHECK(get(*s, table::workflows, "big") == "tiny");
}

TEMPLATE_TEST_CASE("storage: a body that throws writes nothing", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  put(*s, table::runs, "keep", "1");
  put(*s, table::runs, "gone", "1");
  CHECK_THROWS_AS(s->write([](write_transaction& tx) {
    tx.put(table::runs, "keep", "2");
    tx.put(table::runs, "new", "2");
    tx.erase(table::runs, "gone");
    tx.put(table::events, "e", "2");
    throw std::runtime_error("body failed");
  }), std::runtime_error);
  // A failure thrown as tokenrail::failure propagates unchanged.
  try {
    s->write([](write_transaction& tx) {
      tx.put(table::runs, "new", "3");
      fail(errc::RUN_NOT_FOUND, "no such run");
    });
    FAIL("no exception");
  } catch (const failure& f) {
    CHECK(f.err().code == errc::RUN_NOT_FOUND);
  }
  CHECK(get(*s, table::runs, "keep") == "1");
  CHECK(get(*s, table::runs, "gone") == "1");
  CHECK_FALSE(get(*s, table::runs, "new"));
  CHECK_FALSE(get(*s, table::events, "e"));
  CHECK(s->stats().entries == 2);
  // The store keeps working after a failed body.
  put(*s, table::runs, "after", "ok");
  CHECK(get(*s, table::runs, "after") == "ok");
}

TEMPLATE_TEST_CASE("storage: a write body reads its own writes", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  s->write([](write_transaction& tx) {
    tx.put(table::nodes, "n/1", "committed");
    tx.put(table::nodes, "n/3", "committed");
    tx.put(table::nodes, "n/5", "committed");
  });
  s->write([](write_transaction& tx) {
    CHECK(tx.get(table::nodes, "n/1") == std::optional<std::string_view>("committed"));
    tx.put(table::nodes, "n/1", "mine");
    tx.put(table::nodes, "n/2", "new");
    tx.erase(table::nodes, "n/3");
    tx.put(table::nodes, "n/6", "new");
    tx.put(table::nodes, "n/0", "new");
    CHECK(tx.get(table::nodes, "n/1") == std::optional<std::string_view>("mine"));
    CHECK(tx.get(table::nodes, "n/2") == std::optional<std::string_view>("new"));
    CHECK_FALSE(tx.get(table::nodes, "n/3"));
    kv fwd, rev;
    tx.scan(table::nodes, "n/", [&](std::string_view k, std::string_view v) {
      fwd.emplace_back(k, v);
      return true;
    });
    tx.scan(table::nodes, "n/", [&](std::string_view k, std::string_view v) {
      rev.emplace_back(k, v);
      return true;
    }, true);
    const kv expected = {{"n/0", "new"}, {"n/1", "mine"}, {"n/2", "new"}, {"n/5", "committed"}, {"n/6", "new"}};
    CHECK(fwd == expected);
    CHECK(rev == kv(expected.rbegin(), expected.rend()));
    // Erase then put again in the same body.
    tx.erase(table::nodes, "n/5");
    CHECK_FALSE(tx.get(table::nodes, "n/5"));
    tx.put(table::nodes, "n/5", "again");
    CHECK(tx.get(table::nodes, "n/5") == std::optional<std::string_view>("again"));
    tx.put(table::nodes, "n/7", "x");
    tx.erase(table::nodes, "n/7");
    CHECK_FALSE(tx.get(table::nodes, "n/7"));
  });
  const kv expected = {{"n/0", "new"}, {"n/1", "mine"}, {"n/2", "new"}, {"n/5", "again"}, {"n/6", "new"}};
  CHECK(scan(*s, table::nodes, "n/") == expected);
}

TEMPLATE_TEST_CASE("storage: a view from get stays valid for the whole transaction", "[storage][conformance]",
                   BACKENDS) {
  TestType fx;
  auto s = fx.open();
  put(*s, table::runs, "a", std::string(100, 'a'));
  s->write([](write_transaction& tx) {
    tx.put(table::runs, "b", std::string(100, 'b'));
    auto a = tx.get(table::runs, "a");
    auto b = tx.get(table::runs, "b");
    // Writes to other keys (enough to split pages) must not move them.
    for (int i = 0; i < 500; ++i) tx.put(table::runs, "c" + std::to_string(i), std::string(300, 'c'));
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == std::string(100, 'a'));
    CHECK(*b == std::string(100, 'b'));
  });
}

TEMPLATE_TEST_CASE("storage: readers see a snapshot, never half a write", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  // Invariant: the keys x and y always hold the same number.
  s->write([](write_transaction& tx) {
    tx.put(table::runs, "x", "0");
    tx.put(table::runs, "y", "0");
  });
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        s->read([&](read_transaction& tx) {
          auto x = std::string(*tx.get(table::runs, "x"));
          std::this_thread::yield();
          auto y = std::string(*tx.get(table::runs, "y"));
          if (x != y) ++torn;
          // A scan in the same snapshot agrees too.
          std::vector<std::string> vals;
          tx.scan(table::runs, "", [&](std::string_view, std::string_view v) {
            vals.emplace_back(v);
            return true;
          });
          if (vals.size() != 2 || vals[0] != vals[1]) ++torn;
        });
        ++reads;
      }
    });
  // Start writing only once the readers run: on a loaded machine all 300
  // writes could otherwise finish before a reader thread is scheduled.
  while (reads < 3) std::this_thread::yield();
  for (int i = 1; i <= 300; ++i) {
    s->write([&](write_transaction& tx) {
      tx.put(table::runs, "x", std::to_string(i));
      std::this_thread::yield();
      tx.put(table::runs, "y", std::to_string(i));
    });
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(torn == 0);
  CHECK(get(*s, table::runs, "x") == "300");
}

TEMPLATE_TEST_CASE("storage: concurrent writers from 8 threads all land", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  constexpr int threads = 8, per_thread = 60;
  std::barrier sync(threads);
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      sync.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        try {
          s->write([&](write_transaction& tx) {
            const auto n = decode_counter(tx.get(table::meta, "counter"));
            tx.put(table::meta, "counter", std::to_string(n + 1));
            tx.put(table::runs, "t" + std::to_string(t) + "/" + std::to_string(i), "v");
          });
        } catch (...) {
          ++failures;
        }
      }
    });
  for (auto& t : pool) t.join();
  CHECK(failures == 0);
  CHECK(get(*s, table::meta, "counter") == std::to_string(threads * per_thread));
  CHECK(scan(*s, table::runs, "t").size() == threads * per_thread);
}

TEMPLATE_TEST_CASE("storage: a throwing body among concurrent writers loses only its own writes",
                   "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  constexpr int threads = 8, per_thread = 40;
  std::barrier sync(threads);
  std::vector<std::thread> pool;
  std::atomic<int> thrown{0}, wrong{0};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      sync.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        const bool bad = (i % 4 == t % 4);
        try {
          s->write([&](write_transaction& tx) {
            const auto n = decode_counter(tx.get(table::meta, "counter"));
            tx.put(table::meta, "counter", std::to_string(n + 1));
            tx.put(table::runs, "t" + std::to_string(t) + "/" + std::to_string(i), bad ? "bad" : "good");
            if (bad) throw std::runtime_error("t" + std::to_string(t));
          });
          if (bad) ++wrong;
        } catch (const std::runtime_error& e) {
          // Each caller gets its own exception, never another body's.
          if (!bad || e.what() != "t" + std::to_string(t)) ++wrong;
          ++thrown;
        }
      }
    });
  for (auto& t : pool) t.join();
  CHECK(wrong == 0);
  const int good = threads * per_thread - thrown.load();
  CHECK(thrown == threads * per_thread / 4);
  CHECK(get(*s, table::meta, "counter") == std::to_string(good));
  auto rows = scan(*s, table::runs, "t");
  CHECK(rows.size() == static_cast<std::size_t>(good));
  for (auto& r : rows) CHECK(r.second == "good");
}

TEMPLATE_TEST_CASE("storage: data survives close and reopen", "[storage][conformance]", BACKENDS) {
  TestType fx;
  if (!fx.caps.persistent) {
    SUCCEED("backend is not persistent");
    return;
  }
  {
    auto s = fx.open();
    s->write([](write_transaction& tx) {
      tx.put(table::sessions, "s1", "session");
      tx.put(table::events, std::string("s1\0\0\0\x01", 6), "e1");
      tx.put(table::runs, "r", "x");
    });
    s->write([](write_transaction& tx) { tx.erase(table::runs, "r"); });
  }
  auto s = fx.reopen();
  CHECK(get(*s, table::sessions, "s1") == "session");
  CHECK(get(*s, table::events, std::string("s1\0\0\0\x01", 6)) == "e1");
  CHECK_FALSE(get(*s, table::runs, "r"));
  CHECK(s->stats().entries == 2);
}

TEMPLATE_TEST_CASE("storage: stats count entries and bytes", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  const auto empty = s->stats();
  CHECK(empty.entries == 0);
  s->write([](write_transaction& tx) {
    for (int i = 0; i < 100; ++i) tx.put(table::nodes, "k" + std::to_string(i), std::string(1000, 'v'));
    tx.put(table::runs, "r", "x");
  });
  auto st = s->stats();
  CHECK(st.entries == 101);
  CHECK(st.bytes_used >= 100 * 1000);
  s->write([](write_transaction& tx) {
    tx.erase(table::nodes, "k0");
    tx.put(table::runs, "r", "y");  // an overwrite adds no entry
  });
  CHECK(s->stats().entries == 100);
}

// A backend may take shortcuts for the common patterns (the memory store's
// finger: appends right after the last key written, rewrites of the same
// key); this drives every backend through those patterns and the ones that
// defeat them (inserts before the last write, erasing the last-written key,
// several tables in one transaction) and compares every read with a model.
TEMPLATE_TEST_CASE("storage: random transactions match a model map", "[storage][conformance]", BACKENDS) {
  TestType fx;
  auto s = fx.open();
  std::map<std::string, std::string> model[2];
  const table tables[2] = {table::events, table::nodes};
  std::mt19937 rng(20261121);
  auto key_for = [&](int n) {
    // Long shared prefixes, as engine keys have (a session id, a run id).
    std::string k = "session-0123456789abcdef";
    k.push_back(static_cast<char>('a' + n % 3));
    k.append(std::to_string(1000 + n));
    return k;
  };
  int next_append = 0;
  for (int round = 0; round < 300; ++round) {
    const int ops = 1 + static_cast<int>(rng() % 6);
    std::vector<std::tuple<int, std::string, std::optional<std::string>>> writes;  // table, key, value (nullopt: erase)
    for (int i = 0; i < ops; ++i) {
      const int t = static_cast<int>(rng() % 2);
      const int kind = static_cast<int>(rng() % 10);
      std::string key;
      if (kind < 4) key = key_for(next_append++ * 3);          // an append (sequential)
      else if (kind < 6 && !model[t].empty()) key = std::next(model[t].begin(), static_cast<long>(rng() % model[t].size()))->first;
      else key = key_for(static_cast<int>(rng() % 900));        // anywhere, maybe new
      if (kind == 9) writes.emplace_back(t, key, std::nullopt);
      else writes.emplace_back(t, key, "v" + std::to_string(round) + "." + std::to_string(i));
    }
    s->write([&](write_transaction& tx) {
      for (auto& [t, k, v] : writes) {
        if (v) tx.put(tables[t], k, *v);
        else tx.erase(tables[t], k);
      }
    });
    for (auto& [t, k, v] : writes) {
      if (v) model[t][k] = *v;
      else model[t].erase(k);
    }
    // Point reads: every key just written, and a few others.
    for (auto& [t, k, v] : writes) CHECK(get(*s, tables[t], k) == v);
    // Around the last key written (where a finger points): the next append,
    // not written yet; a key just after it (absent); its successor.
    for (auto& [t, k, v] : writes) {
      auto expect = [&, t = t](const std::string& key) {
        auto it = model[t].find(key);
        CHECK(get(*s, tables[t], key) == (it == model[t].end() ? std::nullopt : std::optional<std::string>(it->second)));
      };
      expect(key_for(next_append * 3));
      expect(k + '\0');
      if (auto after = model[t].upper_bound(k); after != model[t].end()) expect(after->first);
    }
    for (int i = 0; i < 3; ++i) {
      const int t = static_cast<int>(rng() % 2);
      const std::string k = key_for(static_cast<int>(rng() % 900));
      auto it = model[t].find(k);
      CHECK(get(*s, tables[t], k) == (it == model[t].end() ? std::nullopt : std::optional<std::string>(it->second)));
    }
  }
  for (int t = 0; t < 2; ++t) {
    kv expected(model[t].begin(), model[t].end());
    CHECK(scan(*s, tables[t], "") == expected);
  }
  CHECK(s->stats().entries == model[0].size() + model[1].size());
}
