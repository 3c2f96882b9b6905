// The registry of every error code tokenrail returns (D6).
//
// Each row: X(NAME, numeric code, retry kind, one-line meaning).
// Families: 1xxx request/validation, 2xxx token, 3xxx workflow definition,
// 4xxx run state, 5xxx storage/internal. Codes are part of the contract:
// never renumber a row, only add rows. Every 2xxx code is not_retryable.
#pragma once

// clang-format off
#define TOKENRAIL_ERROR_CODES(X)                                                                  \
  /* 1xxx: the request itself */                                                                \
  X(INVALID_JSON,              1001, not_retryable,      "the request body is not valid JSON")                \
  X(INVALID_REQUEST,           1002, not_retryable,      "a field is missing, of the wrong type, or out of range") \
  X(UNKNOWN_OPERATION,         1003, not_retryable,      "no operation has that name")                        \
  X(PAYLOAD_TOO_LARGE,         1004, not_retryable,      "the request exceeds a configured size limit")       \
  X(NESTING_TOO_DEEP,          1005, not_retryable,      "the request nests deeper than the configured limit") \
  X(INVALID_UTF8,              1006, not_retryable,      "a string is not valid UTF-8")                       \
  X(INVALID_CONFIG,            1007, not_retryable,      "the engine configuration is not valid")             \
  X(INVALID_BUNDLE,            1008, not_retryable,      "an imported session bundle is malformed or was tampered with") \
  X(OUTPUT_REJECTED,           1009, not_retryable,      "the submitted output does not satisfy the step's contract") \
  X(INVALID_ARGUMENT,          1010, not_retryable,      "a C ABI argument is NULL or otherwise unusable")    \
  /* 2xxx: tokens */                                                                            \
  X(TOKEN_MALFORMED,           2001, not_retryable,      "the token does not have the shape of a tokenrail token") \
  X(TOKEN_UNSUPPORTED_VERSION, 2002, not_retryable,      "the token's version prefix is not supported")       \
  X(TOKEN_WRONG_KIND,          2003, not_retryable,      "a token of another kind was given (for example an ackToken as stateToken)") \
  X(TOKEN_INVALID,             2004, not_retryable,      "the token failed authentication: altered, or minted with another secret") \
  X(TOKEN_UNKNOWN_KEY,         2005, not_retryable,      "the token names a key id this keyring never had")   \
  X(TOKEN_KEY_RETIRED,         2006, not_retryable,      "the token was minted with a key that has been retired") \
  X(TOKEN_SCOPE_MISMATCH,      2007, not_retryable,      "the tokens belong to different runs or nodes")      \
  X(ACK_ALREADY_USED,          2008, not_retryable,      "this ackToken was already used with a different request; rehydrate to branch") \
  /* 3xxx: workflow definitions */                                                              \
  X(WORKFLOW_NOT_FOUND,        3001, not_retryable,      "no workflow has that id")                           \
  X(WORKFLOW_INVALID,          3002, not_retryable,      "the workflow definition is not valid")              \
  X(WORKFLOW_DUPLICATE_ID,     3003, not_retryable,      "two workflow files declare the same id")            \
  X(WORKFLOW_RECURSIVE,        3004, not_retryable,      "a step, loop body or routine references itself")    \
  X(WORKFLOW_DANGLING_REF,     3005, not_retryable,      "a reference names a step, routine or contract that does not exist") \
  X(TEMPLATE_ARG_MISSING,      3006, not_retryable,      "a templateCall does not supply an argument its routine uses") \
  X(PINNED_WORKFLOW_MISSING,   3007, not_retryable,      "the run's pinned definition is not in the store")   \
  /* 4xxx: run state */                                                                         \
  X(RUN_NOT_FOUND,             4001, not_retryable,      "no run has that id in this store")                  \
  X(SESSION_NOT_FOUND,         4002, not_retryable,      "no session has that id in this store")              \
  X(NODE_NOT_FOUND,            4003, not_retryable,      "the token names a node that is not in this store")  \
  X(RUN_COMPLETE,              4004, not_retryable,      "the node is complete; there is no pending step to acknowledge") \
  X(RUN_CANCELLED,             4005, not_retryable,      "the run was cancelled")                             \
  X(STEP_SUSPENDED,            4006, not_retryable,      "the step is suspended on a callback; complete it with complete_step") \
  X(STEP_NOT_SUSPENDED,        4007, not_retryable,      "the callback does not match a suspended step")      \
  X(CALLBACK_ALREADY_RESOLVED, 4008, not_retryable,      "the callback was already resolved differently (completed, expired or cancelled)") \
  X(CONFIRMATION_REQUIRED,     4009, not_retryable,      "the step requires user confirmation before it may be acknowledged") \
  /* 5xxx: storage and internal */                                                              \
  X(STORAGE_ERROR,             5001, retryable_immediate, "the store failed; the operation wrote nothing")     \
  X(STORE_CORRUPT,             5002, not_retryable,      "the store's files are corrupt")                     \
  X(STORE_READ_ONLY,           5003, not_retryable,      "the store cannot be written (permissions or read-only media)") \
  X(STORE_VERSION_UNSUPPORTED, 5004, not_retryable,      "the store was written by a newer or incompatible format version") \
  X(STORE_BUSY,                5005, retryable_after_ms, "the store is busy (locked by another process); try again shortly") \
  X(STORE_FULL,                5006, not_retryable,      "the store reached its maximum size, or the disk is full")\
  X(KEYRING_ERROR,             5007, not_retryable,      "the keyring file is missing, unreadable or has unsafe permissions") \
  X(VERIFY_FAILED,             5008, not_retryable,      "the event log does not verify (hash chain or replay mismatch)") \
  X(OUT_OF_MEMORY,             5009, retryable_immediate, "memory ran out; the operation wrote nothing")       \
  X(INTERNAL,                  5010, not_retryable,      "an internal invariant failed; the operation wrote nothing") \
  X(ENGINE_CLOSED,             5011, not_retryable,      "the engine handle was closed")
// clang-format on
