// tokenrail call OP [JSON|-] [--render]: one engine operation.
#include "cli.hpp"

#include <tokenrail/host/render.hpp>

#include <iostream>

namespace tokenrail::cli {

namespace {
constexpr std::string_view help = R"(usage: tokenrail call OP [JSON|-] [--render]

Runs the engine operation OP with the request JSON (default {}; "-" reads
it from stdin) and prints the response exactly as the engine returned it.

  --render    print the text-first markdown rendering instead of the JSON
  --          end of options: every later argument is OP or JSON

Examples:
  tokenrail call list_workflows
  tokenrail call start_workflow '{"workflowId": "bug-triage"}'
  echo '{"stateToken": "st1_..."}' | tokenrail call continue_workflow -

Exit codes: 0 success, 1 the response is an error (errors as data), 2 usage.
)";
}

int cmd_call(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help << "\nThis engine's operations:";
    for (auto op : engine::operations()) std::cout << " " << op;
    std::cout << "\n";
    return exit_ok;
  }
  std::vector<std::string> positional;
  bool render = false;
  for (arg_reader r(a); r.next();) {
    if (r.is("--render")) render = true;
    else if (r.looks_like_option() && r.arg() != "-") return usage_error("call", "unknown option " + r.arg());
    else positional.push_back(r.arg());
  }
  if (positional.empty()) return usage_error("call", "missing the operation name");
  if (positional.size() > 2) return usage_error("call", "too many arguments");
  std::string request = "{}";
  if (positional.size() == 2) {
    if (positional[1] == "-") {
      auto in = read_all("-");
      if (!in) return usage_error("call", "cannot read the request from stdin");
      request = *in;
    } else {
      request = positional[1];
    }
  }
  auto e = open_engine(g);
  if (!e) return exit_error;
  auto r = call_text(*e, positional[0], request);
  if (render) std::cout << host::render_response(positional[0], r.value);
  else std::cout << r.text << "\n";
  return r.is_error() ? exit_error : exit_ok;
}

}  // namespace tokenrail::cli
