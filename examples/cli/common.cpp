// Global options, engine opening and calling, shared by every command.
#include "cli.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/host/render.hpp>
#include <tokenrail/json_parse.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// $XDG_DATA_HOME/tokenrail, else ~/.local/share/tokenrail (the XDG default).
std::string default_store_dir() {
  std::string xdg = env("XDG_DATA_HOME");
  if (!xdg.empty()) return xdg + "/tokenrail";
  std::string home = env("HOME");
  if (!home.empty()) return home + "/.local/share/tokenrail";
  return ".tokenrail";
}

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ':') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// "--name VALUE" or "--name=VALUE" at argv[i]; advances i past the value.
std::optional<std::string> option_value(int argc, char** argv, int& i, std::string_view name, bool& matched,
                                        std::string& err) {
  std::string_view a = argv[i];
  matched = false;
  if (a == name) {
    matched = true;
    if (i + 1 >= argc) {
      err = std::string(name) + " needs a value";
      return std::nullopt;
    }
    return std::string(argv[++i]);
  }
  if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=') {
    matched = true;
    return std::string(a.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_global_options(int argc, char** argv, global_options& g, args& rest) {
  std::string store_flag;
  std::vector<std::string> workflow_flags;
  bool after_dashdash = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (after_dashdash) {
      rest.emplace_back(a);
      continue;
    }
    if (a == "--") {
      after_dashdash = true;
      rest.emplace_back(a);
      continue;
    }
    if (a == "--memory") {
      g.memory = true;
      continue;
    }
    if (a == "--strict-workflows") {
      g.strict_workflows = true;
      continue;
    }
    bool matched = false;
    std::string err;
    if (auto v = option_value(argc, argv, i, "--store", matched, err)) {
      if (v->empty()) return "--store needs a non-empty directory";
      store_flag = *v;
      continue;
    }
    if (matched) return err;
    if (auto v = option_value(argc, argv, i, "--workflows", matched, err)) {
      if (v->empty()) return "--workflows needs a non-empty directory";
      workflow_flags.push_back(*v);
      continue;
    }
    if (matched) return err;
    rest.emplace_back(a);
  }
  if (!store_flag.empty()) g.store_dir = store_flag;
  else if (!env("TOKENRAIL_STORE").empty()) g.store_dir = env("TOKENRAIL_STORE");
  else g.store_dir = default_store_dir();
  g.workflows = workflow_flags.empty() ? split_colons(env("TOKENRAIL_WORKFLOWS")) : workflow_flags;
  return std::nullopt;
}

json::value engine_config(const global_options& g) {
  json::object store;
  if (g.memory) {
    store["backend"] = "memory";
  } else {
    store["backend"] = "lmdb";
    store["path"] = g.store_dir;
    store["durability"] = "durable";
  }
  json::array dirs;
  for (const auto& w : g.workflows) dirs.emplace_back(w);
  json::object cfg;
  cfg["store"] = std::move(store);
  cfg["workflows"] = std::move(dirs);
  // Workflow directories hold files written elsewhere: one that does not
  // load should not take the others down (it is reported on stderr when
  // the engine opens) unless the user asks for strictness.
  cfg["invalidWorkflowFiles"] = g.strict_workflows ? "fail" : "skip";
  return cfg;
}

std::unique_ptr<engine> open_engine(const global_options& g) {
  if (!g.memory) {
    std::error_code ec;
    std::filesystem::create_directories(g.store_dir, ec);
    if (ec) {
      std::cerr << "tokenrail: cannot create the store directory " << g.store_dir << ": " << ec.message() << "\n";
      return nullptr;
    }
  }
  auto e = engine::open(engine_config(g));
  if (!e) {
    std::cerr << host::render_error(e.error().to_json());
    return nullptr;
  }
  // The files left out, one line per error (list_workflows has them all;
  // two files sharing an id share one error).
  const response listed = call_text(**e, "list_workflows", "{}");
  if (const auto* skipped = listed.value.is_object() ? listed.value.get_object().if_contains("skippedFiles") : nullptr) {
    std::vector<std::string_view> said;
    for (const auto& s : skipped->as_array()) {
      const std::string_view message = s.at("error").at("message").as_string();
      if (std::find(said.begin(), said.end(), message) != said.end()) continue;
      said.push_back(message);
      std::cerr << "tokenrail: warning: workflow file left out (--strict-workflows to fail instead): " << message << "\n";
    }
  }
  return std::move(e).value();
}

bool response::is_error() const {
  return !value.is_object() || value.get_object().contains("error");
}

response call_text(engine& e, std::string_view op, std::string_view request_json) {
  response r;
  r.text = e.call(op, request_json);
  json_limits limits;
  limits.max_bytes = r.text.size() + 1;
  limits.max_depth = 1024;
  auto parsed = parse_json(r.text, limits);
  if (parsed) r.value = std::move(parsed).value();
  return r;
}

response call(engine& e, std::string_view op, const json::value& request) {
  return call_text(e, op, tokenrail::json::serialize(request));
}

bool has_operation(std::string_view op) {
  for (auto name : engine::operations())
    if (name == op) return true;
  return false;
}

int usage_error(std::string_view cmd, std::string_view message) {
  std::cerr << "tokenrail " << cmd << ": " << message << "\n"
            << "Run 'tokenrail " << cmd << " --help' for usage.\n";
  return exit_usage;
}

bool arg_reader::next() {
  if (!after_dashdash_ && next_ < a_.size() && a_[next_] == "--") {
    after_dashdash_ = true;
    ++next_;
  }
  if (next_ >= a_.size()) return false;
  cur_ = next_++;
  return true;
}

std::optional<std::string> arg_reader::value() {
  if (next_ >= a_.size()) return std::nullopt;
  return a_[next_++];
}

bool wants_help(const args& a) {
  for (const auto& s : a) {
    if (s == "--") break;
    if (s == "-h" || s == "--help") return true;
  }
  return false;
}

std::optional<std::string> read_all(const std::string& path) {
  if (path == "-") {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return std::nullopt;
    return s;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace tokenrail::cli
