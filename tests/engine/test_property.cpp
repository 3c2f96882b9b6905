// Property test: random sequences of start / advance / replay / rehydrate /
// fork / checkpoint over random workflows, with fixed seeds. Afterwards:
// every recorded response replays byte-identically, no node has two
// children created from the same (node, attempt), and verify (hash chain +
// replay rebuilding the DAG and statuses) matches the stored records.
#include "engine/support.hpp"

#include <map>
#include <random>
#include <set>

using namespace trtest;

namespace {

json::value loop_workflow() {
  return json::parse(R"({
    "id": "prop-loop", "name": "loop", "description": "d", "version": "1",
    "steps": [
      {"id": "a", "title": "A", "prompt": "a {{n}}"},
      {"id": "l", "type": "loop", "title": "L",
       "loop": {"type": "for", "count": 3, "maxIterations": 5},
       "body": [{"id": "b", "title": "B {{currentIteration}}", "prompt": "b"},
                {"id": "c", "title": "C", "prompt": "c", "runCondition": {"var": "skipC", "not_equals": true}}]},
      {"id": "z", "title": "Z", "prompt": "z"}
    ]})");
}

}  // namespace

TEST_CASE("random operation sequences keep every invariant", "[engine][property]") {
  const auto backend = GENERATE(from_range(backends()));
  const std::vector<std::string> workflows = {"p2", "p4", "p7", "prop-loop"};
  auto e = make_engine(backend, {linear_workflow("p2", 2), linear_workflow("p4", 4), linear_workflow("p7", 7), loop_workflow()});
  if (!e) return;
  const std::vector<std::string> notes = {"a", "b", "notes with more text", ""};

  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    std::vector<json::value> known;                           // responses with tokens
    std::map<std::string, std::string> recorded;              // request body -> response text
    for (int i = 0; i < 3; ++i) known.push_back(start(*e, workflows[pick(workflows.size())]));

    for (int step = 0; step < 150; ++step) {
      const auto roll = pick(100);
      const json::value& base = known[pick(known.size())];
      if (roll < 45) {  // advance (or fork, when base already has a child)
        if (!base.as_object().contains("ackToken")) continue;
        json::object req{{"stateToken", base.at("stateToken")}, {"ackToken", base.at("ackToken")}};
        const auto& n = notes[pick(notes.size())];
        if (!n.empty()) req["output"] = json::object{{"notesMarkdown", n}};
        if (pick(4) == 0) req["context"] = json::object{{"n", static_cast<std::int64_t>(pick(5))}, {"skipC", pick(2) == 0}};
        const std::string body = json::serialize(req);
        const std::string text = e->call("continue_workflow", body);
        auto v = json::parse(text);
        const auto code = error_code(v);
        if (code.empty()) {
          CHECK(v.at("kind") == "ok");
          auto it = recorded.find(body);
          if (it != recorded.end()) CHECK(it->second == text);
          recorded[body] = text;
          known.push_back(std::move(v));
        } else {
          INFO(text);
          CHECK(code == "ACK_ALREADY_USED");   // same pair, other body
        }
      } else if (roll < 60) {  // replay something recorded
        if (recorded.empty()) continue;
        auto it = recorded.begin();
        std::advance(it, static_cast<long>(pick(recorded.size())));
        CHECK(e->call("continue_workflow", it->first) == it->second);
      } else if (roll < 80) {  // rehydrate (the ackToken it returns forks when advanced)
        auto h = call(*e, "continue_workflow", json::object{{"stateToken", base.at("stateToken")}});
        REQUIRE(error_code(h).empty());
        known.push_back(std::move(h));
      } else if (roll < 92) {  // checkpoint
        auto c = call(*e, "checkpoint_workflow",
                      json::object{{"checkpointToken", base.at("checkpointToken")}, {"notesMarkdown", notes[pick(3)]}});
        CHECK(error_code(c).empty());
      } else {
        known.push_back(start(*e, workflows[pick(workflows.size())]));
      }
    }
    // Every recorded response replays byte-identically.
    for (const auto& [body, text] : recorded) CHECK(e->call("continue_workflow", body) == text);
  }

  // No node has two children created from the same (node, attempt).
  std::set<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>> origins;
  std::size_t nodes = 0;
  e->internals().store->read([&](tokenrail::storage::read_transaction& tx) {
    tx.scan(tokenrail::storage::table::nodes, "", [&](std::string_view key, std::string_view value) {
      const auto run = tokenrail::engine_detail::get_be64(key.data());
      const auto seq = tokenrail::engine_detail::get_be32(key.data() + 8);
      auto n = tokenrail::engine_detail::decode_node(value, seq);
      ++nodes;
      if (n.parent != tokenrail::engine_detail::no_node) CHECK(origins.emplace(run, n.parent, n.from_attempt).second);
      return true;
    });
  });
  CHECK(nodes > 100);
  auto rep = verify(*e);
  CHECK(rep.ok);
  CHECK(rep.nodes == nodes);
}
