// The C ABI (capi/tokenrail.h) over tokenrail::engine.
//
// Three pieces:
//   * api_guard: the one guard every status-returning entry point runs in.
//     It clears the thread's last error, turns every exception into a
//     status plus a last error, and so no exception ever crosses the ABI.
//   * the handle table: tokenrail_engine* values are ids into a table, not
//     addresses, and ids are never reused. A call with a closed handle
//     finds no entry and returns TOKENRAIL_ERR_CLOSED; it never touches
//     freed memory, whatever the host does.
//   * an in-flight count per engine, so close waits for calls already
//     running and refuses the ones that start after it.
#include "tokenrail.h"

#include <tokenrail/engine/engine.hpp>
#include <tokenrail/error.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

// The header is the specification; the build system passes the project's
// version so that the two can never drift apart silently.
#if defined(TOKENRAIL_PROJECT_VERSION) && defined(TOKENRAIL_PROJECT_ABI_VERSION)
static_assert(std::string_view(TOKENRAIL_VERSION_STRING) == TOKENRAIL_PROJECT_VERSION,
              "tokenrail.h TOKENRAIL_VERSION_STRING differs from project(VERSION) in CMakeLists.txt");
static_assert(TOKENRAIL_ABI_VERSION == TOKENRAIL_PROJECT_ABI_VERSION,
              "tokenrail.h TOKENRAIL_ABI_VERSION differs from TOKENRAIL_ABI_VERSION in CMakeLists.txt");
#endif

namespace {

using tokenrail::errc;

// ---------------------------------------------------------------------------
// The thread-local last error.

// Used when even the text of an out-of-memory error cannot be allocated.
constexpr const char* oom_fallback =
    R"({"error":{"code":"OUT_OF_MEMORY","numericCode":5009,"message":"memory ran out",)"
    R"("retry":{"kind":"retryable_immediate"}}})";

struct last_error_slot {
  std::string text;
  const char* current = nullptr;  // text.c_str(), oom_fallback, or nullptr
};

thread_local last_error_slot last_error;

void clear_last_error() noexcept { last_error.current = nullptr; }

void set_last_error(const tokenrail::error& e) noexcept {
  try {
    last_error.text = boost::json::serialize(e.to_json());
    last_error.current = last_error.text.c_str();
  } catch (...) {
    last_error.current = oom_fallback;
  }
}

// A failure of the call itself (not an error as data): the status to
// return, and what the last error says about it. Thrown inside api_guard.
struct call_failure {
  tokenrail_status status;
  tokenrail::error error;
};

[[noreturn]] void fail_call(tokenrail_status status, errc code, std::string message,
                            boost::json::value details = nullptr) {
  throw call_failure{status, tokenrail::error::make(code, std::move(message), std::move(details))};
}

[[noreturn]] void fail_null(const char* function, const char* argument) {
  boost::json::object details;
  details["argument"] = argument;
  fail_call(TOKENRAIL_ERR_INVALID_ARGUMENT, errc::INVALID_ARGUMENT,
            std::string(function) + ": " + argument + " is NULL", std::move(details));
}

[[noreturn]] void fail_closed(const char* function) {
  fail_call(TOKENRAIL_ERR_CLOSED, errc::ENGINE_CLOSED,
            std::string(function) + ": the engine handle is closed or was never opened");
}

// The one guard of every status-returning entry point.
template <class Body>
tokenrail_status api_guard(Body&& body) noexcept {
  clear_last_error();
  try {
    return body();
  } catch (call_failure& f) {
    set_last_error(f.error);
    return f.status;
  } catch (const std::bad_alloc&) {
    last_error.current = oom_fallback;
    return TOKENRAIL_ERR_NO_MEMORY;
  } catch (const tokenrail::failure& f) {
    // The engine reports through errors as data; a failure that escaped it
    // is a broken invariant, but its error still says what went wrong.
    set_last_error(f.err());
    return f.err().code == errc::OUT_OF_MEMORY ? TOKENRAIL_ERR_NO_MEMORY : TOKENRAIL_ERR_INTERNAL;
  } catch (const std::exception& e) {
    try {
      set_last_error(tokenrail::error::make(errc::INTERNAL, std::string("internal error: ") + e.what()));
    } catch (...) {
      last_error.current = oom_fallback;
      return TOKENRAIL_ERR_NO_MEMORY;
    }
    return TOKENRAIL_ERR_INTERNAL;
  } catch (...) {
    try {
      set_last_error(tokenrail::error::make(errc::INTERNAL, "internal error: unknown exception"));
    } catch (...) {
      last_error.current = oom_fallback;
      return TOKENRAIL_ERR_NO_MEMORY;
    }
    return TOKENRAIL_ERR_INTERNAL;
  }
}

// ---------------------------------------------------------------------------
// Engines and the handle table.

struct engine_slot {
  explicit engine_slot(std::unique_ptr<tokenrail::engine> e) : engine(std::move(e)) {}

