/*
 * A minimal C host: runs one workflow to completion through the C ABI
 * alone (tokenrail.h), printing each pending step.
 *
 *   c_host WORKFLOWS_DIR WORKFLOW_ID [EXPECTED_STEPS]
 *
 * It opens an engine over a memory store that loads the workflow files of
 * WORKFLOWS_DIR, starts WORKFLOW_ID and acknowledges every pending step
 * with a short note until the run is complete. Exit status: 0 when the run
 * completed (after EXPECTED_STEPS steps, when given), 1 otherwise.
 *
 * A real host would parse responses with a JSON library; this example
 * picks the few fields it needs with a tiny string search, which is enough
 * for the engine's compact output (tokens are URL-safe, ids are plain).
 */
#include <tokenrail.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies the string value of "key" found after `from` in `json` into out.
 * Returns 1 when found. Escapes are copied verbatim (fine for display). */
static int find_string(const char* json, const char* from, const char* key, char* out, size_t out_size) {
  char pattern[64];
  const char* p;
  size_t n = 0;
  sprintf(pattern, "\"%s\"", key);
  p = strstr(from ? from : json, pattern);
  if (!p) return 0;
  p += strlen(pattern);
  while (*p == ' ' || *p == ':') ++p;
  if (*p != '"') return 0;
  ++p;
  while (*p && *p != '"' && n + 1 < out_size) {
    if (*p == '\\' && p[1]) out[n++] = *p++;
    if (n + 1 < out_size) out[n++] = *p++;
  }
  out[n] = '\0';
  return 1;
}

static int is_complete(const char* json) {
  const char* p = strstr(json, "\"isComplete\"");
  if (!p) return 0;
  p += strlen("\"isComplete\"");
  while (*p == ' ' || *p == ':') ++p;
  return strncmp(p, "true", 4) == 0;
}

/* Appends s to the config buffer as a JSON string body (escaping " and \). */
static void append_escaped(char* out, size_t out_size, const char* s) {
  size_t n = strlen(out);
  for (; *s && n + 3 < out_size; ++s) {
    if (*s == '"' || *s == '\\') out[n++] = '\\';
    out[n++] = *s;
  }
  out[n] = '\0';
}

/* Runs one operation; returns the response (free with
 * tokenrail_string_free) or NULL after printing why it failed. */
static char* call(tokenrail_engine* engine, const char* op, const char* request) {
  char* response = NULL;
  tokenrail_status st = tokenrail_call(engine, op, request, TOKENRAIL_NUL_TERMINATED, &response, NULL);
  if (st == TOKENRAIL_OK) return response;
  if (st == TOKENRAIL_ERR_RESPONSE) {
    fprintf(stderr, "%s failed: %s\n", op, response);
    tokenrail_string_free(response);
  } else {
    fprintf(stderr, "%s failed: %s: %s\n", op, tokenrail_status_name(st),
            tokenrail_last_error() ? tokenrail_last_error() : "(no detail)");
  }
  return NULL;
}

int main(int argc, char** argv) {
  char config[4096] = "{\"store\": {\"backend\": \"memory\"}, \"workflows\": [\"";
  char request[1024];
  char state[128], ack[128], step[256], title[512];
  tokenrail_engine* engine = NULL;
  char* response;
  int steps = 0, expected = -1, ok = 0;

  if (argc < 3) {
    fprintf(stderr, "usage: %s WORKFLOWS_DIR WORKFLOW_ID [EXPECTED_STEPS]\n", argv[0]);
    return 2;
  }
  if (argc > 3) expected = atoi(argv[3]);
  printf("tokenrail %s (ABI %d)\n", tokenrail_version(), tokenrail_abi_version());
  if (tokenrail_abi_version() != TOKENRAIL_ABI_VERSION) {
    fprintf(stderr, "built for ABI %d, loaded ABI %d\n", TOKENRAIL_ABI_VERSION, tokenrail_abi_version());
    return 1;
  }

  append_escaped(config, sizeof config, argv[1]);
  strcat(config, "\"]}");
  if (tokenrail_engine_open(&engine, config, TOKENRAIL_NUL_TERMINATED) != TOKENRAIL_OK) {
    fprintf(stderr, "cannot open the engine: %s\n", tokenrail_last_error());
    return 1;
  }

  snprintf(request, sizeof request, "{\"workflowId\": \"%s\"}", argv[2]);
  response = call(engine, "start_workflow", request);
  while (response) {
    if (is_complete(response)) {
      ok = 1;
      break;
    }
    if (!find_string(response, NULL, "stateToken", state, sizeof state) ||
        !find_string(response, NULL, "ackToken", ack, sizeof ack) ||
        !find_string(response, strstr(response, "\"pending\""), "stepId", step, sizeof step)) {
      fprintf(stderr, "unexpected response: %s\n", response);
      break;
    }
    if (!find_string(response, strstr(response, "\"pending\""), "title", title, sizeof title)) title[0] = '\0';
    ++steps;
    printf("step %d: %s -- %s\n", steps, step, title);
    tokenrail_string_free(response);

    snprintf(request, sizeof request,
             "{\"stateToken\": \"%s\", \"ackToken\": \"%s\", "
             "\"output\": {\"notesMarkdown\": \"step %d done by the C host\"}}",
             state, ack, steps);
    response = call(engine, "continue_workflow", request);
  }
  tokenrail_string_free(response);
  tokenrail_engine_close(engine);

  if (!ok) return 1;
  printf("completed after %d steps\n", steps);
  if (expected >= 0 && steps != expected) {
    fprintf(stderr, "expected %d steps\n", expected);
    return 1;
  }
  return 0;
}
