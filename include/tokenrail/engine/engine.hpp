// The engine: the operations of D6 over a store (D9), JSON in, JSON out.
//
// One engine serves many threads at once: call(), call_json() and
// operations() may run concurrently on one engine. It starts no threads of
// its own; the host owns the clock (the clock argument of open(), and
// expire_callbacks). The engine must outlive every call made on it.
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

/// Milliseconds since the Unix epoch. The engine keeps its copy and calls
/// it from whichever threads call it, so it must be thread-safe and must
/// not throw; empty: the system clock.
using clock_fn = std::function<std::int64_t()>;

class engine {
 public:
  /// Opens an engine from a JSON config (D10), for example
  ///   {"store": {"backend": "lmdb", "path": "/var/lib/app/tr",
  ///              "durability": "durable"},
  ///    "workflows": ["./workflows"],
  ///    "limits": {"maxRequestBytes": 1048576, "maxDepth": 64},
  ///    "keyring": {"path": "...", "secret": "<64 hex>"}}
  /// "store.backend" is "memory" (default) or "lmdb" (then "store.path" is
  /// required); also store.durability, readOnly, mapSizeBytes,
  /// maxMapSizeBytes, "definitions" (inline workflow objects) and
  /// "invalidWorkflowFiles" ("fail", the default: a workflow file that
  /// cannot be loaded fails the open; "skip": it is left out, and
  /// list_workflows reports it under skippedFiles). The
  /// fields, defaults and keyring rules are those of tokenrail_engine_open
  /// in capi/tokenrail.h. Unknown fields are refused. Limits: maxDepth
  /// 4..512 (default 64), maxRequestBytes 64..2^30 (1 MiB), maxNotesBytes
  /// 0..2^30 (256 KiB); import_session accepts 8 levels more than maxDepth
  /// (a bundle nests what it carries deeper). Never throws.
  /// Errors: INVALID_CONFIG (details.pointer for a bad field; config text
  /// that is not JSON, not UTF-8, over 8 MiB or 64 levels: its parse error
  /// recast as INVALID_CONFIG), errors of workflow files (unless skipped)
  /// and definitions
  /// (INVALID_JSON, INVALID_UTF8, NESTING_TOO_DEEP, PAYLOAD_TOO_LARGE,
  /// WORKFLOW_*, TEMPLATE_ARG_MISSING, with details.file), STORE_* and
  /// STORAGE_ERROR (details.path), KEYRING_ERROR (details.path),
  /// OUT_OF_MEMORY, INTERNAL (libsodium cannot start).
  static result<std::unique_ptr<engine>> open(std::string_view config_json, clock_fn clock = {});
  static result<std::unique_ptr<engine>> open(const boost::json::value& config, clock_fn clock = {});

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine();

  /// Runs one operation of D6. Never throws: failures come back as
  /// {"error": {...}} (errors as data; a failed operation writes nothing
  /// to the store). The text returned for a replayed advance is
  /// byte-identical to the first response. request_json is only read
  /// during the call. Errors before the operation runs, in this order:
  /// PAYLOAD_TOO_LARGE, NESTING_TOO_DEEP, INVALID_UTF8, INVALID_JSON (the
  /// config's limits), UNKNOWN_OPERATION, INVALID_REQUEST (the request
  /// against the operation's schema in tool_definitions(), or a number
  /// beyond the range of a double); then the operation's own.
  /// OUT_OF_MEMORY when memory runs out. Thread-safe.
  std::string call(std::string_view operation, std::string_view request_json) noexcept;

  /// The same, for hosts that already hold a parsed request. Returns the
  /// response parsed (the byte-identical text is only guaranteed by call()),
  /// or null if memory ran out parsing it. The config's maxRequestBytes
  /// and maxDepth are not applied: `request` is trusted to be bounded (the
  /// checks recurse through it). NaN or ±Infinity anywhere in it is
  /// INVALID_REQUEST naming its pointer. Never throws. Thread-safe.
  boost::json::value call_json(std::string_view operation, const boost::json::value& request) noexcept;

  /// Names of every operation call() accepts, in a fixed order. Built once;
  /// the reference stays valid for the process lifetime. Thread-safe.
  /// Throws std::bad_alloc if memory runs out building it on the first
  /// call (a later call tries again).
  static const std::vector<std::string_view>& operations();

  struct impl;
  /// The engine's internals (src/engine/context.hpp), for the library's own
  /// modules and tests (verify, white-box checks); not part of the stable API.
  impl& internals() noexcept { return *impl_; }

 private:
  explicit engine(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenrail
