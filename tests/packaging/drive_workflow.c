/* Packaging consumer: built against an *installed* tokenrail (CMake package
 * or pkg-config), it opens an engine with an inline workflow on the memory
 * store and drives the workflow to completion through the C ABI only.
 * Exit 0 on success; any surprise prints the offending response and exits 1. */
#include <tokenrail.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char config[] =
    "{\"store\":{\"backend\":\"memory\"},"
    "\"definitions\":[{\"id\":\"pkg-demo\",\"name\":\"Packaging demo\","
    "\"description\":\"Two steps, driven by the packaging consumer\","
    "\"version\":\"1.0.0\",\"steps\":["
    "{\"id\":\"plan\",\"title\":\"Plan\",\"prompt\":\"Write the plan.\"},"
    "{\"id\":\"ship\",\"title\":\"Ship\",\"prompt\":\"Ship it.\"}]}]}";

static void die(const char* what, const char* response) {
  fprintf(stderr, "consumer: FAILED: %s\n", what);
  if (response) fprintf(stderr, "consumer: response: %s\n", response);
  exit(1);
}

/* Points just past `"key":` (whitespace allowed around the colon), or NULL.
 * Good enough for the engine's own compact responses; tokens are URL-safe. */
static const char* find_value(const char* json, const char* key) {
  size_t key_len = strlen(key);
  const char* p = json;
  while ((p = strchr(p, '"')) != NULL) {
    if (strncmp(p + 1, key, key_len) == 0 && p[1 + key_len] == '"') {
      const char* q = p + 2 + key_len;
      while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r') ++q;
      if (*q == ':') {
        ++q;
        while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r') ++q;
        return q;
      }
    }
    ++p;
  }
  return NULL;
}

/* Copies the string value of `key` into out (size n); 0 when absent. */
static int get_string(const char* json, const char* key, char* out, size_t n) {
  const char* v = find_value(json, key);
  if (!v || *v != '"') return 0;
  ++v;
  const char* end = strchr(v, '"');
  if (!end || (size_t)(end - v) >= n) return 0;
  memcpy(out, v, (size_t)(end - v));
  out[end - v] = '\0';
  return 1;
}

static int is_true(const char* json, const char* key) {
  const char* v = find_value(json, key);
  return v && strncmp(v, "true", 4) == 0;
}

/* One operation that must succeed; returns the response (caller frees it
 * with tokenrail_string_free). */
static char* call(tokenrail_engine* engine, const char* op, const char* request) {
  char* response = NULL;
  size_t response_len = 0;
  tokenrail_status st =
      tokenrail_call(engine, op, request, TOKENRAIL_NUL_TERMINATED, &response, &response_len);
  if (st != TOKENRAIL_OK) {
    fprintf(stderr, "consumer: %s returned %s\n", op, tokenrail_status_name(st));
    if (st != TOKENRAIL_ERR_RESPONSE) fprintf(stderr, "consumer: last error: %s\n", tokenrail_last_error());
    die(op, response);
  }
  if (response == NULL || strlen(response) != response_len) die("response length does not match", response);
  return response;
}

int main(void) {
  printf("consumer: header %s, library %s (ABI %d)\n", TOKENRAIL_VERSION_STRING, tokenrail_version(),
         tokenrail_abi_version());
  if (tokenrail_abi_version() != TOKENRAIL_ABI_VERSION) die("ABI version of the library differs from the header", NULL);

  tokenrail_engine* engine = NULL;
  if (tokenrail_engine_open(&engine, config, strlen(config)) != TOKENRAIL_OK || engine == NULL)
    die("tokenrail_engine_open", tokenrail_last_error());

  char state[128], ack[128], step[128], request[512];
  char* response = call(engine, "start_workflow", "{\"workflowId\":\"pkg-demo\"}");
  int advances = 0;
  while (!is_true(response, "isComplete")) {
    if (!get_string(response, "stateToken", state, sizeof state) ||
        !get_string(response, "ackToken", ack, sizeof ack) ||
        !get_string(response, "stepId", step, sizeof step))
      die("response without stateToken/ackToken/pending.stepId", response);
    printf("consumer: step %s\n", step);
    tokenrail_string_free(response);
    if (++advances > 10) die("workflow of two steps did not complete in 10 advances", NULL);
    snprintf(request, sizeof request,
             "{\"stateToken\":\"%s\",\"ackToken\":\"%s\","
             "\"output\":{\"notesMarkdown\":\"done: %s\"}}",
             state, ack, step);
    response = call(engine, "continue_workflow", request);
  }
  tokenrail_string_free(response);
  if (tokenrail_engine_close(engine) != TOKENRAIL_OK) die("tokenrail_engine_close", tokenrail_last_error());
  if (advances != 2) {
    fprintf(stderr, "consumer: FAILED: expected 2 advances, made %d\n", advances);
    return 1;
  }
  printf("consumer: workflow completed after %d advances\n", advances);
  return 0;
}
