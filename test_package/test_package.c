/* Conan test_package: links the packaged libtokenrail through the C ABI,
 * opens an engine with an inline one-step workflow on the memory store,
 * starts it and completes it. Exit 0 only if all of that worked. */
#include <tokenrail.h>

#include <stdio.h>
#include <string.h>

static const char config[] =
    "{\"store\":{\"backend\":\"memory\"},\"definitions\":[{\"id\":\"hello\",\"name\":\"Hello\","
    "\"description\":\"One step\",\"version\":\"1.0.0\","
    "\"steps\":[{\"id\":\"greet\",\"title\":\"Greet\",\"prompt\":\"Say hello.\"}]}]}";

/* Copies the string value of "key" from a compact JSON response. */
static int field(const char* json, const char* key, char* out, size_t n) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char* p = strstr(json, pattern);
  if (!p) return 0;
  p += strlen(pattern);
  const char* end = strchr(p, '"');
  if (!end || (size_t)(end - p) >= n) return 0;
  memcpy(out, p, (size_t)(end - p));
  out[end - p] = '\0';
  return 1;
}

int main(void) {
  printf("tokenrail %s (ABI %d)\n", tokenrail_version(), tokenrail_abi_version());
  tokenrail_engine* engine = NULL;
  if (tokenrail_engine_open(&engine, config, TOKENRAIL_NUL_TERMINATED) != TOKENRAIL_OK) {
    fprintf(stderr, "open failed: %s\n", tokenrail_last_error());
    return 1;
  }
  char* started = NULL;
  char state[128], ack[128], request[400];
  if (tokenrail_call(engine, "start_workflow", "{\"workflowId\":\"hello\"}", TOKENRAIL_NUL_TERMINATED,
                     &started, NULL) != TOKENRAIL_OK ||
      !field(started, "stateToken", state, sizeof state) || !field(started, "ackToken", ack, sizeof ack)) {
    fprintf(stderr, "start_workflow failed: %s\n", started ? started : tokenrail_last_error());
    return 1;
  }
  tokenrail_string_free(started);
  snprintf(request, sizeof request, "{\"stateToken\":\"%s\",\"ackToken\":\"%s\"}", state, ack);
  char* done = NULL;
  if (tokenrail_call(engine, "continue_workflow", request, TOKENRAIL_NUL_TERMINATED, &done, NULL) !=
          TOKENRAIL_OK ||
      strstr(done, "\"isComplete\":true") == NULL) {
    fprintf(stderr, "continue_workflow did not complete: %s\n", done ? done : tokenrail_last_error());
    return 1;
  }
  tokenrail_string_free(done);
  tokenrail_engine_close(engine);
  puts("test_package: workflow completed");
  return 0;
}
