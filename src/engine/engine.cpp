// engine::open and the operation boundary (engine::call).
#include "engine/context.hpp"
#include "engine/request_check.hpp"

#include <tokenrail/crypto/hash.hpp>
#include <tokenrail/engine/tool_definitions.hpp>
#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json/schema.hpp>
#include <tokenrail/storage/keyring_file.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <tokenrail/json_parse.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <new>
#include <optional>

namespace tokenrail {

using namespace engine_detail;

namespace {

// The config of D10. Unknown fields are refused (INVALID_CONFIG with their
// pointer) rather than ignored: a misspelt "durabilty" or "maxRequestByte"
// would otherwise silently keep a default the host meant to change, and
// these settings decide durability and limits.
//
// The maximums are what the code can honour, so a config that passes cannot
// fail later: maxDepth 512 leaves room below the 1024 levels at which this
// process re-reads its own records (an event wraps a request value in two
// more levels, an export bundle in a few more), and keeps the recursive
// canonical writer far from the end of a thread's stack; the byte sizes fit
// an address space (2^46 is 64 TiB of map) and a uint64.
constexpr std::string_view config_schema_text = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "store": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "backend": {"enum": ["memory", "lmdb"]},
        "path": {"type": "string", "minLength": 1},
        "durability": {"enum": ["durable", "relaxed"]},
        "mapSizeBytes": {"type": "integer", "minimum": 1048576, "maximum": 70368744177664},
        "maxMapSizeBytes": {"type": "integer", "minimum": 0, "maximum": 70368744177664},
        "readOnly": {"type": "boolean"}
      }
    },
    "workflows": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "definitions": {"type": "array", "items": {"type": "object"}},
    "invalidWorkflowFiles": {"enum": ["fail", "skip"]},
    "limits": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "maxRequestBytes": {"type": "integer", "minimum": 64, "maximum": 1073741824},
        "maxDepth": {"type": "integer", "minimum": 4, "maximum": 512},
        "maxNotesBytes": {"type": "integer", "minimum": 0, "maximum": 1073741824}
      }
    },
    "keyring": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "path": {"type": "string", "minLength": 1},
        "secret": {"type": "string", "minLength": 64, "maxLength": 64}
      }
    }
  }
})";

const boost::json::value& config_schema() {
  static const boost::json::value v = parse_json_text(config_schema_text);
  return v;
}

std::int64_t system_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::uint64_t get_u64(const boost::json::object& o, std::string_view k, std::uint64_t dflt) {
  auto* v = o.if_contains(k);
  if (!v) return dflt;
  return v->to_number<std::uint64_t>();
}

const boost::json::object& sub(const boost::json::object& o, std::string_view k) {
  static const boost::json::object empty;
  auto* v = o.if_contains(k);
  return v ? v->as_object() : empty;
}

std::string error_text(const error& err) { return tokenrail::json::serialize(err.to_json()); }

/// True when the store at store_path does not exist yet and the keyring
/// file is not in its directory (compared absolute, without ".", ".." or
/// a trailing "/").
bool keyring_outside_new_store(const std::string& keyring_path, const std::string& store_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(store_path, ec)) return false;
  auto directory = [](const fs::path& d) {
    std::error_code absolute_ec;
    fs::path n = fs::absolute(d, absolute_ec).lexically_normal();
    return n.has_filename() || !n.has_parent_path() ? n : n.parent_path();
  };
  return directory(fs::path(keyring_path).parent_path()) != directory(store_path);
}

}  // namespace

result<std::unique_ptr<engine>> engine::open(std::string_view config_json, clock_fn clock) {
  auto parsed = parse_json(config_json);
  if (!parsed) {
    error e = std::move(parsed).error();
    e.code = errc::INVALID_CONFIG;
    return e;
  }
  return open(*parsed, std::move(clock));
}