  std::unique_ptr<tokenrail::engine> engine;
  std::mutex mu;
  std::condition_variable idle;
  int in_flight = 0;     // calls running now; guarded by mu
  bool closing = false;  // close has begun; guarded by mu
};

class handle_table {
 public:
  tokenrail_engine* insert(std::unique_ptr<tokenrail::engine> e) {
    auto slot = std::make_shared<engine_slot>(std::move(e));
    std::unique_lock lock(mu_);
    const std::uintptr_t id = next_id_++;
    live_.emplace(id, std::move(slot));
    return reinterpret_cast<tokenrail_engine*>(id);
  }

  std::shared_ptr<engine_slot> find(tokenrail_engine* handle) const {
    std::shared_lock lock(mu_);
    auto it = live_.find(reinterpret_cast<std::uintptr_t>(handle));
    return it == live_.end() ? nullptr : it->second;
  }

  std::shared_ptr<engine_slot> remove(tokenrail_engine* handle) {
    std::unique_lock lock(mu_);
    auto it = live_.find(reinterpret_cast<std::uintptr_t>(handle));
    if (it == live_.end()) return nullptr;
    auto slot = std::move(it->second);
    live_.erase(it);
    return slot;
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::uintptr_t, std::shared_ptr<engine_slot>> live_;
  // Never reused: a stale handle can never name a newer engine. Starts
  // high so that a small integer passed by mistake is not a live handle.
  std::uintptr_t next_id_ = 0x7000;
};

// Allocated once and never destroyed: an engine the host forgot to close
// must not be torn down by static destructors while other threads (or
// atexit handlers of the host) may still call in. It stays reachable, so
// leak checkers do not report it.
handle_table& handles() {
  static handle_table* table = new handle_table;
  return *table;
}

// Counts one call in flight for as long as it lives; close waits for zero.
class in_flight_call {
 public:
  explicit in_flight_call(engine_slot& slot) : slot_(slot) {
    std::lock_guard lock(slot_.mu);
    if (slot_.closing) return;
    ++slot_.in_flight;
    admitted_ = true;
  }
  ~in_flight_call() {
    if (!admitted_) return;
    std::lock_guard lock(slot_.mu);
    if (--slot_.in_flight == 0 && slot_.closing) slot_.idle.notify_all();
  }
  in_flight_call(const in_flight_call&) = delete;
  in_flight_call& operator=(const in_flight_call&) = delete;
  bool admitted() const noexcept { return admitted_; }

 private:
  engine_slot& slot_;
  bool admitted_ = false;
};

// ---------------------------------------------------------------------------
// Strings.

std::string_view input_text(const char* text, std::size_t len) {
  return len == TOKENRAIL_NUL_TERMINATED ? std::string_view(text) : std::string_view(text, len);
}

// RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    std::size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++p;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i <= n; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += n + 1;
  }
  return true;
}

// Whether a response is an error as data: {"error": ...} is the only shape
// whose first member is "error" (success responses never carry one).
bool is_error_response(std::string_view r) noexcept {
  auto skip_ws = [&](std::size_t i) {
    while (i < r.size() && (r[i] == ' ' || r[i] == '\n' || r[i] == '\r' || r[i] == '\t')) ++i;
    return i;
  };
  std::size_t i = skip_ws(0);
  if (i >= r.size() || r[i] != '{') return false;
  i = skip_ws(i + 1);
  constexpr std::string_view key = "\"error\"";
  if (r.substr(i, key.size()) != key) return false;
  i = skip_ws(i + key.size());
  return i < r.size() && r[i] == ':';
}

// Hands a response to the caller in memory that tokenrail_string_free frees.
char* copy_out(std::string_view text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return out;
}

std::string error_response(errc code, std::string message, boost::json::value details = nullptr) {
  return boost::json::serialize(tokenrail::error::make(code, std::move(message), std::move(details)).to_json());
}

}  // namespace

// ---------------------------------------------------------------------------
// The entry points.

