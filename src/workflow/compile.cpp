// compile(): expansion, validation, program, pinning hash - one error out.
#include "workflow/expand.hpp"
#include "workflow/program.hpp"

#include <tokenrail/crypto/hash.hpp>
#include <tokenrail/json_parse.hpp>

#include <new>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

// Definitions deeper than this are refused before anything recurses over
// them (canonical JSON, validation, destruction of copies): compile() takes
// any in-memory value, not only what parse_json (depth-limited) produced.
constexpr std::size_t max_definition_depth = 128;

// Iterative, so it is safe on any depth. Throws at the first value that is
// too deep, naming its pointer.
void check_depth(const json::value& root) {
  struct frame {
    const json::value* v;
    std::size_t parent;
    std::string key;   // the reference token from the parent
  };
  std::vector<frame> nodes{{&root, SIZE_MAX, {}}};
  std::vector<std::pair<std::size_t, std::size_t>> stack{{0, 0}};   // node, depth
  while (!stack.empty()) {
    auto [n, depth] = stack.back();
    stack.pop_back();
    const json::value& v = *nodes[n].v;
    if (!v.is_structured()) continue;
    if (depth >= max_definition_depth) {
      std::vector<const std::string*> path;
      for (std::size_t i = n; i != 0 && i != SIZE_MAX; i = nodes[i].parent) path.push_back(&nodes[i].key);
      std::string pointer;
      for (auto it = path.rbegin(); it != path.rend(); ++it) pointer = pointer_join(pointer, **it);
      throw_at(errc::WORKFLOW_INVALID, pointer, "JSON nested at most 128 levels deep");
    }
    if (v.is_array()) {
      const auto& a = v.get_array();
      for (std::size_t i = a.size(); i-- > 0;) {
        nodes.push_back({&a[i], n, std::to_string(i)});
        stack.emplace_back(nodes.size() - 1, depth + 1);
      }
    } else {
      const auto& o = v.get_object();
      for (auto it = o.end(); it != o.begin();) {
        --it;
        nodes.push_back({&it->value(), n, std::string(it->key())});
        stack.emplace_back(nodes.size() - 1, depth + 1);
      }
    }
  }
}

}  // namespace

result<std::shared_ptr<const compiled>> compile(const json::value& definition, const routine_resolver& routines) {
  std::vector<pointer_origin> origins;
  try {
    check_depth(definition);
    auto out = std::make_shared<compiled>();
    out->definition = expand_templates(definition, routines, &origins, &out->warnings);
    // An arg inserted whole (an object, an array) can nest the expanded
    // definition deeper than the file; the pinned definition must compile again.
    if (!origins.empty()) check_depth(out->definition);
    const std::size_t expansion_warnings = out->warnings.size();   // already in file pointers
    definition_meta meta;
    out->prog = parse_definition(out->definition, meta, out->warnings);
    // Like errors (below), warnings found after expansion name the file's
    // field: the author reads the file, where indexes after a templateCall
    // differ. Inside a routine's step the call is named, and the message
    // keeps the expanded pointer.
    if (!origins.empty())
      for (std::size_t i = expansion_warnings; i < out->warnings.size(); ++i) {
        warning& w = out->warnings[i];
        const std::string source = source_pointer(origins, w.pointer);
        if (source == w.pointer) continue;
        if (source.ends_with("/templateCall") || source.find("/templateCall/args/") != std::string::npos)
          w.message += " (at " + w.pointer + " of the expanded definition)";
        w.pointer = source;
      }
    out->id = std::move(meta.id);
    out->name = std::move(meta.name);
    out->description = std::move(meta.description);
    out->version = std::move(meta.version);
    out->is_routine = is_routine_id(out->id);
    out->workflow_hash = crypto::workflow_hash(out->definition);
    return std::shared_ptr<const compiled>(std::move(out));
  } catch (const failure& f) {
    error e = f.err();
    // The hash refuses non-finite doubles as INVALID_REQUEST; for a
    // definition that is a definition problem.
    if (e.code == errc::INVALID_REQUEST) e.code = errc::WORKFLOW_INVALID;
    // Errors found after expansion name the file's field, not the expanded one.
    if (!origins.empty() && e.details.is_object())
      if (auto* p = e.details.as_object().if_contains("pointer"); p && p->is_string()) {
        const std::string expanded(p->as_string());
        const std::string source = source_pointer(origins, expanded);
        if (source != expanded) {
          e.details.as_object()["pointer"] = source;
          e.details.as_object()["expandedPointer"] = expanded;
          if (auto at = e.message.find(expanded); at != std::string::npos) e.message.replace(at, expanded.size(), source);
        }
      }
    return e;
  } catch (const std::bad_alloc&) {
    return error::make(errc::OUT_OF_MEMORY, "out of memory while compiling a workflow");
  } catch (const std::exception& ex) {
    return error::make(errc::INTERNAL, std::string("compiling a workflow failed: ") + ex.what());
  }
}

result<std::shared_ptr<const compiled>> compile_text(std::string_view json_text, const routine_resolver& routines) {
  json_limits limits;
  limits.max_depth = 128;
  auto parsed = parse_json(json_text, limits);
  if (!parsed) return parsed.error();
  return compile(*parsed, routines);
}

bool is_routine_id(std::string_view id) noexcept {
  return id.starts_with("wr.routine-") || id.starts_with("routine-");
}

}  // namespace tokenrail::workflow
