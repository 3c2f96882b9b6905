/*
 * tokenrail.h -- the C ABI of tokenrail.
 *
 * tokenrail runs agent-driven workflows through opaque, server-minted
 * tokens. A host links libtokenrail, opens one engine over a store and
 * sends it operations: JSON text in, JSON text out.
 *
 * This header is the specification of the C interface. It is C99 and
 * C++ compatible and depends only on <stddef.h>.
 *
 * ## The model
 *
 *   tokenrail_engine* engine = NULL;
 *   if (tokenrail_engine_open(&engine, config, TOKENRAIL_NUL_TERMINATED) != TOKENRAIL_OK) {
 *     fprintf(stderr, "%s\n", tokenrail_last_error());   // {"error": {...}}
 *     return 1;
 *   }
 *   char* response = NULL;
 *   tokenrail_status st = tokenrail_call(engine, "start_workflow",
 *       "{\"workflowId\": \"demo\"}", TOKENRAIL_NUL_TERMINATED, &response, NULL);
 *   if (st == TOKENRAIL_OK || st == TOKENRAIL_ERR_RESPONSE) {
 *     puts(response);                  // success, or an error as data
 *     tokenrail_string_free(response);
 *   }
 *   tokenrail_engine_close(engine);
 *
 * ## Two kinds of failure
 *
 * 1. Errors as data. The operation ran and said no (a bad token, a missing
 *    field, an unknown workflow...). tokenrail_call returns
 *    TOKENRAIL_ERR_RESPONSE and the response text is
 *      {"error": {"code": "TOKEN_INVALID", "numericCode": 2004,
 *                 "message": "...", "retry": {"kind": "not_retryable"},
 *                 "details": {...}}}
 *    Numeric families: 1xxx request, 2xxx token, 3xxx workflow definition,
 *    4xxx run state, 5xxx storage and internal. The codes are listed in the
 *    documentation of the operations and never change meaning.
 *
 * 2. Failures of the call itself: a NULL argument, a closed engine, memory
 *    that ran out, an engine that could not be opened. The function returns
 *    a status other than TOKENRAIL_OK / TOKENRAIL_ERR_RESPONSE and
 *    tokenrail_last_error() describes it, in the same {"error": {...}} shape
 *    (codes INVALID_ARGUMENT 1010, ENGINE_CLOSED 5011, OUT_OF_MEMORY 5009,
 *    INTERNAL 5010, or the engine's own code for a failed open).
 *
 * No C++ exception ever leaves the library. No function aborts the process
 * on bad input.
 *
 * ## Strings
 *
 * Every input string is passed as a pointer and a length in bytes; the
 * length TOKENRAIL_NUL_TERMINATED means "up to the first NUL". Inputs are
 * UTF-8 JSON text. Invalid UTF-8 or text that is not JSON is not a status:
 * the engine answers with an error as data (INVALID_UTF8 1006,
 * INVALID_JSON 1001), so the host learns the byte offset of the problem.
 * Inputs are only read during the call; the library keeps no pointer to them.
 *
 * Every string returned through an out parameter is owned by the caller,
 * NUL-terminated, UTF-8 JSON, and must be released with
 * tokenrail_string_free (never free(): the library may use another
 * allocator than the host).
 *
 * ## Threads
 *
 * An engine handle may be used from any number of threads at once; the
 * engine serialises what must be serialised. The library starts no threads.
 * tokenrail_last_error() is per thread.
 */
#ifndef TOKENRAIL_H
#define TOKENRAIL_H

#include <stddef.h>

/*
 * TOKENRAIL_API marks the functions exported from libtokenrail; every other
 * symbol of the library is hidden. Consumers of a static libtokenrail
 * define TOKENRAIL_STATIC (the CMake target and tokenrail.pc do it).
 */
