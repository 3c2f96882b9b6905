// library::load: every *.json under the configured directories, plus
// in-memory definitions, compiled against each other's routines.
#include <tokenrail/json_parse.hpp>
#include <tokenrail/workflow/library.hpp>

#include <boost/json/object.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace tokenrail::workflow {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_file_bytes = 8u << 20;

struct entry {
  std::string source;
  json::value definition;
  bool in_routines_folder = false;
};

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

bool under_routines_folder(const fs::path& file, const fs::path& root) {
  const fs::path rel = file.lexically_relative(root).parent_path();
  return std::any_of(rel.begin(), rel.end(), [](const fs::path& part) { return part == "routines"; });
}

}  // namespace

result<library> library::load(const std::vector<std::string>& dirs, const std::vector<json::value>& in_memory) {
  try {
    std::vector<entry> entries;
    for (const auto& dir : dirs) {
      std::error_code ec;
      if (!fs::is_directory(dir, ec))
        return error::make(errc::INVALID_CONFIG, "workflow directory does not exist or is not a directory: " + dir,
                           json::object{{"file", dir}});
      std::vector<fs::path> files;
      fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
      for (; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".json" && it->is_regular_file(ec)) files.push_back(it->path());
      if (ec)
        return error::make(errc::INVALID_CONFIG, "cannot scan workflow directory " + dir + ": " + ec.message(),
                           json::object{{"file", dir}});
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        auto def = read_definition(f);
        if (!def) return with_file(std::move(def).error(), f.string());
        entries.push_back({f.string(), std::move(*def), under_routines_folder(f, dir)});
      }
    }
    for (std::size_t i = 0; i < in_memory.size(); ++i)
      entries.push_back({"<memory #" + std::to_string(i) + ">", in_memory[i], false});

    // Index by id first: routines must resolve against the whole set.
    std::map<std::string, const entry*, std::less<>> by_id;
    for (const auto& e : entries) {
      if (!e.definition.is_object()) continue;   // compile() reports it below
      auto id = e.definition.get_object().find("id");
      if (id == e.definition.get_object().end() || !id->value().is_string()) continue;
      auto [pos, fresh] = by_id.emplace(std::string(id->value().get_string()), &e);
      if (!fresh)
        return error::make(errc::WORKFLOW_DUPLICATE_ID,
                           "two workflow files declare the id \"" + pos->first + "\": " + pos->second->source +
                               " and " + e.source,
                           json::object{{"id", pos->first}, {"first", pos->second->source}, {"second", e.source}});
    }
    const routine_resolver resolve = [&](std::string_view id) -> const json::value* {
      auto it = by_id.find(id);
      return it == by_id.end() ? nullptr : &it->second->definition;
    };

    library lib;
    for (const auto& e : entries) {
      auto c = compile(e.definition, resolve);
      if (!c) return with_file(std::move(c).error(), e.source);
      auto copy = std::make_shared<compiled>(**c);
      copy->source = e.source;
      copy->is_routine = copy->is_routine || e.in_routines_folder;
      lib.by_id_.emplace(copy->id, std::move(copy));
    }
    return lib;
  } catch (const std::bad_alloc&) {
    return error::make(errc::OUT_OF_MEMORY, "out of memory while loading workflows");
  } catch (const std::exception& ex) {
    return error::make(errc::INTERNAL, std::string("loading workflows failed: ") + ex.what());
  }
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
