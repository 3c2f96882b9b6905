// tokenrail verify: the whole store's hash chains and replay.
#include "cli.hpp"

#include <tokenrail/host/render.hpp>

#include <iostream>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view help = R"(usage: tokenrail verify [--] [SESSION]

Checks every session of the store (or just SESSION): the event log's hash
chain, and a replay that rebuilds every node and projection from the log and
compares it with the store. Prints the engine's report.

Exit codes: 0 everything verifies, 1 a mismatch or an error, 2 usage.
)";
}

int cmd_verify(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  std::vector<std::string> sessions;
  for (arg_reader r(a); r.next();) {
    if (r.looks_like_option()) return usage_error("verify", "expected at most one SESSION");
    sessions.push_back(r.arg());
  }
  if (sessions.size() > 1) return usage_error("verify", "expected at most one SESSION");
  auto e = open_engine(g);
  if (!e) return exit_error;
  json::object req;
  if (sessions.size() == 1) req["sessionId"] = sessions[0];
  auto r = call(*e, "verify", req);
  if (r.is_error()) {
    std::cerr << host::render_error(r.value);
    return exit_error;
  }
  std::cout << r.text << "\n";
  // Exit 0 only on an explicit success: {"ok": true} (or "verified": true).
  const auto& o = r.value.get_object();
  for (std::string_view key : {"ok", "verified"}) {
    const json::value* v = o.if_contains(key);
    if (v && v->is_bool()) return v->get_bool() ? exit_ok : exit_error;
  }
  std::cerr << "tokenrail verify: the response says neither ok nor verified; treating it as a failure\n";
  return exit_error;
}

}  // namespace tokenrail::cli