extern "C" {

TOKENRAIL_API const char* tokenrail_version(void) { return TOKENRAIL_VERSION_STRING; }

TOKENRAIL_API int tokenrail_abi_version(void) { return TOKENRAIL_ABI_VERSION; }

TOKENRAIL_API const char* tokenrail_status_name(tokenrail_status status) {
  switch (status) {
    case TOKENRAIL_OK: return "TOKENRAIL_OK";
    case TOKENRAIL_ERR_RESPONSE: return "TOKENRAIL_ERR_RESPONSE";
    case TOKENRAIL_ERR_INVALID_ARGUMENT: return "TOKENRAIL_ERR_INVALID_ARGUMENT";
    case TOKENRAIL_ERR_CLOSED: return "TOKENRAIL_ERR_CLOSED";
    case TOKENRAIL_ERR_NO_MEMORY: return "TOKENRAIL_ERR_NO_MEMORY";
    case TOKENRAIL_ERR_OPEN_FAILED: return "TOKENRAIL_ERR_OPEN_FAILED";
    case TOKENRAIL_ERR_INTERNAL: return "TOKENRAIL_ERR_INTERNAL";
  }
  return "TOKENRAIL_UNKNOWN_STATUS";
}

TOKENRAIL_API const char* tokenrail_last_error(void) { return last_error.current; }

TOKENRAIL_API tokenrail_status tokenrail_engine_open(tokenrail_engine** out_engine, const char* config_json,
                                                     size_t config_len) {
  return api_guard([&] {
    if (!out_engine) fail_null("tokenrail_engine_open", "out_engine");
    *out_engine = nullptr;
    if (!config_json) fail_null("tokenrail_engine_open", "config_json");
    auto opened = tokenrail::engine::open(input_text(config_json, config_len));
    if (!opened) {
      set_last_error(opened.error());
      return opened.error().code == errc::OUT_OF_MEMORY ? TOKENRAIL_ERR_NO_MEMORY : TOKENRAIL_ERR_OPEN_FAILED;
    }
    *out_engine = handles().insert(std::move(opened).value());
    return TOKENRAIL_OK;
  });
}

TOKENRAIL_API tokenrail_status tokenrail_engine_close(tokenrail_engine* engine) {
  return api_guard([&] {
    if (!engine) return TOKENRAIL_OK;
    auto slot = handles().remove(engine);
    if (!slot) fail_closed("tokenrail_engine_close");
    {
      std::unique_lock lock(slot->mu);
      slot->closing = true;
      slot->idle.wait(lock, [&] { return slot->in_flight == 0; });
    }
    slot->engine.reset();
    return TOKENRAIL_OK;
  });
}

TOKENRAIL_API tokenrail_status tokenrail_call(tokenrail_engine* engine, const char* operation,
                                              const char* request_json, size_t request_len, char** out_response,
                                              size_t* out_len) {
  if (out_response) *out_response = nullptr;
  if (out_len) *out_len = 0;
  return api_guard([&] {
    if (!out_response) fail_null("tokenrail_call", "out_response");
    if (!engine) fail_null("tokenrail_call", "engine");
    if (!operation) fail_null("tokenrail_call", "operation");
    if (!request_json) fail_null("tokenrail_call", "request_json");

    auto slot = handles().find(engine);
    if (!slot) fail_closed("tokenrail_call");
    in_flight_call call(*slot);
    if (!call.admitted()) fail_closed("tokenrail_call");

    const std::string_view op(operation);
    std::string response;
    if (!is_valid_utf8(op)) {
      boost::json::object details;
      details["argument"] = "operation";
      response = error_response(errc::INVALID_UTF8, "the operation name is not valid UTF-8", std::move(details));
    } else {
      response = slot->engine->call(op, input_text(request_json, request_len));
    }
    *out_response = copy_out(response);
    if (out_len) *out_len = response.size();
    return is_error_response(response) ? TOKENRAIL_ERR_RESPONSE : TOKENRAIL_OK;
  });
}

TOKENRAIL_API void tokenrail_string_free(char* str) { std::free(str); }

TOKENRAIL_API const char* tokenrail_operations(void) {
  try {
    static const std::string names = [] {
      boost::json::array list;
      for (auto name : tokenrail::engine::operations()) list.emplace_back(name);
      return boost::json::serialize(list);
    }();
    return names.c_str();
  } catch (...) {
    return nullptr;  // the next call tries again
  }
}

}  // extern "C"
