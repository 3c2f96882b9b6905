// compile(): expansion, validation, program, pinning hash - one error out.
#include "workflow/expand.hpp"
#include "workflow/program.hpp"

#include <tokenrail/crypto/hash.hpp>
#include <tokenrail/json_parse.hpp>

#include <new>

namespace tokenrail::workflow {
namespace json = boost::json;

result<std::shared_ptr<const compiled>> compile(const json::value& definition, const routine_resolver& routines) {
  std::vector<pointer_origin> origins;
  try {
    auto out = std::make_shared<compiled>();
    out->definition = expand_templates(definition, routines, &origins);
    definition_meta meta;
    out->prog = parse_definition(out->definition, meta, out->warnings);
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
