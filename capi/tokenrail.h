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
 *    4xxx run state, 5xxx storage and internal. A code never changes name,
 *    number or meaning; new codes may be added, so treat an unknown code by
 *    its family and its retry advice. The registry (one line of meaning per
 *    code) is include/tokenrail/error_codes.hpp; the codes are:
 *      1001 INVALID_JSON        1002 INVALID_REQUEST (details.pointer, .expected)
 *      1003 UNKNOWN_OPERATION   1004 PAYLOAD_TOO_LARGE  1005 NESTING_TOO_DEEP
 *      1006 INVALID_UTF8        1007 INVALID_CONFIG     1008 INVALID_BUNDLE
 *      1009 OUTPUT_REJECTED     1010 INVALID_ARGUMENT (last error only)
 *      2001 TOKEN_MALFORMED     2002 TOKEN_UNSUPPORTED_VERSION
 *      2003 TOKEN_WRONG_KIND    2004 TOKEN_INVALID      2005 TOKEN_UNKNOWN_KEY
 *      2006 TOKEN_KEY_RETIRED   2007 TOKEN_SCOPE_MISMATCH 2008 ACK_ALREADY_USED
 *      3001 WORKFLOW_NOT_FOUND  3002 WORKFLOW_INVALID   3003 WORKFLOW_DUPLICATE_ID
 *      3004 WORKFLOW_RECURSIVE  3005 WORKFLOW_DANGLING_REF
 *      3006 TEMPLATE_ARG_MISSING 3007 PINNED_WORKFLOW_MISSING
 *      4001 RUN_NOT_FOUND       4002 SESSION_NOT_FOUND  4003 NODE_NOT_FOUND
 *      4004 RUN_COMPLETE        4005 RUN_CANCELLED      4006 STEP_SUSPENDED
 *      4007 STEP_NOT_SUSPENDED  4008 CALLBACK_ALREADY_RESOLVED
 *      4009 CONFIRMATION_REQUIRED
 *      5001 STORAGE_ERROR       5002 STORE_CORRUPT      5003 STORE_READ_ONLY
 *      5004 STORE_VERSION_UNSUPPORTED 5005 STORE_BUSY   5006 STORE_FULL
 *      5007 KEYRING_ERROR       5008 VERIFY_FAILED      5009 OUT_OF_MEMORY
 *      5010 INTERNAL            5011 ENGINE_CLOSED (last error only)
 *    retry.kind is "not_retryable" for every code except STORAGE_ERROR and
 *    OUT_OF_MEMORY ("retryable_immediate") and STORE_BUSY
 *    ("retryable_after_ms", with retry.afterMs).
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
 * length TOKENRAIL_NUL_TERMINATED means "up to the first NUL". With any
 * other length the bytes need not be NUL-terminated, and a NUL inside them
 * is just a byte (not JSON, so an error). Inputs are UTF-8 JSON text.
 * Invalid UTF-8 or text that is not JSON is not a status of tokenrail_call:
 * the engine answers with an error as data (INVALID_UTF8 1006,
 * INVALID_JSON 1001, details.offset = the byte offset of the problem).
 * tokenrail_engine_open reports the same problems in its configuration as
 * TOKENRAIL_ERR_OPEN_FAILED with INVALID_CONFIG (see there).
 * Inputs are only read during the call; the library keeps no pointer to them.
 *
 * Every string returned through an out parameter is owned by the caller,
 * NUL-terminated, UTF-8 JSON, and must be released with
 * tokenrail_string_free (never free(): the library may use another
 * allocator than the host). Strings returned as a function's value
 * (tokenrail_version, tokenrail_status_name, tokenrail_last_error,
 * tokenrail_operations) are owned by the library and never freed.
 *
 * ## Threads
 *
 * Every function may be called from any thread. An engine handle may be
 * used from any number of threads at once; the engine serialises what must
 * be serialised. The library starts no threads and makes no callbacks.
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
  /* Memory ran out. Last error code OUT_OF_MEMORY, or no last error at all
   * if even that could not be allocated. Nothing was written, except that
   * tokenrail_call may report it after the operation completed (see
   * there). */
  TOKENRAIL_ERR_NO_MEMORY = 4,
  /* tokenrail_engine_open failed; the last error holds the engine's error
   * as data (INVALID_CONFIG, WORKFLOW_*, STORE_*, KEYRING_ERROR...). */
  TOKENRAIL_ERR_OPEN_FAILED = 5,
  /* An internal invariant failed. Nothing was written. Last error code
   * INTERNAL (or the code of the error that escaped). Please report it. */
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
 * error). Returns NULL when the last such call on this thread returned
 * TOKENRAIL_OK or TOKENRAIL_ERR_RESPONSE, or when no such call was made on
 * this thread yet. Functions that do not return a tokenrail_status leave it
 * as it is.
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
 *              "durability": "durable" | "relaxed", "readOnly": false,
 *              "mapSizeBytes": 67108864, "maxMapSizeBytes": 0},
 *    "workflows": ["./workflows", ...],      directories scanned recursively
 *    "definitions": [{...workflow...}, ...],   definitions given inline
 *    "invalidWorkflowFiles": "fail" | "skip",
 *    "limits": {"maxRequestBytes": 1048576, "maxDepth": 64,
 *               "maxNotesBytes": 262144},
 *    "keyring": {"path": "...", "secret": "<64 hex digits>"}}
 *
 * Every field is optional: "{}" opens an engine over a memory store.
 * An unknown field anywhere is refused (INVALID_CONFIG naming its pointer),
 * never ignored. store.backend defaults to "memory" (the other store.*
 * fields then have no effect); "lmdb" requires store.path, a directory
 * created if missing. durability defaults to "durable" (a returned
 * operation is on disk), "relaxed" may lose the last second of commits on
 * an OS crash or power loss. readOnly opens an existing store for reading
 * only (writing operations then answer STORE_READ_ONLY). mapSizeBytes is
 * the initial LMDB map (default 64 MiB, at least 1 MiB); the map grows by
 * itself up to maxMapSizeBytes (0, the default: no limit; then STORE_FULL).
 * invalidWorkflowFiles defaults to "fail": a workflow file that cannot be
 * read, parsed or compiled, or that shares its id with another file, fails
 * the open (the errors below). "skip" leaves such files out and opens with
 * the others; list_workflows then lists them under skippedFiles, each with
 * its error, and start_workflow or inspect_workflow of an id declared by
 * one answers WORKFLOW_NOT_FOUND with details.file and details.cause (the
 * file's error). Inline definitions and missing directories always fail.
 * Limits (defaults, bounds): maxRequestBytes 1 MiB (64 .. 1 GiB), maxDepth
 * 64 (4 .. 512; import_session allows 8 levels more), maxNotesBytes 256 KiB
 * (0 .. 1 GiB: the notesMarkdown of one continue_workflow,
 * checkpoint_workflow or complete_step, else PAYLOAD_TOO_LARGE naming its
 * pointer); store.mapSizeBytes and store.maxMapSizeBytes at most 2^46.
 * A value out of bounds is refused (INVALID_CONFIG naming its pointer),
 * never clamped. The configuration text itself may be at most 8 MiB and
 * nest at most 64 levels (inline definitions included).
 * Keyring, the secret that tokens are sealed with: keyring.secret if given
 * (rotate_key is then refused on an lmdb store: KEYRING_ERROR); else the
 * file keyring.path, or <store.path>/keyring.json for an lmdb store,
 * created with mode 0600 if missing and refused (KEYRING_ERROR) unless it
 * is a regular file of this user with mode 0600 or stricter; else (memory
 * store) a random key that dies with the engine, so its tokens are not
 * accepted by any other engine.
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
 *                                   error is the engine's error as data:
 *                                   INVALID_CONFIG for the configuration
 *                                   (text that is not JSON, not UTF-8, too
 *                                   deep: details.offset; over 8 MiB:
 *                                   details.limit, .size; a bad field:
 *                                   details.pointer; store.path a regular
 *                                   file, readOnly without a store:
 *                                   details.path; a workflow directory
 *                                   that does not exist or a workflow file
 *                                   that cannot be read: details.file);
 *                                   for a workflow file (details.file) or
 *                                   inline definition (details.file
 *                                   "<memory #i>"): INVALID_JSON,
 *                                   INVALID_UTF8, NESTING_TOO_DEEP (over
 *                                   128 levels), PAYLOAD_TOO_LARGE (over
 *                                   8 MiB) (these four: files only),
 *                                   WORKFLOW_INVALID,
 *                                   WORKFLOW_RECURSIVE,
 *                                   WORKFLOW_DANGLING_REF,
 *                                   TEMPLATE_ARG_MISSING;
 *                                   WORKFLOW_DUPLICATE_ID (details.id,
 *                                   .first, .second); for the store:
 *                                   STORE_CORRUPT, STORE_READ_ONLY,
 *                                   STORE_VERSION_UNSUPPORTED, STORE_BUSY,
 *                                   STORE_FULL, STORAGE_ERROR
 *                                   (details.path); KEYRING_ERROR
 *                                   (details.path); INTERNAL.
 *   TOKENRAIL_ERR_NO_MEMORY         memory ran out.
 *   TOKENRAIL_ERR_INTERNAL          an internal invariant failed.
 * Nothing is left open when it fails. The configuration and the workflow
 * files are checked before anything is created, and so is a keyring file
 * the host names outside the directory of a new store (an existing one is
 * read; for a missing one, the directory it goes in must be writable): an
 * open refused for them (INVALID_CONFIG, WORKFLOW_INVALID, KEYRING_ERROR,
 * ...) creates nothing. A new lmdb store and its keyring file are created
 * on the first open; an open that fails after that (the disk refuses to
 * write the keyring file) keeps them.
 *
 * Thread-safe: engines may be opened from any thread. Prefer one engine
 * per store within a process, shared between threads. A second engine on
 * a store path this process already has open shares the first one's LMDB
 * environment (whose map sizes then apply) and works; several processes
 * on one store are fine too.
 */
TOKENRAIL_API tokenrail_status tokenrail_engine_open(tokenrail_engine** out_engine,
                                                     const char* config_json, size_t config_len);

/*
 * Closes an engine and releases everything it holds (store, keyring,
 * definitions). Committed work is already durable as the store's
 * durability setting says; close adds nothing to it. Strings the engine
 * returned stay valid (they belong to the caller) and must still be freed.
 * May be called from any thread, not only the one that opened it.
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
 *   TOKENRAIL_ERR_CLOSED    the handle was already closed (or is being
 *                           closed by another thread: this call returns at
 *                           once, without waiting for that close), or never
 *                           was an engine handle.
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
 * export_session, import_session, rotate_key, verify, delete_sessions
 * (tokenrail_operations() lists them). Each request is checked against
 * the operation's JSON Schema before it runs (INVALID_REQUEST with
 * details.pointer and .expected). A replayed advance returns a response
 * byte-identical to the first one.
 *
 * The request is checked in this order, the first failure answering:
 * size (PAYLOAD_TOO_LARGE 1004 over limits.maxRequestBytes, details.limit
 * and .size), JSON text (NESTING_TOO_DEEP 1005 over limits.maxDepth,
 * INVALID_UTF8 1006, INVALID_JSON 1001; details.offset), operation name
 * (UNKNOWN_OPERATION 1003, details.known lists the names), then the
 * request's fields (INVALID_REQUEST 1002, also for a number beyond the
 * range of a double such as 1e400). Then the operation's own errors (the
 * registry above). Any operation may also answer OUT_OF_MEMORY 5009,
 * INTERNAL 5010, and, when it touches the store, the 5xxx storage codes
 * (STORE_READ_ONLY on a readOnly engine).
 *
 * engine        an open engine. Must not be NULL.
 * operation     NUL-terminated operation name. Must not be NULL. An unknown
 *               or empty name is an error as data (UNKNOWN_OPERATION 1003),
 *               a name that is not UTF-8 too (INVALID_UTF8 1006,
 *               details.argument "operation", checked before the request).
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
 *                                   A failed operation wrote nothing to
 *                                   the store. (rotate_key: see the note
 *                                   below.)
 *   TOKENRAIL_ERR_INVALID_ARGUMENT  engine, operation, request_json or
 *                                   out_response is NULL (checked in the
 *                                   order out_response, engine, operation,
 *                                   request_json; details.argument names
 *                                   the first NULL one).
 *   TOKENRAIL_ERR_CLOSED            the engine is closed or closing, or the
 *                                   handle never was an engine handle.
 *   TOKENRAIL_ERR_NO_MEMORY         memory ran out outside the operation
 *                                   (for example while copying the
 *                                   response out). The operation itself
 *                                   may have completed (and committed):
 *                                   repeat it only if repeating it is
 *                                   safe (an advance replays; a
 *                                   start_workflow with an idempotencyKey
 *                                   returns the first start). Memory that
 *                                   runs out inside the operation is
 *                                   instead TOKENRAIL_ERR_RESPONSE with
 *                                   OUT_OF_MEMORY, nothing written.
 *   TOKENRAIL_ERR_INTERNAL          an internal invariant failed.
 *
 * Note: rotate_key on an engine with a keyring file replaces that file
 * before it records the rotation in the store. If recording fails (for
 * example STORE_READ_ONLY on a readOnly engine), the error is returned but
 * the file already holds the new key as current; engines that reload the
 * file will mint with it.
 *
 * Thread-safe: any number of threads may call on one engine at once.
 */
TOKENRAIL_API tokenrail_status tokenrail_call(tokenrail_engine* engine, const char* operation,
                                              const char* request_json, size_t request_len,
                                              char** out_response, size_t* out_len);

/*
 * Releases a string returned through tokenrail_call's out_response. NULL
 * is a no-op. Each string must be freed exactly once, from any thread,
 * also after its engine was closed. Never pass it a string returned as a
 * function's value (tokenrail_last_error, tokenrail_operations,
 * tokenrail_version, tokenrail_status_name). Does not touch the last error.
 */
TOKENRAIL_API void tokenrail_string_free(char* str);

/*
 * The names of every operation tokenrail_call accepts, as a JSON array of
 * strings (["list_workflows", ...]). A static string owned by the library,
 * valid until the library is unloaded: do not free it. Thread-safe. Returns
 * NULL only if memory ran out while building it (a later call tries
 * again; once built, the same pointer is returned every time). Does not
 * touch the last error. The order is not alphabetical and may change.
 */
TOKENRAIL_API const char* tokenrail_operations(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TOKENRAIL_H */
