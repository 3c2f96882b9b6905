// The compiled form of a workflow definition (private to the workflow module).
//
// A program is a tree of blocks: block 0 holds the top-level steps; every
// loop step owns the index of its body block. A top-level step named as a
// loop's `body` (by id) is moved out of block 0 into a block of its own, so
// it runs only inside the loop. Conditions, validation rules and templates
// are kept as (validated) JSON and evaluated by the interpreter.
#pragma once

#include <tokenrail/workflow/interpreter.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenrail::workflow {

enum class loop_kind : std::uint8_t { while_loop, until_loop, for_loop, for_each_loop };

struct fragment {
  std::string id;
  boost::json::value when;   // a validated condition; null = always
  std::string text;
};

struct loop_spec {
  loop_kind kind = loop_kind::while_loop;
  std::uint32_t max_iterations = 1;
  boost::json::value condition;      // validated condition; null if none
  // Where `condition` is, after the step's pointer: loop.condition, or a
  // conditionSource {kind: "context_variable", condition} (for warnings).
  std::string_view condition_at = "/loop/condition";
  bool artifact_driven = false;      // conditionSource.kind == "artifact_contract"
  std::string contract_ref, loop_id; // from conditionSource
  std::string items;                 // forEach: variable path holding the array
  std::string item_var = "currentItem";
  std::string index_var = "currentIndex";
  std::string iteration_var = "currentIteration";
  std::optional<std::int64_t> count_number;   // for: a literal count
  std::string count_var;                      // for: or a variable holding it
  std::uint32_t body = 0;                     // block index
};

struct confirmation {
  enum class mode : std::uint8_t { never, always, when } kind = mode::never;
  boost::json::value when;   // condition for mode::when
  std::string message;
};

struct step {
  std::string id, title;
  std::string pointer;   // JSON pointer of the step in the (pinned) definition
  bool is_loop = false;
  // standard steps
  std::string prompt;    // prompt + rendered promptBlocks (templated at render time)
  std::vector<fragment> fragments;
  std::optional<std::string> agent_role;
  std::vector<std::string> guidance;
  boost::json::value run_condition;   // null = always
  confirmation confirm;
  boost::json::value validation;      // validated rule tree; null if none
  std::string contract_ref;
  bool contract_required = false;
  boost::json::object extras;         // askForFiles, functionReferences, functionDefinitions, outputContract
  std::vector<delegation> delegations;
  // loop steps
  loop_spec loop;
};

struct block {
  std::vector<step> steps;
};

class program {
 public:
  std::vector<block> blocks;   // blocks[0] = top level
};

struct definition_meta {
  std::string id, name, description, version;
};

/// Validates a definition (templateCalls already expanded) and builds its
/// program. Throws failure (WORKFLOW_INVALID / WORKFLOW_RECURSIVE /
/// WORKFLOW_DANGLING_REF, details {pointer, expected}) at the first bad
/// field; appends warnings for unknown fields.
std::shared_ptr<const program> parse_definition(const boost::json::value& definition, definition_meta& meta,
                                                std::vector<warning>& warnings);

/// Nesting limit for loops inside loops.
inline constexpr int max_loop_depth = 32;

/// Appends one reference token to a JSON pointer, escaping ~ and /.
std::string pointer_join(std::string_view base, std::string_view token);
std::string pointer_join(std::string_view base, std::size_t index);
/// True if `pointer` is `at` or a pointer inside it ("/a/b" is under "/a",
/// "/ab" is not).
inline bool pointer_at_or_under(std::string_view pointer, std::string_view at) {
  return pointer.starts_with(at) && (pointer.size() == at.size() || pointer[at.size()] == '/');
}

/// throw failure(error::at(code, pointer, expected)) - compile-time errors.
[[noreturn]] void throw_at(errc code, std::string_view pointer, std::string_view expected);

}  // namespace tokenrail::workflow
