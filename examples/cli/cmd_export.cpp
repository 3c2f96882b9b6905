// tokenrail export SESSION: a session's bundle (export_session).
#include "cli.hpp"

#include <tokenrail/host/render.hpp>

#include <fstream>
#include <iostream>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view help = R"(usage: tokenrail export SESSION [--format json|md] [-o FILE]

Prints (or writes to FILE) the export_session response for SESSION: a bundle
with the session's events and pinned workflows that 'tokenrail import' (or
import_session on another store) accepts.

  --format json   the bundle as JSON (default)
  --format md     a rendered markdown export, when the engine offers one
  -o, --output F  write to F instead of stdout
  --              end of options: the next argument is SESSION
)";
}

int cmd_export(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  std::string session, format = "json", output;
  for (arg_reader r(a); r.next();) {
    if (r.is("--format") || r.is("-o") || r.is("--output")) {
      auto v = r.value();
      if (!v) return usage_error("export", r.arg() + " needs a value");
      (r.arg() == "--format" ? format : output) = *v;
    } else if (r.looks_like_option()) {
      return usage_error("export", "unknown option " + r.arg());
    } else if (session.empty()) {
      session = r.arg();
    } else {
      return usage_error("export", "one session at a time");
    }
  }
  if (session.empty()) return usage_error("export", "missing the session id");
  if (format != "json" && format != "md") return usage_error("export", "--format must be json or md");
  auto e = open_engine(g);
  if (!e) return exit_error;
  json::object req;
  req["sessionId"] = session;
  if (format == "md") req["format"] = "markdown";
  auto r = call(*e, "export_session", req);
  if (r.is_error()) {
    std::cerr << host::render_error(r.value);
    return exit_error;
  }
  std::string text = r.text + "\n";
  if (format == "md") {
    const json::value* md = r.value.get_object().if_contains("markdown");
    if (!md || !md->is_string()) {
      std::cerr << "tokenrail export: the engine's export_session returned no markdown rendering\n";
      return exit_error;
    }
    text = std::string(md->get_string());
  }
  if (output.empty()) {
    std::cout << text;
  } else {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      std::cerr << "tokenrail export: cannot write " << output << "\n";
      return exit_error;
    }
  }
  return exit_ok;
}

}  // namespace tokenrail::cli