result<std::unique_ptr<engine>> engine::open(const boost::json::value& config, clock_fn clock) {
  try {
    crypto::init();
    if (auto v = json::validate(config_schema(), config))
      return error::at(errc::INVALID_CONFIG, v->pointer, v->expected);
    const auto& cfg = config.as_object();
    auto p = std::make_unique<impl>();
    p->clock = clock ? std::move(clock) : clock_fn(system_clock_ms);

    const auto& lim = sub(cfg, "limits");
    p->limits.json.max_bytes = get_u64(lim, "maxRequestBytes", 1u << 20);
    p->limits.json.max_depth = get_u64(lim, "maxDepth", 64);
    p->limits.max_notes_bytes = get_u64(lim, "maxNotesBytes", 256u << 10);

    // Everything that can fail on the config alone is checked before the
    // store is opened: opening an LMDB store creates its directory, its
    // data file and (beside it) a keyring, and a typo in a workflow file or
    // in the keyring secret must not leave those behind.
    const auto& st = sub(cfg, "store");
    std::string backend = "memory";
    if (auto* b = st.if_contains("backend")) backend = std::string(b->as_string());
    std::string store_path;
    if (backend != "memory") {
      auto* path = st.if_contains("path");
      if (!path) return error::at(errc::INVALID_CONFIG, "/store/path", "a directory path for the lmdb store");
      store_path = std::string(path->as_string());
    }
    // Keyring: a host secret, else a file (D9: <store>/keyring.json, mode
    // 0600, created on first open, unless the host names another file),
    // else a fresh random key (memory stores die with the process anyway).
    const auto& kr = sub(cfg, "keyring");
    if (auto* secret = kr.if_contains("secret")) {
      token::key_entry k;
      k.id = 1;
      k.state = token::key_state::current;
      if (!crypto::from_hex(secret->as_string(), std::span<std::uint8_t>(k.key)))
        return error::at(errc::INVALID_CONFIG, "/keyring/secret", "64 hexadecimal characters");
      auto ring = token::keyring::from_entries({k});
      if (!ring) return std::move(ring).error();
      p->ring = std::move(*ring);
    } else if (kr.if_contains("path") || backend == "lmdb") {
      p->keyring_path = kr.if_contains("path") ? std::string(kr.at("path").as_string())
                                               : store_path + "/keyring.json";   // read once the store is open
    } else {
      p->ring = token::keyring::generate();
    }

    // Workflows. The store and keyring are left out by file identity, so
    // on a first open, before they exist, there is nothing to leave out.
    std::vector<std::string> dirs;
    if (auto* w = cfg.if_contains("workflows"))
      for (const auto& d : w->as_array()) dirs.emplace_back(d.as_string());
    std::vector<boost::json::value> defs;
    if (auto* d = cfg.if_contains("definitions"))
      for (const auto& def : d->as_array()) defs.push_back(def);
    workflow::load_options load;
    if (!store_path.empty()) load.never_read.push_back(store_path);
    if (!p->keyring_path.empty()) load.never_read.push_back(p->keyring_path);
    if (auto* m = cfg.if_contains("invalidWorkflowFiles")) load.skip_invalid_files = m->as_string() == "skip";
    auto lib = workflow::library::load(dirs, defs, load);
    if (!lib) return std::move(lib).error();
    p->library = std::move(*lib);

    // Opening a new LMDB store creates its directory. When the host names
    // a keyring file elsewhere, that file is checked before (an existing
    // one is read; for a missing one, its directory must be writable), so
    // a refused keyring leaves no new store behind; a missing one is
    // created once the store is open. (A keyring in the store's directory,
    // such as the default one, waits for the open to create it; and for a
    // store that exists, the store's own errors, such as STORE_READ_ONLY,
    // come first, as they always did.)
    std::optional<token::keyring> checked_ring;
    if (backend == "lmdb" && !p->keyring_path.empty() && keyring_outside_new_store(p->keyring_path, store_path)) {
      auto checked = storage::check_keyring(p->keyring_path);
      if (!checked) return std::move(checked).error();
      checked_ring = std::move(*checked);
    }

    // Store.
    bool read_only = false;
    if (backend == "memory") {
      p->store = storage::open_memory_store();
    } else {
      storage::lmdb_options o;
      o.path = store_path;
      if (auto* d = st.if_contains("durability"); d && d->as_string() == "relaxed")
        o.mode = storage::durability::relaxed;
      o.initial_map_bytes = get_u64(st, "mapSizeBytes", o.initial_map_bytes);
      o.max_map_bytes = get_u64(st, "maxMapSizeBytes", 0);
      if (auto* ro = st.if_contains("readOnly")) o.read_only = ro->as_bool();
      read_only = o.read_only;
      auto s = storage::open_lmdb_store(o);
      if (!s) return std::move(s).error();
      p->store = std::move(*s);
    }
    if (!p->keyring_path.empty()) {
      if (checked_ring) {
        p->ring = std::move(*checked_ring);
      } else {
        auto ring = storage::load_or_create_keyring(p->keyring_path);
        if (!ring) return std::move(ring).error();
        p->ring = std::move(*ring);
      }
      p->persistent_keyring = true;
    }
    p->set_codec(std::make_shared<const token::codec>(p->ring));

    // Format marker: refuse stores written by a newer engine; mark a store
    // of an earlier format with this one (it is read as it is). Read
    // first and write only a missing or previous marker, so a read-only
    // engine (store.readOnly) opens an existing store and an ordinary open
    // costs no commit.
    auto marker_ok = [&](std::optional<std::string_view> v) {
      if (v && std::find(std::begin(store_formats_readable), std::end(store_formats_readable), *v) ==
                   std::end(store_formats_readable)) {
        boost::json::object d;
        d["found"] = *v;
        d["supported"] = store_format_version;
        fail(errc::STORE_VERSION_UNSUPPORTED, "the store was written by another engine format version", std::move(d));
      }
      return v && *v == store_format_version;
    };
    bool current = false;
    p->store->read([&](storage::read_transaction& tx) { current = marker_ok(tx.get(storage::table::meta, "format")); });
    if (!current && !read_only) {
      p->store->write([&](storage::write_transaction& tx) {
        if (!marker_ok(tx.get(storage::table::meta, "format")))
          tx.put(storage::table::meta, "format", store_format_version);
      });
    }
    return std::unique_ptr<engine>(new engine(std::move(p)));
  } catch (const failure& f) {
    return f.err();
  } catch (const std::bad_alloc&) {
    return error::make(errc::OUT_OF_MEMORY, "");
  } catch (const std::exception& ex) {
    return error::make(errc::INTERNAL, ex.what());
  }
}

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
engine::~engine() = default;

