// Shared helpers for the workflow tests: fixture loading and a driver that
// runs a compiled workflow to completion through the pure interpreter.
#pragma once

#include <tokenrail/json_parse.hpp>
#include <tokenrail/workflow/interpreter.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace wf_test {

namespace json = boost::json;
using namespace tokenrail;
using namespace tokenrail::workflow;

inline std::string fixture_path(const std::string& rel) { return std::string(TOKENRAIL_FIXTURES) + "/" + rel; }

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline json::value read_fixture(const std::string& rel) {
  auto v = parse_json(read_text(fixture_path(rel)));
  REQUIRE(v.has_value());
  return *v;
}

/// The library of tests/fixtures/workflows (loaded once).
inline const library& fixtures() {
  static const library lib = [] {
    auto l = library::load({fixture_path("workflows")});
    if (!l) FAIL("fixtures did not load: " << l.error().message);
    return std::move(l).value();
  }();
  return lib;
}

inline const compiled& fixture_workflow(std::string_view id) {
  auto c = fixtures().find(id);
  REQUIRE(c != nullptr);
  return *c;
}

struct trace {
  std::vector<std::string> ids;
  std::vector<pending_step> steps;
  std::vector<warning> warnings;
  json::object context;
  bool complete = false;
};

/// Answers one pending step: may change the context, returns the output.
using responder = std::function<json::value(const pending_step&, json::object& context)>;

inline json::value notes(std::string text) { return json::object{{"notesMarkdown", std::move(text)}}; }

/// Drives `wf` from start to completion (or `limit` steps). Every output must
/// pass check_output; every cursor must survive a JSON round trip.
inline trace drive(const compiled& wf, json::object context, const responder& answer, std::size_t limit = 200) {
  trace t;
  position pos = start(*wf.prog, context);
  t.warnings = pos.warnings;
  while (!pos.complete && t.ids.size() < limit) {
    std::vector<warning> w;
    pending_step p = render(*wf.prog, pos.at, context, w);
    t.warnings.insert(t.warnings.end(), w.begin(), w.end());
    CHECK(step_id_at(*wf.prog, pos.at) == p.step_id);
    t.ids.push_back(p.step_id);
    json::value out = answer ? answer(p, context) : notes("done");
    auto blockers = check_output(*wf.prog, pos.at, context, out);
    INFO("step " << p.step_id);
    REQUIRE(blockers.empty());
    t.steps.push_back(std::move(p));
    pos = advance(*wf.prog, pos.at, context, out);
    t.warnings.insert(t.warnings.end(), pos.warnings.begin(), pos.warnings.end());
    auto round = cursor::from_json(pos.at.to_json());
    REQUIRE(round.has_value());
    REQUIRE(*round == pos.at);
  }
  t.complete = pos.complete;
  t.context = std::move(context);
  return t;
}

inline bool has_warning(const trace& t, std::string_view needle) {
  for (const auto& w : t.warnings)
    if (w.message.find(needle) != std::string::npos) return true;
  return false;
}

inline json::object obj(std::string_view text) {
  auto v = parse_json(text);
  REQUIRE(v.has_value());
  REQUIRE(v->is_object());
  return v->as_object();
}

using ids = std::vector<std::string>;

}  // namespace wf_test
