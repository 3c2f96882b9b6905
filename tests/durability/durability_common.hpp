// Shared by the durability tests and their helper executable (no Catch2
// here: the worker is a plain program). The workflows the workers run and
// the engine config for a store directory.
#pragma once

#include <boost/json.hpp>

#include <string>

namespace trdur {

namespace json = boost::json;

/// A linear workflow of n steps "s1".."sn".
inline json::value linear_workflow(const std::string& id, int n) {
  json::array steps;
  for (int i = 1; i <= n; ++i) {
    steps.push_back(json::object{{"id", "s" + std::to_string(i)},
                                 {"title", "Step " + std::to_string(i)},
                                 {"prompt", "Do step " + std::to_string(i) + " of {{ticket}}."}});
  }
  return json::object{{"id", id}, {"name", id}, {"description", "durability test workflow"},
                      {"version", "1.0.0"}, {"steps", std::move(steps)}};
}

/// A `for` loop of `count` iterations around one step, then a final step:
/// long runs whose cursors carry a loop stack.
inline json::value loop_workflow(const std::string& id, int count) {
  json::object loop{{"id", "rounds"}, {"type", "loop"}, {"title", "Rounds"},
                    {"loop", json::object{{"type", "for"}, {"count", count}, {"iterationVar", "i"},
                                          {"maxIterations", count}}},
                    {"body", json::array{json::object{{"id", "work"}, {"title", "Round {{i}}"},
                                                      {"prompt", "Work on round {{i}}."}}}}};
  return json::object{{"id", id}, {"name", id}, {"description", "durability loop workflow"},
                      {"version", "1.0.0"},
                      {"steps", json::array{std::move(loop),
                                            json::object{{"id", "wrap"}, {"title", "Wrap up"},
                                                         {"prompt", "Summarize."}}}}};
}

/// The engine config of a worker or a test on the LMDB store at `dir`.
/// No keyring.secret: the engines share <dir>/keyring.json (D9).
inline json::object lmdb_config(const std::string& dir, const std::string& durability = "durable") {
  json::object cfg;
  cfg["store"] = json::object{{"backend", "lmdb"}, {"path", dir}, {"durability", durability}};
  cfg["definitions"] = json::array{linear_workflow("lin5", 5), loop_workflow("loop40", 40)};
  return cfg;
}

}  // namespace trdur