// Not noexcept: the list is allocated on the first call, and bad_alloc
// there must reach the caller (tokenrail_operations returns NULL), not
// std::terminate.
const std::vector<std::string_view>& engine::operations() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> n;
    for (const auto& op : op_table()) n.push_back(op.name);
    return n;
  }();
  return names;
}

namespace {

const op_entry* find_op(std::string_view name) {
  for (const auto& op : op_table())
    if (op.name == name) return &op;
  return nullptr;
}

/// True if v holds a number without a JSON form; `pointer`, if given, then
/// names it. A literal beyond the double range (1e400) parses to infinity,
/// and a C++ host's call_json may hand in NaN: written out, either would
/// become null (in a context, null even deletes the key), and an operation
/// that canonicalizes only a part of the request would name the wrong
/// field. Every request is checked without a pointer (no string is built);
/// only a refused one is walked again for it.
bool find_non_finite(const boost::json::value& v, std::string* pointer) {
  if (v.is_double()) return !std::isfinite(v.get_double());
  const std::size_t at = pointer ? pointer->size() : 0;
  if (const auto* a = v.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (pointer) pointer->append("/").append(std::to_string(i));
      if (find_non_finite((*a)[i], pointer)) return true;
      if (pointer) pointer->resize(at);
    }
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      if (pointer) {
        pointer->push_back('/');
        for (char c : kv.key()) {   // RFC 6901 escaping
          if (c == '~') *pointer += "~0";
          else if (c == '/') *pointer += "~1";
          else pointer->push_back(c);
        }
      }
      if (find_non_finite(kv.value(), pointer)) return true;
      if (pointer) pointer->resize(at);
    }
  }
  return false;
}

