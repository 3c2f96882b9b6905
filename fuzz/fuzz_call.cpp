// Fuzz target: sequences of operations on one engine, through the C ABI.
//
// Input: up to 8 lines. A line's first byte picks the operation (byte
// modulo the number of operations); the rest is its request text, where
// $S $A $C $K $R $E $B stand for the latest stateToken, ackToken,
// checkpointToken, callbackToken, runId, sessionId and export bundle any
// response of this input returned, and $W for the workflow it started. Each input first starts one of the fixture
// workflows (the input's first byte picks it), so the tokens are real and
// requests reach past token verification: advances, forks, replays,
// suspensions, callbacks, checkpoints, exports and imports.
//
// Whatever the request, every call must keep the C ABI's promises
// (fuzz_support.hpp); a crash or sanitizer report is a finding too.
#include "fuzz_support.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <vector>

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> placeholders{{
    {"$S", "stateToken"}, {"$A", "ackToken"}, {"$C", "checkpointToken"}, {"$K", "callbackToken"},
    {"$R", "runId"}, {"$E", "sessionId"}, {"$B", "bundle"}, {"$W", "workflowId"}}};

struct fixture {
  tokenrail_engine* engine = nullptr;
  std::vector<std::string> operations;
  std::vector<std::string> workflows;
  unsigned inputs = 0;

  void open() {
    if (engine) tokenrail_engine_close(engine);
    boost::json::array dirs;
    for (const char* d : {TOKENRAIL_FUZZ_WORKFLOWS}) dirs.emplace_back(d);
    const std::string config = boost::json::serialize(boost::json::object{{"workflows", std::move(dirs)}});
    if (tokenrail_engine_open(&engine, config.c_str(), config.size()) != TOKENRAIL_OK)
      finding_open();
    workflows.clear();
    const boost::json::value list = trfuzz::call(engine, "list_workflows", "{}");
    for (const auto& w : list.at("workflows").as_array()) workflows.emplace_back(w.at("workflowId").as_string());
  }
  [[noreturn]] static void finding_open() { trfuzz::finding("the fixture engine did not open", tokenrail_last_error()); }

  ~fixture() {
    if (engine) tokenrail_engine_close(engine);
  }
  fixture() {
    const boost::json::value names = boost::json::parse(tokenrail_operations());
    for (const auto& op : names.as_array()) operations.emplace_back(op.as_string());
    open();
  }
};

/// Each placeholder's field found in a response, the outermost winning
/// (a step's own stateToken over those of its delegations).
void harvest(const boost::json::value& v, std::map<std::string, std::string, std::less<>>& seen) {
  if (v.is_object()) {
    for (const auto& m : v.as_object()) harvest(m.value(), seen);
    for (const auto& m : v.as_object()) {
      for (const auto& [_, field] : placeholders) {
        if (m.key() != field) continue;
        if (m.value().is_string()) seen[std::string(field)] = m.value().as_string();
        if (m.value().is_object()) seen[std::string(field)] = boost::json::serialize(m.value());  // a bundle
      }
    }
  } else if (v.is_array()) {
    for (const auto& x : v.as_array()) harvest(x, seen);
  }
}

std::string substitute(std::string_view text, const std::map<std::string, std::string, std::less<>>& seen) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool replaced = false;
    if (text[i] == '$' && i + 1 < text.size()) {
      for (const auto& [mark, field] : placeholders) {
        if (text.substr(i, 2) != mark) continue;
        auto it = seen.find(field);
        out += it == seen.end() ? std::string_view() : std::string_view(it->second);
        ++i;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  // Start afresh now and then: the memory store keeps every run, and
  // verify, resume_session and delete_sessions read every session, so a
  // store that only grows would slow each input down and fill the memory.
  if (++f.inputs % 64 == 0) f.open();
  if (size == 0 || f.workflows.empty()) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::map<std::string, std::string, std::less<>> seen;
  const std::string& workflow = f.workflows[static_cast<unsigned char>(input[0]) % f.workflows.size()];
  harvest(trfuzz::call(f.engine, "start_workflow",
                       boost::json::serialize(boost::json::object{{"workflowId", workflow}})),
          seen);
  seen["workflowId"] = workflow;

  std::size_t pos = 1;
  for (int line = 0; line < 8 && pos < input.size(); ++line) {
    std::size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view text = input.substr(pos, end - pos);
    pos = end + 1;
    if (text.empty()) continue;
    const std::string& op = f.operations[static_cast<unsigned char>(text[0]) % f.operations.size()];
    harvest(trfuzz::call(f.engine, op.c_str(), substitute(text.substr(1), seen)), seen);
  }
  return 0;
}
