// Fuzz target: a workflow definition written elsewhere (D2), loaded and run.
//
// Input: the text of one workflow definition. Text that is not JSON is
// dropped here (the JSON parser has its own tests); JSON is handed to an
// engine as an inline definition. When the engine opens, every workflow
// it lists is inspected, started and advanced up to 40 times (notes, an
// artifact, a context value), rehydrated, and, at its end, verified.
// Whatever the definition, the open and every call must keep the C ABI's
// promises (fuzz_support.hpp); a crash or sanitizer report is a finding.
#include "fuzz_support.hpp"

#include <cstdint>

namespace {

/// The first string member `key` anywhere in v, or "".
std::string find_string(const boost::json::value& v, std::string_view key) {
  if (v.is_object()) {
    for (const auto& m : v.as_object()) {
      if (m.key() == key && m.value().is_string()) return std::string(m.value().as_string());
      if (auto s = find_string(m.value(), key); !s.empty()) return s;
    }
  } else if (v.is_array()) {
    for (const auto& x : v.as_array())
      if (auto s = find_string(x, key); !s.empty()) return s;
  }
  return {};
}

void drive(tokenrail_engine* engine, const std::string& id) {
  namespace json = boost::json;
  trfuzz::call(engine, "inspect_workflow", json::serialize(json::object{{"workflowId", id}}));
  json::value r = trfuzz::call(engine, "start_workflow",
                               json::serialize(json::object{{"workflowId", id}, {"context", json::object{{"n", 2}}}}));
  for (int step = 0; step < 40 && r.is_object() && !r.as_object().contains("error"); ++step) {
    const std::string state = find_string(r, "stateToken"), ack = find_string(r, "ackToken");
    if (state.empty()) break;
    if (ack.empty()) {   // complete, or waiting on something this driver cannot give
      trfuzz::call(engine, "continue_workflow", json::serialize(json::object{{"stateToken", state}}));
      break;
    }
    json::object output{{"notesMarkdown", "done"},
                        {"artifacts", json::array{json::object{{"kind", "wr.loop_control"}, {"decision", "stop"}}}}};
    r = trfuzz::call(engine, "continue_workflow",
                     json::serialize(json::object{{"stateToken", state},
                                                  {"ackToken", ack},
                                                  {"output", std::move(output)},
                                                  {"context", json::object{{"i", step}, {"flag", step % 2 == 0}}}}));
  }
  if (auto session = find_string(r, "sessionId"); !session.empty())
    trfuzz::call(engine, "verify", json::serialize(json::object{{"sessionId", session}}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace json = boost::json;
  boost::system::error_code ec;
  json::value def = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;
  const std::string config = json::serialize(json::object{{"definitions", json::array{std::move(def)}}});
  tokenrail_engine* engine = nullptr;
  const tokenrail_status st = tokenrail_engine_open(&engine, config.c_str(), config.size());
  if (st != TOKENRAIL_OK) {
    if (engine) trfuzz::finding("a failed open returned an engine", config);
    if (st != TOKENRAIL_ERR_OPEN_FAILED && st != TOKENRAIL_ERR_NO_MEMORY)
      trfuzz::finding("unexpected open status", tokenrail_status_name(st));
    return 0;
  }
  const json::value list = trfuzz::call(engine, "list_workflows", "{}");
  int driven = 0;
  if (list.is_object())   // null only when memory ran out
    for (const auto& w : list.at("workflows").as_array())
      if (driven++ < 3) drive(engine, std::string(w.at("workflowId").as_string()));
  if (tokenrail_engine_close(engine) != TOKENRAIL_OK) trfuzz::finding("close failed", tokenrail_last_error());
  return 0;
}
