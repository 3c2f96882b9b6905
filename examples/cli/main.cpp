// tokenrail: the command-line host of the engine (D11).
#include "cli.hpp"

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>
#include <iostream>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(usage: tokenrail [global options] <command> [args]

Runs agent-driven workflows through opaque tokens on a local store.

Commands:
  call OP [JSON|-]        run one engine operation, print its JSON response
  run WORKFLOW --auto     drive a workflow to completion with generated notes
  sessions                list the sessions and runs in the store
  show RUN                print a run's DAG (--format text|dot|mermaid)
  export SESSION          print a session's bundle (export_session)
  import FILE|-           import a session bundle (import_session)
  verify                  check every hash chain and replay; exit 0 only if all match
  mcp                     serve the Model Context Protocol over stdio

Global options (anywhere on the line):
  --store DIR             the LMDB store directory (env TOKENRAIL_STORE; default
                          $XDG_DATA_HOME/tokenrail or ~/.local/share/tokenrail)
  --workflows DIR         a workflow directory; repeatable (env TOKENRAIL_WORKFLOWS,
                          colon-separated, used when no --workflows is given)
  --memory                use an ephemeral in-memory store instead
  --strict-workflows      fail when a workflow file cannot be loaded (default:
                          leave it out, with a warning on stderr)
  -h, --help              this help; 'tokenrail <command> --help' for a command
  --version               the CLI's version

In a command's arguments, "--" ends its options: every argument after it is
an operand, even one starting with '-' (tokenrail import -- -bundle.json).

Exit codes: 0 success, 1 an error returned by the engine (as data), 2 usage.
)";

int run_command(const tokenrail::cli::global_options& g, const tokenrail::cli::args& rest) {
  using namespace tokenrail::cli;
  std::string cmd = rest.front();
  args a(rest.begin() + 1, rest.end());
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << usage;
    return exit_ok;
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << "tokenrail " << TOKENRAIL_CLI_VERSION << "\n";
    return exit_ok;
  }
  if (cmd == "call") return cmd_call(g, a);
  if (cmd == "run") return cmd_run(g, a);
  if (cmd == "sessions") return cmd_sessions(g, a);
  if (cmd == "show") return cmd_show(g, a);
  if (cmd == "export") return cmd_export(g, a);
  if (cmd == "import") return cmd_import(g, a);
  if (cmd == "verify") return cmd_verify(g, a);
  if (cmd == "mcp") return cmd_mcp(g, a);
  std::cerr << "tokenrail: unknown command '" << cmd << "'\n\n" << usage;
  return exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tokenrail::cli;
  // Started with stdin, stdout or stderr closed, the next file opened (the
  // store's lock.mdb, say) would take that number, and replies printed to
  // "stdout" would be written into it. Occupy them with /dev/null first.
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) == -1 && ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) return exit_error;
  global_options g;
  args rest;
  if (auto err = parse_global_options(argc, argv, g, rest)) {
    std::cerr << "tokenrail: " << *err << "\n";
    return exit_usage;
  }
  if (rest.empty()) {
    std::cerr << usage;
    return exit_usage;
  }
  int rc = run_command(g, rest);
  // A full disk, a closed or broken output file: what a command printed may
  // never have arrived, and a script must not read exit 0 as "all written".
  // stdout is buffered, so a write error surfaces only when it is flushed.
  std::cout.flush();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) {
    std::cerr << "tokenrail: cannot write to standard output\n";
    if (rc == exit_ok) rc = exit_error;
  }
  return rc;
}
