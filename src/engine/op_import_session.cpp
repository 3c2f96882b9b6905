// import_session (D6): verifies a bundle and writes its session in one
// transaction; idempotent (session_bundle.hpp).
#include "engine/context.hpp"
#include "engine/session_bundle.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

std::string op_import_session(engine::impl& e, const boost::json::object& req) {
  import_result res = import_bundle(e, req.at("bundle").as_object());
  boost::json::object r;
  r["sessionId"] = res.session_id;
  boost::json::array runs;
  for (auto& id : res.run_ids) runs.emplace_back(id);
  r["runIds"] = std::move(runs);
  r["eventCount"] = res.event_count;
  r["headHash"] = res.head_hash;
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