/// Checks the request against the operation's schema and runs the handler.
std::string dispatch(engine::impl& e, std::string_view operation, const boost::json::value& request) {
  const op_entry* op = find_op(operation);
  if (!op) {
    boost::json::object d;
    d["operation"] = operation;
    boost::json::array known;
    for (const auto& o : op_table()) known.emplace_back(o.name);
    d["known"] = std::move(known);
    fail(errc::UNKNOWN_OPERATION, "no operation is named '" + std::string(operation) + "'", std::move(d));
  }
  if (find_non_finite(request, nullptr)) {
    std::string pointer;
    find_non_finite(request, &pointer);
    throw failure(error::at(errc::INVALID_REQUEST, pointer, "a finite number within the range of a double"));
  }
  const tool_definition* def = find_tool_definition(operation);
  if (def) {
    // The hot operations have a hand-written check equal to their schema
    // (request_check.hpp); the generic validator still decides, and names
    // the pointer, whenever that check does not say "valid".
    const std::optional<bool> fast = fast_request_check(operation, request);
    if (!(fast && *fast))
      if (auto v = json::validate(def->input_schema(), request)) throw failure(error::at(errc::INVALID_REQUEST, v->pointer, v->expected));
  } else if (!request.is_object()) {
    throw failure(error::at(errc::INVALID_REQUEST, "", "a JSON object"));
  }
  return op->handler(e, request.as_object());
}

template <class F>
std::string guarded(F&& f) noexcept {
  try {
    try {
      return f();
    } catch (const failure& fl) {
      return error_text(fl.err());
    } catch (const std::bad_alloc&) {
      return error_text(error::make(errc::OUT_OF_MEMORY, ""));
    } catch (const std::exception& ex) {
      return error_text(error::make(errc::INTERNAL, std::string("internal error: ") + ex.what()));
    } catch (...) {
      return error_text(error::make(errc::INTERNAL, "internal error"));
    }
  } catch (...) {
    // Even building the error text failed (memory is gone): a fixed reply.
    return R"({"error":{"code":"OUT_OF_MEMORY","numericCode":5009,"message":"memory ran out; the operation wrote nothing","retry":{"kind":"retryable_immediate"}}})";
  }
}

}  // namespace

namespace {

/// The memory of one parsed request: a monotonic arena whose first block
/// is part of the arena object (small enough for malloc's per-thread
/// cache), so a typical request (two tokens, notes, a few members: about a
/// dozen keys, strings and objects, a heap block each otherwise) costs one
/// allocation. Shared (reference-counted), so a value a handler copies out
/// of the request keeps the arena alive instead of dangling: Boost.JSON
/// copies take the source's memory resource.
class request_arena final : public boost::json::memory_resource {
  alignas(std::max_align_t) unsigned char first_[768];
  boost::json::monotonic_resource arena_{first_, sizeof first_};

  void* do_allocate(std::size_t n, std::size_t align) override { return arena_.allocate(n, align); }
  void do_deallocate(void*, std::size_t, std::size_t) override {}  // freed with the arena
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override { return this == &other; }
};

}  // namespace

std::string engine::call(std::string_view operation, std::string_view request_json) noexcept {
  return guarded([&] {
    // An export bundle carries the values of the requests it records five
    // levels deeper than those requests did ({bundle: {events: [{data:
    // {spec: {context}}}]}}): import_session allows that much more, so a
    // bundle exported under the same limits always imports.
    json_limits limits = impl_->limits.json;
    if (operation == "import_session") limits.max_depth += 8;
    auto parsed = parse_json(request_json, limits, boost::json::make_shared_resource<request_arena>());
    if (!parsed) throw failure(std::move(parsed).error());
    return dispatch(*impl_, operation, *parsed);
  });
}

boost::json::value engine::call_json(std::string_view operation, const boost::json::value& request) noexcept {
  std::string text = guarded([&] { return dispatch(*impl_, operation, request); });
  try {
    return parse_json_text(text);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace tokenrail
