// Shared pieces of the `tokenrail` CLI: global options, opening the engine,
// calling an operation, exit codes. Each command lives in cmd_<name>.cpp.
#pragma once

#include <tokenrail/engine/engine.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::cli {

/// Exit codes of every command.
enum exit_code : int { exit_ok = 0, exit_error = 1, exit_usage = 2 };

struct global_options {
  std::string store_dir;               // resolved: flag, TOKENRAIL_STORE, per-user data dir
  std::vector<std::string> workflows;  // flags, else TOKENRAIL_WORKFLOWS (colon-separated)
  bool memory = false;                 // an ephemeral in-memory store
  bool strict_workflows = false;       // a workflow file that cannot load fails the command
};

/// Command-line arguments of one command (after the command name).
using args = std::vector<std::string>;

/// Takes the global options out of argv (anywhere before a "--"), leaving
/// the rest in `rest`. Returns an error message on a bad global option.
std::optional<std::string> parse_global_options(int argc, char** argv, global_options& g, args& rest);

/// The engine configuration JSON for these options.
boost::json::value engine_config(const global_options& g);

/// Opens the engine (creating the store directory if needed). On failure
/// prints the rendered error to stderr and returns nullptr.
std::unique_ptr<engine> open_engine(const global_options& g);

/// An operation's response: the exact text and its parsed form.
struct response {
  std::string text;
  boost::json::value value;  // null if the text is not JSON
  bool is_error() const;
};
response call(engine& e, std::string_view op, const boost::json::value& request);
response call_text(engine& e, std::string_view op, std::string_view request_json);

/// True if the engine dispatches `op`.
bool has_operation(std::string_view op);

/// Reads a command's arguments one at a time, the POSIX way (Utility Syntax
/// Guideline 10): the first "--" that is not an option's value ends the
/// options and is dropped; every argument after it is an operand, even one
/// that starts with '-' (a file named -x, a session id "-1"). Every command
/// parses its arguments through this, so "--" means the same everywhere:
///
///   for (arg_reader r(a); r.next();) {
///     if (r.is("--json")) ...                      // an option (never after "--")
///     else if (r.is("--limit")) v = r.value();     // an option with a value
///     else if (r.looks_like_option()) ...          // an unknown option
///     else operands.push_back(r.arg());            // an operand
///   }
class arg_reader {
 public:
  explicit arg_reader(const args& a) : a_(a) {}
  /// Moves to the next argument; false when there is none. Skips the "--"
  /// that ends the options.
  bool next();
  /// The current argument.
  const std::string& arg() const { return a_[cur_]; }
  /// True if the current argument came after "--": an operand, whatever it looks like.
  bool after_dashdash() const { return after_dashdash_; }
  /// True if the current argument is the option `name` (so not after "--").
  bool is(std::string_view name) const { return !after_dashdash_ && arg() == name; }
  /// True if the current argument starts with '-' and comes before "--".
  /// ("-" alone counts too: a command where it means stdin checks for it.)
  bool looks_like_option() const { return !after_dashdash_ && !arg().empty() && arg()[0] == '-'; }
  /// Takes the argument after the current option as its value, whatever it
  /// is ("--" too, as getopt does); empty optional at the end.
  std::optional<std::string> value();

 private:
  const args& a_;
  std::size_t next_ = 0, cur_ = 0;
  bool after_dashdash_ = false;
};

/// Prints "tokenrail <cmd>: <message>" and the hint to use --help; returns exit_usage.
int usage_error(std::string_view cmd, std::string_view message);
/// True when args contain -h or --help before a "--".
bool wants_help(const args& a);
/// Reads all of stdin (or a file; "-" is stdin). Empty optional on failure.
std::optional<std::string> read_all(const std::string& path);

// The commands. Each returns an exit code.
int cmd_call(const global_options&, const args&);
int cmd_run(const global_options&, const args&);
int cmd_sessions(const global_options&, const args&);
int cmd_show(const global_options&, const args&);
int cmd_export(const global_options&, const args&);
int cmd_import(const global_options&, const args&);
int cmd_verify(const global_options&, const args&);
int cmd_mcp(const global_options&, const args&);

}  // namespace tokenrail::cli
