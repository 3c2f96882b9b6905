// The operations engine::call dispatches. One row per operation; see
// context.hpp for how to add one.
#include "engine/context.hpp"

namespace tokenrail::engine_detail {

const std::vector<op_entry>& op_table() {
  static const std::vector<op_entry> table = {
      {"list_workflows", &op_list_workflows},
      {"inspect_workflow", &op_inspect_workflow},
      {"start_workflow", &op_start_workflow},
      {"continue_workflow", &op_continue_workflow},
      {"checkpoint_workflow", &op_checkpoint_workflow},
      {"get_run", &op_get_run},
      {"rotate_key", &op_rotate_key},
      {"suspend_step", &op_suspend_step},
      {"complete_step", &op_complete_step},
      {"expire_callbacks", &op_expire_callbacks},
      {"cancel_run", &op_cancel_run},
      {"resume_session", &op_resume_session},
      {"export_session", &op_export_session},
      {"import_session", &op_import_session},
      {"verify", &op_verify},
      {"delete_sessions", &op_delete_sessions},
  };
  return table;
}

}  // namespace tokenrail::engine_detail
