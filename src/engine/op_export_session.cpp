// export_session (D6): a session as one portable, verifiable JSON bundle
// (session_bundle.hpp), or with format "markdown" its rendered export
// (session_markdown.hpp). Read-only.
#include "engine/context.hpp"
#include "engine/session_bundle.hpp"
#include "engine/session_markdown.hpp"

#include <tokenrail/json/canonical.hpp>

namespace tokenrail::engine_detail {

std::string op_export_session(engine::impl& e, const boost::json::object& req) {
  const std::string session(req.at("sessionId").as_string());
  const bool markdown = member(req, "format") && member(req, "format")->as_string() == "markdown";
  boost::json::object bundle;
  e.store->read([&](storage::read_transaction& tx) { bundle = export_bundle(tx, session); });
  boost::json::object r;
  if (markdown) {
    r["sessionId"] = session;
    r["format"] = "markdown";
    r["markdown"] = render_session_markdown(bundle);
  } else {
    r["bundle"] = std::move(bundle);
  }
  return tokenrail::json::serialize(r);
}

}  // namespace tokenrail::engine_detail
