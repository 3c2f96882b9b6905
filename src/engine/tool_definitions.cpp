// The descriptions and request schemas of every operation (D6). Adding an
// operation means adding a row here and a handler in op_table.cpp; a test
// checks the two lists name the same operations.
#include <tokenrail/engine/tool_definitions.hpp>

#include <tokenrail/json_parse.hpp>

namespace tokenrail {
namespace {

struct row {
  std::string_view name;
  bool agent_facing;
  std::string_view description;
  std::string_view schema;
};

// Tokens are checked by the token codec (TOKEN_* errors name the field), so
// the schema only asks for a string of sane length.
#define TR_TOKEN(desc) R"({"type": "string", "maxLength": 256, "description": ")" desc R"("})"

constexpr row rows[] = {
    {"list_workflows", true,
     "List the workflows you can start. Send {}. Returns {workflows: [{workflowId, name, description, "
     "version, workflowHash}]}, sorted by workflowId, and skippedFiles: [{file, workflowId?, error}] when "
     "workflow files could not be loaded (the host opened the engine with invalidWorkflowFiles \"skip\"). "
     "Read-only.",
     R"({"type": "object", "additionalProperties": false, "properties": {}})"},

    {"inspect_workflow", true,
     "Look at one workflow before starting it. Send {workflowId} (and includeDefinition: true for the "
     "full pinned JSON definition). Returns {workflowId, name, description, version, workflowHash, "
     "preview: [{id, title, kind, ...}], warnings: [{pointer, message}]}. Read-only; never starts a run.",
     R"({"type": "object", "additionalProperties": false, "required": ["workflowId"],
         "properties": {
           "workflowId": {"type": "string", "minLength": 1, "maxLength": 256,
                          "description": "the id from list_workflows"},
           "includeDefinition": {"type": "boolean"}}})"},

    {"start_workflow", true,
     "Start a run of a workflow. Send {workflowId, context?}: context holds external facts (ticket id, "
     "repository, parameters) that the workflow's conditions and prompts may use. Returns {stateToken, "
     "ackToken, checkpointToken, pending: {stepId, title, prompt, agentRole?, guidance?, "
     "requireConfirmation}, isComplete, nextIntent, session: {sessionId, runId}, workflowHash}. Do what "
     "pending.prompt says, then call continue_workflow with the stateToken and ackToken exactly as "
     "returned. nextIntent 'await_user_confirmation' means: ask the user before continuing.",
     R"({"type": "object", "additionalProperties": false, "required": ["workflowId"],
         "properties": {
           "workflowId": {"type": "string", "minLength": 1, "maxLength": 256},
           "context": {"type": "object", "description": "external facts; not workflow progress"},
           "sessionId": {"type": "string", "pattern": "^[!-}][!-~]{0,127}$",
                         "description": "groups runs; generated when absent"},
           "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 1024}},
           "idempotencyKey": {"type": "string", "minLength": 1, "maxLength": 256,
                              "description": "the same key with the same request returns the first start's response; with another request: INVALID_REQUEST"},
           "correlation": {"type": "object", "additionalProperties": false,
                           "properties": {"traceId": {"type": "string", "maxLength": 256},
                                          "flowId": {"type": "string", "maxLength": 256},
                                          "tenantId": {"type": "string", "maxLength": 256}}},
           "parent": {"type": "object", "additionalProperties": false, "required": ["callbackToken"],
                      "description": "D8: this run completes the parent's suspended step when it completes",
                      "properties": {"callbackToken": {"type": "string", "maxLength": 256,
                                                       "description": "from suspend_step; kept in the run's spec"}}}}})"},

