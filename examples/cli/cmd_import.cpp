// tokenrail import FILE|-: imports a session bundle (import_session).
#include "cli.hpp"

#include <tokenrail/host/render.hpp>
#include <tokenrail/json_parse.hpp>

#include <iostream>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view help = R"(usage: tokenrail import [--] FILE|-

Imports a session bundle written by 'tokenrail export' (the whole
export_session response, or just its bundle) into the store and prints the
import_session response ({sessionId, runIds}). Importing twice changes
nothing. "-" reads the bundle from stdin; after "--" a FILE may start with
'-' (tokenrail import -- -bundle.json).
)";
}

int cmd_import(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  // No options: an argument starting with '-' (but "-") is refused unless it comes after "--".
  std::vector<std::string> files;
  bool bad = false;
  for (arg_reader r(a); r.next();) {
    if (r.looks_like_option() && r.arg() != "-") bad = true;
    files.push_back(r.arg());
  }
  if (bad || files.size() != 1) return usage_error("import", "expected exactly one FILE (or - for stdin)");
  const std::string& file = files[0];
  auto text = read_all(file);
  if (!text) return usage_error("import", "cannot read " + file);
  json_limits limits;
  limits.max_bytes = 1u << 30;
  limits.max_depth = 128;
  auto doc = parse_json(*text, limits);
  if (!doc) {
    std::cerr << host::render_error(doc.error().to_json());
    return exit_error;
  }
  json::object req;
  if (doc->is_object() && doc->get_object().contains("bundle")) req = doc->get_object();
  else req["bundle"] = *doc;
  auto e = open_engine(g);
  if (!e) return exit_error;
  auto r = call(*e, "import_session", req);
  if (r.is_error()) {
    std::cerr << host::render_error(r.value);
    return exit_error;
  }
  std::cout << r.text << "\n";
  return exit_ok;
}

}  // namespace tokenrail::cli
