// tokenrail sessions: the sessions and runs of the store.
#include "cli.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/host/render.hpp>

#include <charconv>
#include <iostream>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view help = R"(usage: tokenrail sessions [QUERY] [--limit N] [--json]

Lists sessions and runs of the store, most recent first (best match first
with a QUERY), through the engine's resume_session operation: each with the
run, its pending step and a fresh stateToken to continue from. QUERY
narrows the list by text (notes, workflow id, session id, context).

  --limit N  list at most N runs (1 to 1000; default 50)
  --json     print the engine's response instead of a table
  --         end of options: the next argument is QUERY
)";

std::string field(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "";
  const json::value* f = v.get_object().if_contains(key);
  if (!f || f->is_null()) return "-";
  return f->is_string() ? std::string(f->get_string()) : tokenrail::json::serialize(*f);
}
}  // namespace

int cmd_sessions(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  bool as_json = false;
  std::string query;
  std::int64_t limit = 50;
  for (arg_reader r(a); r.next();) {
    const std::string& s = r.arg();
    if (r.is("--json")) as_json = true;
    else if (r.is("--limit")) {
      const std::string text = r.value().value_or("");
      const auto c = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (text.empty() || c.ec != std::errc() || c.ptr != text.data() + text.size() || limit < 1 || limit > 1000)
        return usage_error("sessions", "--limit needs a number from 1 to 1000");
    }
    else if (r.looks_like_option()) return usage_error("sessions", "unknown option " + s);
    else if (query.empty()) query = s;
    else return usage_error("sessions", "one query at most");
  }
  if (!has_operation("resume_session")) {
    std::cerr << "tokenrail sessions: this engine build has no resume_session operation, so the\n"
                 "store's sessions cannot be listed yet. Use 'tokenrail call get_run' with a run id.\n";
    return exit_error;
  }
  auto e = open_engine(g);
  if (!e) return exit_error;
  json::object req;
  if (!query.empty()) req["query"] = query;
  req["limit"] = limit;
  auto r = call(*e, "resume_session", req);
  if (as_json || r.is_error()) {
    if (r.is_error()) std::cerr << host::render_error(r.value);
    else std::cout << r.text << "\n";
    return r.is_error() ? exit_error : exit_ok;
  }
  const json::value* c = r.value.get_object().if_contains("candidates");
  if (!c || !c->is_array() || c->get_array().empty()) {
    std::cout << "no sessions in this store\n";
    return exit_ok;
  }
  std::cout << "SESSION\tRUN\tWORKFLOW\tPENDING\tCOMPLETE\tWHY\n";
  for (const auto& x : c->get_array()) {
    std::cout << field(x, "sessionId") << "\t" << field(x, "runId") << "\t" << field(x, "workflowId") << "\t"
              << field(x, "pendingStepId") << "\t" << field(x, "isComplete") << "\t" << field(x, "whyMatched")
              << "\n";
  }
  return exit_ok;
}

}  // namespace tokenrail::cli