    {"continue_workflow", true,
     "Continue a run. After doing the pending step, send {stateToken, ackToken, output?: {notesMarkdown?, "
     "artifacts?}, context?} to acknowledge it and get the next step (same shape as start_workflow plus "
     "kind: 'ok' | 'blocked'). Sending the same request again returns the same response (safe to retry). "
     "kind 'blocked' means the output was not accepted: read blockers [{code, pointer, message, "
     "suggestedFix}], fix the output and send again with the same tokens. Send {stateToken} alone "
     "(no ackToken) to re-read the pending step of that snapshot with a fresh ackToken (refused while the "
     "run waits on a callback, STEP_SUSPENDED, or after it was cancelled, RUN_CANCELLED); advancing an "
     "older snapshot creates a branch (fork), which is how rewinds work.",
     R"({"type": "object", "additionalProperties": false, "required": ["stateToken"],
         "properties": {
           "stateToken": )" TR_TOKEN("exactly as returned by the last response") R"(,
           "ackToken": )" TR_TOKEN("omit to rehydrate") R"(,
           "context": {"type": "object", "description": "facts to merge into the run's context; null removes a key"},
           "output": {"type": "object", "additionalProperties": false,
                      "properties": {
                        "notesMarkdown": {"type": "string", "description": "what you did, for the record"},
                        "artifacts": {"type": "array", "items": {"type": "object"},
                                      "description": "structured results, e.g. {kind: 'loop_control', decision: 'continue'|'stop'}"}}}}})"},

    // "At least one of two fields" is written as a root `not` of "neither",
    // never as a root anyOf/oneOf/allOf: the Anthropic API (and others that
    // take MCP tool schemas as they are) refuses those at the top level of
    // an input schema, which broke every tool call of the session.
    {"checkpoint_workflow", true,
     "Record progress without advancing (work done between steps, or after the run completed). Send "
     "{stateToken or checkpointToken, notesMarkdown, artifacts?}. Returns {recorded, checkpoint: "
     "{nodeId, runId}, stateToken, checkpointToken, session}. Sending the same content again for the "
     "same snapshot records nothing new and returns the same response.",
     R"({"type": "object", "additionalProperties": false, "required": ["notesMarkdown"],
         "not": {"description": "a stateToken or a checkpointToken",
                 "allOf": [{"not": {"required": ["stateToken"]}}, {"not": {"required": ["checkpointToken"]}}]},
         "properties": {
           "stateToken": )" TR_TOKEN("a stateToken of the run") R"(,
           "checkpointToken": )" TR_TOKEN("a checkpointToken of the run") R"(,
           "notesMarkdown": {"type": "string", "minLength": 1},
           "artifacts": {"type": "array", "items": {"type": "object"}}}})"},

    {"resume_session", true,
     "Find the runs to pick up again (after a new chat, a rewind, or a break). Send {query?, sessionId?, "
     "runId?, workflowId?}: query is free text matched against notes, checkpoints, context values, "
     "workflow id and session id. Returns {candidates: [{sessionId, runId, workflowId, pendingStepId, "
     "isComplete, phase, lastActivityAt, whyMatched, stateToken}]}, best first: 5 unless limit says "
     "otherwise (hosts listing a store ask for more). Call "
     "continue_workflow with a candidate's stateToken alone to get its pending step and an ackToken. "
     "Read-only.",
     R"({"type": "object", "additionalProperties": false,
         "properties": {
           "query": {"type": "string", "maxLength": 4096, "description": "words to look for; empty: most recent runs"},
           "sessionId": {"type": "string", "pattern": "^[!-}][!-~]{0,127}$"},
           "runId": {"type": "string", "pattern": "^run_[0-9a-f]{16}$"},
           "workflowId": {"type": "string", "minLength": 1, "maxLength": 256},
           "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "at most this many candidates, 5 when absent"}}})"},

    // ---- Async completion (issue 5, D8; src/engine/callbacks.hpp) ----
    {"suspend_step", false,
     "Host-side. Send {stateToken, ackToken, timeoutMs?}: hands the pending step of that snapshot to "
     "something else (a worker, a child run) and returns {callbackToken, runId, nodeId, stepId, sessionId, "
     "expiresAt?}. The run's phase becomes Waiting; continue_workflow with an ackToken is refused with "
     "STEP_SUSPENDED until complete_step, a child run started with parent.callbackToken, expire_callbacks "
     "or cancel_run resolves the callback. The same pair again returns the same response.",
     R"({"type": "object", "additionalProperties": false, "required": ["stateToken", "ackToken"],
         "properties": {
           "stateToken": )" TR_TOKEN("the stateToken of the pending step") R"(,
           "ackToken": )" TR_TOKEN("its ackToken (one attempt)") R"(,
           "timeoutMs": {"type": "integer", "minimum": 1, "maximum": 31536000000,
                         "description": "deadline after now; expire_callbacks completes it with status timeout"}}})"},

    {"complete_step", false,
     "Host-side. Send {callbackToken, result: {status: 'success' | 'error' | 'timeout' | 'cancelled', "
     "errorCode?, output?: {notesMarkdown?, artifacts?}, metadata?: {traceId, flowId, stepId, tenantId}}}. "
     "Completes the suspended step exactly once. success advances the run like continue_workflow and "
     "returns the same shape (kind 'ok', or 'blocked' if the output fails validation: nothing resolved). "
     "Other statuses leave the step pending, record the failed attempt and return kind 'blocked' with a "
     "blocker and a fresh ackToken. errorCode: a registry name or four digits in 1xxx-5xxx. Repeating the "
     "same body returns the same response; anything else after resolution: CALLBACK_ALREADY_RESOLVED "
     "(RUN_CANCELLED after a cancellation) with the recorded response in details.",
     R"({"type": "object", "additionalProperties": false, "required": ["callbackToken", "result"],
         "properties": {
           "callbackToken": )" TR_TOKEN("exactly as returned by suspend_step") R"(,
           "result": {"type": "object", "additionalProperties": false, "required": ["status"],
             "properties": {
               "status": {"enum": ["success", "error", "timeout", "cancelled"]},
               "errorCode": {"type": "string", "minLength": 1, "maxLength": 64},
               "output": {"type": "object", "additionalProperties": false,
                          "properties": {
                            "notesMarkdown": {"type": "string"},
                            "artifacts": {"type": "array", "items": {"type": "object"}}}},
               "metadata": {"type": "object", "additionalProperties": false,
                            "properties": {
                              "traceId": {"type": "string", "maxLength": 256},
                              "flowId": {"type": "string", "maxLength": 256},
                              "stepId": {"type": "string", "maxLength": 256},
                              "tenantId": {"type": "string", "maxLength": 256}}}}}}})"},

    {"expire_callbacks", false,
     "Host-side. Send {now} (ms since the epoch, the host's clock: the engine starts no threads). Completes "
     "every open callback whose deadline is at or before now with status timeout (a linked child run is "
     "cancelled). Returns {expired: [{callbackToken, runId, nodeId, stepId, expiresAt, cancelledRuns?}], now}.",
     R"({"type": "object", "additionalProperties": false, "required": ["now"],
         "properties": {"now": {"type": "integer", "minimum": 0, "maximum": 9007199254740991}}})"},

    {"cancel_run", false,
     "Host-side. Send {runId, reason?}. Phase Cancelled; cascades to child runs (recursively) and a "
     "cancelled child completes its parent's step with status cancelled, all in one transaction. Returns "
     "{runId, phase: 'Cancelled', cancelled: [runIds], reason?}; repeating it returns the same response.",
     R"({"type": "object", "additionalProperties": false, "required": ["runId"],
         "properties": {
           "runId": {"type": "string", "pattern": "^run_[0-9a-f]{16}$"},
           "reason": {"type": "string", "maxLength": 1024}}})"},

    {"get_run", false,
     "Host-side. Send {runId}. Returns the run resource {apiVersion: 'tokenrail/v1', kind: 'WorkflowRun', "
     "metadata: {runId, sessionId, createdAt, labels}, spec: {workflowId, workflowHash, context, "
     "correlation, ...}, status: {phase, pendingStepId, tips, preferredTip, completedAt, output, error, "
     "nodeCount}}.",
     R"({"type": "object", "additionalProperties": false, "required": ["runId"],
         "properties": {"runId": {"type": "string", "pattern": "^run_[0-9a-f]{16}$"}}})"},

    {"rotate_key", false,
     "Host-side. Send {}. Makes a fresh token key current; tokens minted with older keys keep verifying. "
     "Returns {keyId, previousKeyId}.",
     R"({"type": "object", "additionalProperties": false, "properties": {}})"},

    {"export_session", false,
     "Host-side. Send {sessionId, format?: 'json' | 'markdown'}. json (default) returns {bundle: "
     "{format: 'tokenrail.session/1', sessionId, events: [{index, kind, runId?, nodeId?, data, at, prev, "
     "hash}], workflows: {workflowHash: definition}, manifest: {eventCount, headHash, ...}}}, which "
     "import_session accepts on any store. markdown returns {sessionId, format, markdown}: each run and "
     "its steps with notes, checkpoints and forks. Read-only.",
     R"({"type": "object", "additionalProperties": false, "required": ["sessionId"],
         "properties": {
           "sessionId": {"type": "string", "pattern": "^[!-}][!-~]{0,127}$"},
           "format": {"enum": ["json", "markdown"]}}})"},

    {"import_session", false,
     "Host-side. Send {bundle} (from export_session). Verifies the hash chain, every pinned workflow's "
     "hash and the replay, then writes the session in one transaction. Returns {sessionId, runIds, "
     "eventCount, headHash}. Importing the same bundle again changes nothing. A tampered bundle is "
     "refused with INVALID_BUNDLE and details {position or workflowHash, reason, pointer}. Imported runs "
     "continue with this store's tokens (resume_session, or continue_workflow with a stateToken alone).",
     R"({"type": "object", "additionalProperties": false, "required": ["bundle"],
         "properties": {"bundle": {"type": "object"}}})"},

    {"verify", false,
     "Host-side. Send {sessionId?}. Checks every session's event hash chain and replays the log to "
     "rebuild every node and status, comparing with the store. Returns {ok, sessions: [{sessionId, "
     "events, ok, problem?, problems?}], problems?, counts?}.",
     R"({"type": "object", "additionalProperties": false,
         "properties": {"sessionId": {"type": "string", "pattern": "^[!-}][!-~]{0,127}$"}}})"},

    {"delete_sessions", false,
     "Host-side retention. Send {sessionIds?: [sessionId], olderThanMs?} (at least one): deletes the listed "
     "sessions, or those whose last activity is older than now - olderThanMs (both: the listed ones that "
     "old), with all their runs, nodes, acks, callbacks, indexes and events, in one transaction. Returns "
     "{deleted: [sessionId], notFound: [sessionId], skipped?: [{sessionId, linkedSessions}]}. Sessions "
     "whose runs are parent/child-linked to another session's runs are deleted only together with it. "
     "Pinned workflow definitions are kept. Tokens of deleted runs then fail with RUN_NOT_FOUND.",
     R"({"type": "object", "additionalProperties": false,
         "not": {"description": "sessionIds or olderThanMs",
                 "allOf": [{"not": {"required": ["sessionIds"]}}, {"not": {"required": ["olderThanMs"]}}]},
         "properties": {
           "sessionIds": {"type": "array", "maxItems": 10000,
                          "items": {"type": "string", "pattern": "^[!-}][!-~]{0,127}$"}},
           "olderThanMs": {"type": "integer", "minimum": 0, "maximum": 9007199254740991}}})"},
};

#undef TR_TOKEN

}  // namespace

const std::vector<tool_definition>& tool_definitions() {
  static const std::vector<tool_definition> defs = [] {
    std::vector<tool_definition> v;
    for (const auto& r : rows) v.push_back({r.name, r.description, r.agent_facing, parse_json_text(r.schema)});
    return v;
  }();
  return defs;
}

const tool_definition* find_tool_definition(std::string_view name) {
  for (const auto& d : tool_definitions())
    if (d.name == name) return &d;
  return nullptr;
}

}  // namespace tokenrail