#if defined(TOKENRAIL_STATIC)
#define TOKENRAIL_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#if defined(TOKENRAIL_BUILDING_LIBRARY)
#define TOKENRAIL_API __declspec(dllexport)
#else
#define TOKENRAIL_API __declspec(dllimport)
#endif
#elif defined(TOKENRAIL_BUILDING_LIBRARY) && defined(__GNUC__)
#define TOKENRAIL_API __attribute__((visibility("default")))
#else
#define TOKENRAIL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Versions
 * --------------------------------------------------------------------- */

/* The version of the tokenrail release this header belongs to. */
#define TOKENRAIL_VERSION_MAJOR 0
#define TOKENRAIL_VERSION_MINOR 1
#define TOKENRAIL_VERSION_PATCH 0
#define TOKENRAIL_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define TOKENRAIL_VERSION_NUMBER \
  (TOKENRAIL_VERSION_MAJOR * 10000 + TOKENRAIL_VERSION_MINOR * 100 + TOKENRAIL_VERSION_PATCH)

/*
 * The ABI version: the SOVERSION of libtokenrail (libtokenrail.so.1). It
 * changes exactly when a program built against an older header could
 * misbehave with this library. A host may compare
 * tokenrail_abi_version() with this macro at start-up.
 */
#define TOKENRAIL_ABI_VERSION 1

/* Passed as a length: the string ends at its first NUL byte. */
#define TOKENRAIL_NUL_TERMINATED ((size_t)-1)

/*
 * The version of the library actually loaded, as "MAJOR.MINOR.PATCH".
 * Returns a static string: never NULL, never freed. Thread-safe. Does not
 * touch the last error.
 */
TOKENRAIL_API const char* tokenrail_version(void);

/*
 * The ABI version of the library actually loaded (see
 * TOKENRAIL_ABI_VERSION). Thread-safe. Does not touch the last error.
 */
TOKENRAIL_API int tokenrail_abi_version(void);

/* ------------------------------------------------------------------------
 * Status codes
 * --------------------------------------------------------------------- */

/*
 * What a function returned. The values are stable (part of the ABI); new
 * ones may be added, so treat an unknown value like TOKENRAIL_ERR_INTERNAL.
 */
typedef enum tokenrail_status {
  /* Success. For tokenrail_call: the response is a success response. */
  TOKENRAIL_OK = 0,
  /* tokenrail_call only: the operation ran and its response is an error as
   * data ({"error": {...}}). The response is returned and must be freed. */
  TOKENRAIL_ERR_RESPONSE = 1,
  /* A required pointer was NULL, or an argument is otherwise unusable
   * (last error code INVALID_ARGUMENT, details.argument names it). */
  TOKENRAIL_ERR_INVALID_ARGUMENT = 2,
  /* The engine handle was closed (or was never returned by
   * tokenrail_engine_open). Last error code ENGINE_CLOSED. */
  TOKENRAIL_ERR_CLOSED = 3,
  /* Memory ran out. Nothing was written. Last error code OUT_OF_MEMORY, or
   * no last error at all if even that could not be allocated. */
  TOKENRAIL_ERR_NO_MEMORY = 4,
  /* tokenrail_engine_open failed; the last error holds the engine's error
   * as data (INVALID_CONFIG, WORKFLOW_*, STORE_*, KEYRING_ERROR...). */
  TOKENRAIL_ERR_OPEN_FAILED = 5,
  /* An internal invariant failed. Nothing was written. Last error code
   * INTERNAL. Please report it. */
  TOKENRAIL_ERR_INTERNAL = 6
} tokenrail_status;

/*
 * A static, human-readable name for a status ("TOKENRAIL_ERR_CLOSED"), or
 * "TOKENRAIL_UNKNOWN_STATUS". Never NULL, never freed. Thread-safe. Does
 * not touch the last error.
 */
TOKENRAIL_API const char* tokenrail_status_name(tokenrail_status status);

/* ------------------------------------------------------------------------
 * The last error
 * --------------------------------------------------------------------- */

