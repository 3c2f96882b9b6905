// The engine: the operations of D6 over a store (D9), JSON in, JSON out.
//
// One engine serves many threads at once. It starts no threads of its own;
// the host owns the clock (see options::clock and expire_callbacks).
#pragma once

#include <tokenrail/error.hpp>
#include <tokenrail/json_parse.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail {

/// Milliseconds since the Unix epoch.
using clock_fn = std::function<std::int64_t()>;

class engine {
 public:
  /// Opens an engine from a JSON config (D10), for example
  ///   {"store": {"backend": "lmdb", "path": "/var/lib/app/tr",
  ///              "durability": "durable"},
  ///    "workflows": ["./workflows"],
  ///    "limits": {"maxRequestBytes": 1048576, "maxDepth": 64},
  ///    "keyring": {"path": "...", "secret": "<64 hex>"}}
  /// "store.backend" is "memory" (default) or "lmdb". Limits: maxDepth 4..512
  /// (default 64), maxRequestBytes 64..2^30 (1 MiB), maxNotesBytes 0..2^30
  /// (256 KiB); import_session accepts 8 levels more than maxDepth (a
  /// bundle nests what it carries deeper). Errors: INVALID_CONFIG
  /// (with the JSON pointer), WORKFLOW_* for bad workflow files, STORE_*,
  /// KEYRING_ERROR.
  static result<std::unique_ptr<engine>> open(std::string_view config_json, clock_fn clock = {});
  static result<std::unique_ptr<engine>> open(const boost::json::value& config, clock_fn clock = {});

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine();

  /// Runs one operation of D6. Never throws: failures come back as
  /// {"error": {...}} (errors as data). The text returned for a replayed
  /// advance is byte-identical to the first response.
  std::string call(std::string_view operation, std::string_view request_json) noexcept;

  /// The same, for hosts that already hold a parsed request. Returns the
  /// response parsed (the byte-identical text is only guaranteed by call()).
  boost::json::value call_json(std::string_view operation, const boost::json::value& request) noexcept;

  /// Names of every operation call() accepts.
  static const std::vector<std::string_view>& operations() noexcept;

  struct impl;
  /// The engine's internals (src/engine/context.hpp), for the library's own
  /// modules and tests (verify, white-box checks); not part of the stable API.
  impl& internals() noexcept { return *impl_; }

 private:
  explicit engine(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenrail
