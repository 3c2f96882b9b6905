// Workflow definitions (D2): compile JSON definitions into immutable
// programs, and a library of them loaded from directories and memory.
//
// Compilation = validation + templateCall expansion + pinning hash (D3):
//   - a definition that is not valid gets ONE error naming the JSON pointer
//     of the first bad field and what was expected
//     (error::at(WORKFLOW_INVALID, "/steps/2/loop/maxIterations", "a positive integer"));
//   - unknown fields are kept in the definition, ignored, and listed as
//     warnings with their pointers;
//   - every templateCall is expanded in place: the calling step is replaced by
//     the routine's steps, whose ids become "<callerId>.<routineStepId>"
//     (separator "."), single-brace {arg} in the routine's strings is filled
//     from templateCall.args, double-brace {{var}} stays for run time;
//     outside prose (title, prompt, guidance, promptBlocks, messages) a
//     string that is exactly "{arg}" takes the arg's JSON value as it is
//     ("maxIterations": "{max}" with args {max: 3} gives 3).
//   - a routine is also compiled on its own (it is a library entry): a field
//     that is exactly "{arg}" where a non-string is required then gets a
//     stand-in value (the arg's name, 1, true, {} or []) and a warning,
//     instead of failing the load.
//   - workflow_hash is computed over the expanded definition, so compiling
//     compiled::definition again (with no routines) gives the same hash.
#pragma once

#include <tokenrail/error.hpp>

#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokenrail::workflow {

/// Something in a definition (or at run time) worth telling the author, that
/// did not stop anything: an unknown field, a condition that could not be
/// evaluated (counted as false), a loop stopped by its maxIterations cap.
struct warning {
  std::string pointer;   // JSON pointer into the definition ("" if none applies)
  std::string message;
  friend bool operator==(const warning&, const warning&) = default;
};

/// The compiled form of a definition; opaque (src/workflow/program.hpp).
/// Immutable: share it between runs and threads.
class program;

/// A compiled, immutable workflow; share it between runs and threads.
struct compiled {
  std::string id, name, description, version;
  /// The PINNED definition: the file's JSON with every templateCall expanded
  /// in place (self-contained; identical to the file if it has none).
  boost::json::value definition;
  /// "sha256:" + hex(SHA-256(JCS(definition)))  (D3)
  std::string workflow_hash;
  std::shared_ptr<const program> prog;   // never null
  /// Unknown fields (kept and ignored), with their JSON pointers into the
  /// file (like errors: after a templateCall the pinned definition's indexes
  /// differ), the fields of templateCall steps that expansion drops, empty
  /// conditions of loops, a routine's stand-ins for whole "{arg}" fields and
  /// delegations whose workflowId names nothing loaded (library::load).
  std::vector<warning> warnings;
  /// Where it came from ("" for in-memory definitions).
  std::string source;
  /// A routine (id "wr.routine-*" / "routine-*", or a file under a routines/
  /// folder): resolvable by templateCall and find(), but not in list().
  bool is_routine = false;
};

/// Looks a routine definition up by its workflow id; nullptr if unknown.
/// The returned pointer must stay valid for the duration of compile().
using routine_resolver = std::function<const boost::json::value*(std::string_view routine_id)>;

/// Compiles one definition. `routines` resolves templateCall targets (may be
/// empty: then any templateCall is a dangling reference).
/// `wr.templates.routine.<name>` is looked up as "wr.routine-<name>", then
/// "routine-<name>", then "<name>"; any other templateId is looked up as is.
/// Errors (never throws, never crashes on any JSON value; definitions
/// nested deeper than 128 levels are WORKFLOW_INVALID):
///   WORKFLOW_INVALID      details {pointer, expected}: the FIRST bad field;
///   WORKFLOW_RECURSIVE    a loop body that references itself (directly or
///                         through another loop's body), details {pointer, expected};
///   WORKFLOW_DANGLING_REF a body id or templateCall target that does not exist;
///   TEMPLATE_ARG_MISSING  a {arg} of the routine without a value in templateCall.args
///                         (details {pointer, expected, arg});
///   OUT_OF_MEMORY, INTERNAL.
/// A pointer found after templateCall expansion names the field in the
/// definition as given (for a field that was exactly "{arg}", the arg:
/// .../templateCall/args/<name>); details.expandedPointer then names it in
/// the expanded one. Thread-safe (`routines` is called on the calling thread).
result<std::shared_ptr<const compiled>> compile(const boost::json::value& definition,
                                                const routine_resolver& routines = {});

/// Parses (tokenrail::parse_json, at most 8 MiB and 128 levels) and
/// compiles a definition given as text. Errors: those of parse_json and
/// compile().
result<std::shared_ptr<const compiled>> compile_text(std::string_view json_text,
                                                     const routine_resolver& routines = {});

/// A workflow file that library::load left out (load_options::skip_invalid_files).
struct load_problem {
  std::string file;          // the file's path
  std::string workflow_id;   // the id it declares; empty when it declares none or does not parse
  error err;                 // what a strict load fails with for it (details.file set)
};

struct load_options {
  /// false (the default): the first file that cannot be loaded fails the
  /// whole load. true: such files (unreadable, not JSON, not a valid
  /// definition, sharing an id with another file, calling a routine that
  /// is missing or was left out) are left out and reported by
  /// library::problems(); the others load. Directories that do not exist
  /// and bad in-memory definitions still fail the load: those are the
  /// host's own configuration, not files written elsewhere.
  bool skip_invalid_files = false;
  /// Files and directories never read, wherever they sit under the
  /// workflow directories: the engine names its own store directory and
  /// keyring file, which are not workflows (and hold the secret).
  std::vector<std::string> never_read;
};

/// Every workflow found in some directories (recursively, *.json, hidden
/// entries skipped) plus
/// in-memory definitions. Immutable once loaded; copy it freely (shares the
/// compiled workflows).
class library {
 public:
  library() = default;

  /// Loads and compiles everything. Routines resolve against the whole
  /// loaded set (files and in-memory definitions).
  /// Errors: WORKFLOW_DUPLICATE_ID (details {id, first, second}: both paths,
  /// "<memory #i>" for in-memory ones); a file that cannot be read or parsed
  /// or compiled gives its own error with details.file added (and the path
  /// prefixed to the message): INVALID_CONFIG (cannot be read),
  /// PAYLOAD_TOO_LARGE (over 8 MiB), the errors of parse_json (at most 128
  /// levels; one leading UTF-8 BOM is skipped) and of compile(); a
  /// directory that does not exist or cannot be scanned: INVALID_CONFIG
  /// with details.file; OUT_OF_MEMORY, INTERNAL. Only regular files named
  /// *.json are read; unreadable subdirectories and hidden entries (a name
  /// starting with '.', such as .git or a store kept at .tokenrail) are
  /// skipped. Files under a routines/ folder are routines.
  /// With options.skip_invalid_files, the file errors above are reported
  /// by problems() instead (in file order) and the load succeeds.
  static result<library> load(const std::vector<std::string>& dirs,
                              const std::vector<boost::json::value>& in_memory = {},
                              const load_options& options = {});

  /// Every non-routine workflow, sorted by id.
  std::vector<std::shared_ptr<const compiled>> list() const;
  /// The workflow (routines included) with that id; nullptr if none.
  std::shared_ptr<const compiled> find(std::string_view id) const;
  /// The workflow a parallelDelegations entry's workflowId names: find(id),
  /// or else, for a routine id, its other spelling ("wr.routine-<name>" for
  /// "routine-<name>" and the reverse: WorkRail files use both for one
  /// routine). nullptr if none. load() warns about delegations that name
  /// nothing (at .../parallelDelegations/<i>/workflowId).
  std::shared_ptr<const compiled> find_delegate(std::string_view id) const;
  std::size_t size() const noexcept { return by_id_.size(); }

  /// The files load() left out, in the order it read them; empty unless
  /// load_options::skip_invalid_files was set.
  const std::vector<load_problem>& problems() const noexcept { return problems_; }
  /// The problem of a file left out that declares `id` (the first such
  /// file); nullptr if none.
  const load_problem* problem_for(std::string_view id) const noexcept;

 private:
  std::map<std::string, std::shared_ptr<const compiled>, std::less<>> by_id_;
  std::vector<load_problem> problems_;
};

/// True for ids that name routines by convention ("wr.routine-*", "routine-*").
bool is_routine_id(std::string_view id) noexcept;

}  // namespace tokenrail::workflow
