// library::load: every *.json under the configured directories, plus
// in-memory definitions, compiled against each other's routines.
#include "workflow/expand.hpp"
#include "workflow/program.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/json_parse.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json/object.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <sys/stat.h>

namespace tokenrail::workflow {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_file_bytes = 8u << 20;

struct entry {
  std::string source;
  json::value definition;
  bool in_routines_folder = false;
  bool in_memory = false;     // given by the host, not read from a file
  std::size_t order = 0;      // the order files were read in (for problems())
  bool left_out = false;
};

/// The id a definition declares; empty when it declares none.
std::string declared_id(const json::value& definition) {
  const json::value* id = definition.is_object() ? definition.get_object().if_contains("id") : nullptr;
  return id && id->is_string() ? std::string(id->get_string()) : std::string();
}

error with_file(error e, const std::string& file) {
  if (!e.details.is_object()) e.details = json::object{};
  e.details.as_object()["file"] = file;
  e.message = file + ": " + e.message;
  return e;
}

result<json::value> read_definition(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return error::make(errc::INVALID_CONFIG, "cannot read workflow file: " + ec.message());
  if (size > max_file_bytes)
    return error::make(errc::PAYLOAD_TOO_LARGE, "workflow file is larger than 8 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return error::make(errc::INVALID_CONFIG, "cannot open workflow file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string_view body = text.view();
  // Editors and tools on Windows save UTF-8 with a leading byte order mark,
  // which parse_json refuses; RFC 8259 lets a parser ignore it, and these
  // are files written by other tools. Only one leading BOM is skipped.
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (body.starts_with(bom)) body.remove_prefix(bom.size());
  json_limits limits;
  limits.max_depth = 128;
  return parse_json(body, limits);
}

std::string error_pointer(const error& e) {
  if (!e.details.is_object()) return {};
  const auto* p = e.details.as_object().if_contains("pointer");
  return p && p->is_string() ? std::string(p->get_string()) : std::string();
}

// A routine field that is exactly "{arg}" gets its value - maybe a number,
// a bool, an array, a condition - only when a templateCall expands the
// routine. Compiled on its own, as every library entry is, the routine
// would fail at such a field wherever the string "{arg}" is not a valid
// value (a count, a flag, a condition, a variable name). So an error AT
// such a field is retried with stand-ins of the usual types there; the
// first one the compiler accepts stays, with a warning. Any other error is
// the file's own and is returned unchanged. The stand-ins are part of the
// compiled (and pinned) definition, so it recompiles from the store.
result<std::shared_ptr<const compiled>> compile_routine_alone(const json::value& definition,
                                                              const routine_resolver& routines,
                                                              std::vector<warning>& stand_ins) {
  auto c = compile(definition, routines);
  if (c) return c;
  constexpr std::size_t max_stand_ins = 64;   // each costs a few compiles
  json::value scratch = definition;
  while (!c && stand_ins.size() < max_stand_ins) {
    const std::string at = error_pointer(c.error());
    boost::system::error_code ec;
    json::value* field = at.empty() ? nullptr : scratch.find_pointer(at, ec);
    if (!field || !field->is_string() || !whole_placeholder(field->get_string())) break;
    const json::value placeholder = *field;
    // The arg's name first: it fits where a name is required ("items":
    // "{list}", "itemVar", an id, a condition's var); then a count, a flag,
    // an empty condition or object, an empty list.
    const std::array<json::value, 5> candidates = {
        json::value(*whole_placeholder(placeholder.get_string())), json::value(1), json::value(true),
        json::value(json::object{}), json::value(json::array{})};
    bool replaced = false;
    for (const auto& candidate : candidates) {
      *field = candidate;
      auto next = compile(scratch, routines);
      if (next || !pointer_at_or_under(error_pointer(next.error()), at)) {
        stand_ins.push_back({at, "\"" + std::string(placeholder.get_string()) +
                                     "\" is a routine argument, filled in when a templateCall expands the routine; "
                                     "compiled on its own, the routine uses " + tokenrail::json::serialize(candidate) + " here"});
        c = std::move(next);
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      *field = placeholder;
      break;   // no stand-in fits: c is still the error at the placeholder
    }
  }
  return c;
}

// A delegation's workflowId is a plain id, known when the file loads: one
// that names nothing in the library would fail only when a run reaches the
// step (WORKFLOW_NOT_FOUND), so say so now.
void warn_unknown_delegates(const library& lib, compiled& c) {
  for (const auto& b : c.prog->blocks)
    for (const auto& s : b.steps)
      for (std::size_t i = 0; i < s.delegations.size(); ++i)
        if (!lib.find_delegate(s.delegations[i].workflow_id))
          c.warnings.push_back({s.pointer + "/parallelDelegations/" + std::to_string(i) + "/workflowId",
                                "\"" + s.delegations[i].workflow_id +
                                    "\" names no workflow in the library; the step fails with WORKFLOW_NOT_FOUND "
                                    "when a run reaches it"});
}

/// The file's device and inode (the path resolved), nullopt if it cannot be
/// read: two paths name one file exactly when these are equal.
std::optional<std::pair<dev_t, ino_t>> file_identity(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

bool under_routines_folder(const fs::path& file, const fs::path& root) {
  const fs::path rel = file.lexically_relative(root).parent_path();
  return std::any_of(rel.begin(), rel.end(), [](const fs::path& part) { return part == "routines"; });
}

}  // namespace

result<library> library::load(const std::vector<std::string>& dirs, const std::vector<json::value>& in_memory,
                              const load_options& options) {
  try {
    library lib;
    std::vector<std::pair<std::size_t, load_problem>> problems;   // with the file's scan order
    std::optional<error> failed;
    // A file that cannot be loaded is left out and reported when the host
    // asked for that (never an in-memory definition: the host's own);
    // otherwise its error fails the load. False: the load fails (`failed`).
    auto leave_out = [&](entry& e, error err, bool name_file = true) {
      if (name_file) err = with_file(std::move(err), e.source);
      if (!options.skip_invalid_files || e.in_memory) {
        failed = std::move(err);
        return false;
      }
      e.left_out = true;
      problems.push_back({e.order, {e.source, declared_id(e.definition), std::move(err)}});
      return true;
    };

    std::set<std::pair<dev_t, ino_t>> never_read;   // by identity: any spelling of the path
    for (const auto& p : options.never_read)
      if (auto id = file_identity(p)) never_read.insert(*id);
    auto is_never_read = [&](const fs::path& p) {
      if (never_read.empty()) return false;   // no stat per entry unless there is something to exclude
      auto id = file_identity(p);
      return id && never_read.contains(*id);
    };

    std::vector<entry> entries;
    std::size_t order = 0;
    for (const auto& dir : dirs) {
      std::error_code ec;
      if (!fs::is_directory(dir, ec))
        return error::make(errc::INVALID_CONFIG, "workflow directory does not exist or is not a directory: " + dir,
                           json::object{{"file", dir}});
      std::vector<fs::path> files;
      fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        // Neither read nor descended: hidden entries (".git", an editor's
        // ".swp.json", a store kept at ".tokenrail" beside the workflows)
        // and what never_read names (the engine's own store and keyring).
        // They are never workflows, and one stray JSON file there would
        // fail the whole load.
        std::error_code ignored;
        const bool dir_entry = it->is_directory(ignored);
        const bool json_file = !dir_entry && it->path().extension() == ".json";
        if (it->path().filename().native().starts_with('.') ||
            ((dir_entry || json_file) && is_never_read(it->path()))) {
          if (dir_entry) it.disable_recursion_pending();
          continue;
        }
        if (json_file && it->is_regular_file(ec)) files.push_back(it->path());
      }
      if (ec)
        return error::make(errc::INVALID_CONFIG, "cannot scan workflow directory " + dir + ": " + ec.message(),
                           json::object{{"file", dir}});
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        entry e{f.string(), {}, under_routines_folder(f, dir), false, order++};
        auto def = read_definition(f);
        if (!def) {
          if (!leave_out(e, std::move(def).error())) return std::move(*failed);
          continue;
        }
        e.definition = std::move(*def);
        entries.push_back(std::move(e));
      }
    }
    for (std::size_t i = 0; i < in_memory.size(); ++i)
      entries.push_back({"<memory #" + std::to_string(i) + ">", in_memory[i], false, true, order++});

    // Index by id first: routines must resolve against the whole set. Two
    // files with one id leave both out (which one was meant is not for
    // the engine to guess); the error names the first two.
    std::map<std::string, std::vector<entry*>, std::less<>> declaring;
    for (auto& e : entries)
      if (auto id = declared_id(e.definition); !id.empty()) declaring[id].push_back(&e);   // no id: compile() reports it
    std::map<std::string, const entry*, std::less<>> by_id;
    for (auto& [id, group] : declaring) {
      if (group.size() == 1) {
        by_id.emplace(id, group[0]);
        continue;
      }
      const error duplicate = error::make(
          errc::WORKFLOW_DUPLICATE_ID,
          "two workflow files declare the id \"" + id + "\": " + group[0]->source + " and " + group[1]->source,
          json::object{{"id", id}, {"first", group[0]->source}, {"second", group[1]->source}});
      const bool host_given = std::any_of(group.begin(), group.end(), [](const entry* e) { return e->in_memory; });
      for (entry* e : group) {
        if (host_given) return duplicate;
        if (!leave_out(*e, duplicate, false)) return std::move(*failed);
      }
    }
    const routine_resolver resolve = [&](std::string_view id) -> const json::value* {
      auto it = by_id.find(id);
      return it == by_id.end() ? nullptr : &it->second->definition;
    };

    std::vector<std::shared_ptr<compiled>> loaded;
    auto is_routine = [](const entry& e) { return e.in_routines_folder || is_routine_id(declared_id(e.definition)); };
    auto compile_entry = [&](entry& e) {
      std::vector<warning> stand_ins;
      auto c = is_routine(e) ? compile_routine_alone(e.definition, resolve, stand_ins) : compile(e.definition, resolve);
      if (!c) {
        if (!leave_out(e, std::move(c).error())) return false;
        // A routine left out is not expanded into the workflows that call
        // it (compiled after every routine): they are left out too.
        if (auto it = by_id.find(declared_id(e.definition)); is_routine(e) && it != by_id.end() && it->second == &e)
          by_id.erase(it);
        return true;
      }
      auto copy = std::make_shared<compiled>(**c);
      copy->source = e.source;
      copy->is_routine = copy->is_routine || e.in_routines_folder;
      // What a stand-in itself draws (a while loop on {}) is not the file's
      // doing: its own warning says what is there.
      std::erase_if(copy->warnings, [&](const warning& w) {
        return std::any_of(stand_ins.begin(), stand_ins.end(),
                           [&](const warning& s) { return pointer_at_or_under(w.pointer, s.pointer); });
      });
      copy->warnings.insert(copy->warnings.end(), stand_ins.begin(), stand_ins.end());
      lib.by_id_.emplace(copy->id, copy);
      loaded.push_back(std::move(copy));
      return true;
    };
    // Routines first (they call no routines), so that a routine left out
    // is no longer found when the workflows that call it compile.
    for (auto& e : entries)
      if (!e.left_out && is_routine(e) && !compile_entry(e)) return std::move(*failed);
    for (auto& e : entries)
      if (!e.left_out && !is_routine(e) && !compile_entry(e)) return std::move(*failed);
    for (const auto& c : loaded) warn_unknown_delegates(lib, *c);

    std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& p : problems) lib.problems_.push_back(std::move(p.second));
    return lib;
  } catch (const std::bad_alloc&) {
    return error::make(errc::OUT_OF_MEMORY, "out of memory while loading workflows");
  } catch (const std::exception& ex) {
    return error::make(errc::INTERNAL, std::string("loading workflows failed: ") + ex.what());
  }
}

const load_problem* library::problem_for(std::string_view id) const noexcept {
  for (const auto& p : problems_)
    if (!p.workflow_id.empty() && p.workflow_id == id) return &p;
  return nullptr;
}

std::shared_ptr<const compiled> library::find_delegate(std::string_view id) const {
  if (auto c = find(id)) return c;
  // WorkRail files name one routine both ways: "wr.routine-<name>" in a
  // delegation, "routine-<name>" as the routine's id (or the reverse),
  // depending on when each file was written.
  constexpr std::string_view wr = "wr.routine-", plain = "routine-";
  if (id.starts_with(wr)) return find(id.substr(3));
  if (id.starts_with(plain)) return find("wr." + std::string(id));
  return nullptr;
}

std::vector<std::shared_ptr<const compiled>> library::list() const {
  std::vector<std::shared_ptr<const compiled>> out;
  for (const auto& [id, c] : by_id_)
    if (!c->is_routine) out.push_back(c);
  return out;
}

std::shared_ptr<const compiled> library::find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace tokenrail::workflow
