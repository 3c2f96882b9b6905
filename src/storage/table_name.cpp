// Names of the record tables: LMDB database names and diagnostics.
#include <tokenrail/storage/store.hpp>

namespace tokenrail::storage {

std::string_view table_name(table t) noexcept {
  switch (t) {
    case table::meta: return "meta";
    case table::workflows: return "workflows";
    case table::sessions: return "sessions";
    case table::runs: return "runs";
    case table::nodes: return "nodes";
    case table::acks: return "acks";
    case table::events: return "events";
    case table::callbacks: return "callbacks";
    case table::indexes: return "indexes";
  }
  return "unknown";
}

}  // namespace tokenrail::storage
