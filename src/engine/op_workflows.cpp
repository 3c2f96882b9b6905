// list_workflows and inspect_workflow (D6): read-only views of the library.
#include "engine/context.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

std::string op_list_workflows(engine::impl& e, const boost::json::object&) {
  boost::json::array list;
  for (const auto& wf : e.library.list()) {
    boost::json::object o;
    o["workflowId"] = wf->id;
    o["name"] = wf->name;
    o["description"] = wf->description;
    o["version"] = wf->version;
    o["workflowHash"] = wf->workflow_hash;
    list.push_back(std::move(o));
  }
  boost::json::object r;
  r["workflows"] = std::move(list);
  // Files left out at load (config invalidWorkflowFiles "skip"): what an
  // author needs to fix them. Absent when there are none.
  if (const auto& problems = e.library.problems(); !problems.empty()) {
    boost::json::array skipped;
    for (const auto& p : problems) {
      boost::json::object o;
      o["file"] = p.file;
      if (!p.workflow_id.empty()) o["workflowId"] = p.workflow_id;
      o["error"] = p.err.to_json().at("error");
      skipped.push_back(std::move(o));
    }
    r["skippedFiles"] = std::move(skipped);
  }
  return tokenrail::json::serialize(r);
}

std::string op_inspect_workflow(engine::impl& e, const boost::json::object& req) {
  const auto& id = req.at("workflowId").as_string();
  auto wf = e.library.find(std::string_view(id.data(), id.size()));
  if (!wf) fail_workflow_not_found(e, id, "/workflowId", "no workflow has the id '" + std::string(id) + "'");
  boost::json::object r;
  r["workflowId"] = wf->id;
  r["name"] = wf->name;
  r["description"] = wf->description;
  r["version"] = wf->version;
  r["workflowHash"] = wf->workflow_hash;
  r["isRoutine"] = wf->is_routine;
  r["preview"] = workflow::preview(*wf->prog);
  boost::json::array warnings;
  for (const auto& w : wf->warnings) {
    boost::json::object o;
    o["pointer"] = w.pointer;
    o["message"] = w.message;
    warnings.push_back(std::move(o));
  }
  r["warnings"] = std::move(warnings);
  if (auto* inc = member(req, "includeDefinition"); inc && inc->as_bool()) r["definition"] = wf->definition;
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