/*
 * Describes why the last failed call made on THIS thread failed, as JSON
 * text {"error": {"code", "numericCode", "message", "retry", "details"?}}.
 *
 * Every function that returns a tokenrail_status clears the last error
 * when it starts and sets it when it returns a status other than
 * TOKENRAIL_OK and TOKENRAIL_ERR_RESPONSE (the response itself carries that
 * error). Returns NULL when the last such call succeeded, or when no call
 * was made on this thread yet.
 *
 * The string is owned by the library: do not free it. It stays valid until
 * the next call on this thread of a function that returns a
 * tokenrail_status, or until the thread exits; copy it to keep it.
 */
TOKENRAIL_API const char* tokenrail_last_error(void);

/* ------------------------------------------------------------------------
 * Engines
 * --------------------------------------------------------------------- */

/*
 * An open engine: a store, the loaded workflow definitions and the keyring.
 * Opaque. The pointer is a handle, not necessarily an address: never
 * dereference it, compare it only with NULL.
 */
typedef struct tokenrail_engine tokenrail_engine;

/*
 * Opens an engine from a JSON configuration:
 *
 *   {"store": {"backend": "memory" | "lmdb", "path": "/var/lib/app/tr",
 *              "durability": "durable" | "relaxed"},
 *    "workflows": ["./workflows", ...],      directories scanned recursively
 *    "definitions": [{...workflow...}, ...],   definitions given inline
 *    "limits": {"maxRequestBytes": 1048576, "maxDepth": 64},
 *    "keyring": {"path": "...", "secret": "<64 hex digits>"}}
 *
 * Every field is optional: "{}" opens an engine over a memory store.
 * Limits (defaults, bounds): maxRequestBytes 1 MiB (64 .. 1 GiB), maxDepth
 * 64 (4 .. 512), maxNotesBytes 256 KiB (0 .. 1 GiB); store.mapSizeBytes
 * and store.maxMapSizeBytes at most 2^46. A value out of bounds is refused
 * (INVALID_CONFIG naming its pointer), never clamped.
 *
 * out_engine   receives the new handle on TOKENRAIL_OK, NULL otherwise.
 *              Must not be NULL.
 * config_json  the configuration, config_len bytes (or NUL-terminated when
 *              config_len is TOKENRAIL_NUL_TERMINATED). Must not be NULL.
 *              Only read during the call.
 *
 * Returns
 *   TOKENRAIL_OK                    *out_engine is an open engine; close it
 *                                   with tokenrail_engine_close.
 *   TOKENRAIL_ERR_INVALID_ARGUMENT  out_engine or config_json is NULL.
 *   TOKENRAIL_ERR_OPEN_FAILED       the engine refused the configuration or
 *                                   could not open its store; the last
 *                                   error is the engine's error as data
 *                                   (for example INVALID_CONFIG with
 *                                   details.pointer, INVALID_JSON,
 *                                   INVALID_UTF8, STORE_CORRUPT, STORE_BUSY,
 *                                   WORKFLOW_INVALID, KEYRING_ERROR).
 *   TOKENRAIL_ERR_NO_MEMORY         memory ran out.
 *   TOKENRAIL_ERR_INTERNAL          an internal invariant failed.
 *
 * Thread-safe: engines may be opened from any thread. Open one engine per
 * store path within a process and share it between threads (LMDB, the
 * embedded backend, does not support one environment opened twice in one
 * process; several processes on one store are fine).
 */
TOKENRAIL_API tokenrail_status tokenrail_engine_open(tokenrail_engine** out_engine,
                                                     const char* config_json, size_t config_len);

/*
 * Closes an engine and releases everything it holds (store, keyring,
 * definitions). Committed work is already durable as the store's
 * durability setting says; close adds nothing to it.
 *
 * Concurrent callers: calls already running on other threads finish
 * normally and close waits for them to return; calls that begin after
 * close has begun return TOKENRAIL_ERR_CLOSED. After close returns, the
 * handle is dead for good: handles are never reused within a process, so
 * any later call with it (including a second close) reliably returns
 * TOKENRAIL_ERR_CLOSED instead of touching freed memory.
 *
 * Do not call it from inside another tokenrail call on the same engine
 * (the library makes no callbacks, so this only matters for signal
 * handlers: close is not async-signal-safe).
 *
 * Returns
 *   TOKENRAIL_OK            the engine was open and is now closed; also
 *                           for engine == NULL (a no-op, like free(NULL)).
 *   TOKENRAIL_ERR_CLOSED    the handle was already closed, or never was an
 *                           engine handle.
 *   TOKENRAIL_ERR_INTERNAL  an internal invariant failed while releasing
 *                           the engine; the handle is closed nonetheless.
 */
TOKENRAIL_API tokenrail_status tokenrail_engine_close(tokenrail_engine* engine);

/*
 * Runs one operation on an engine: JSON request in, JSON response out.
 * Operations and their request/response shapes are those of the tokenrail
 * contract: list_workflows, inspect_workflow, start_workflow,
 * continue_workflow, checkpoint_workflow, resume_session, get_run,
 * cancel_run, suspend_step, complete_step, expire_callbacks,
 * export_session, import_session, rotate_key (tokenrail_operations()
 * lists them). A replayed advance returns a response byte-identical to
 * the first one.
 *
 * engine        an open engine.
 * operation     NUL-terminated operation name. Must not be NULL. An unknown
 *               name is an error as data (UNKNOWN_OPERATION 1003), a name
 *               that is not UTF-8 too (INVALID_UTF8 1006).
 * request_json  the request, request_len bytes (or NUL-terminated when
 *               request_len is TOKENRAIL_NUL_TERMINATED). Must not be NULL.
 *               Zero bytes, text that is not JSON, or invalid UTF-8 are
 *               errors as data (INVALID_JSON 1001, INVALID_UTF8 1006).
 * out_response  receives the response on TOKENRAIL_OK and
 *               TOKENRAIL_ERR_RESPONSE: NUL-terminated UTF-8 JSON owned by
 *               the caller, released with tokenrail_string_free. Set to
 *               NULL on every other status. Must not be NULL.
 * out_len       if not NULL, receives the response's length in bytes
 *               (without the NUL), or 0 when *out_response is NULL.
 *
 * Returns
 *   TOKENRAIL_OK                    the operation succeeded.
 *   TOKENRAIL_ERR_RESPONSE          the operation failed; *out_response is
 *                                   its error as data {"error": {...}}.
 *                                   A failed operation wrote nothing.
 *   TOKENRAIL_ERR_INVALID_ARGUMENT  engine, operation, request_json or
 *                                   out_response is NULL.
 *   TOKENRAIL_ERR_CLOSED            the engine is closed or closing.
 *   TOKENRAIL_ERR_NO_MEMORY         memory ran out; nothing was written.
 *   TOKENRAIL_ERR_INTERNAL          an internal invariant failed.
 *
 * Thread-safe: any number of threads may call on one engine at once.
 */
TOKENRAIL_API tokenrail_status tokenrail_call(tokenrail_engine* engine, const char* operation,
                                              const char* request_json, size_t request_len,
                                              char** out_response, size_t* out_len);

/*
 * Releases a string returned by tokenrail_call. NULL is a no-op. Each
 * string must be freed exactly once, from any thread. Does not touch the
 * last error.
 */
TOKENRAIL_API void tokenrail_string_free(char* str);

/*
 * The names of every operation tokenrail_call accepts, as a JSON array of
 * strings (["list_workflows", ...]). A static string owned by the library,
 * valid until the library is unloaded: do not free it. Thread-safe. Returns
 * NULL only if memory ran out building it on the first call. Does not
 * touch the last error.
 */
TOKENRAIL_API const char* tokenrail_operations(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TOKENRAIL_H */
