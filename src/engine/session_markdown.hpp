// The rendered export of a session (issue 8, seed 004 "rendered exports"):
// Markdown for humans, projected from a session bundle (session_bundle.hpp).
//
// Layout: the session's heading and facts; then per run (in start order) its
// workflow, phase, context, and its steps in order as a bullet list. Under a
// step: the checkpoints recorded on that snapshot, then the notes, artifacts
// and context given when it was acknowledged. A snapshot advanced more than
// once (a rewind) shows "Fork at `step`" with one nested "Branch" list per
// child, in creation order; the preferred tip is marked.
//
// Deterministic (golden-tested); works on any bundle that import_session
// accepts, so a host can render a bundle file without a store.
#pragma once

#include <boost/json/object.hpp>

#include <string>

namespace tokenrail::engine_detail {

/// Markdown of the session in `bundle`. Never throws on a well-formed bundle
/// (a bundle export_bundle produced or import_bundle accepted); fields of an
/// unexpected type are shown as absent rather than failing.
std::string render_session_markdown(const boost::json::object& bundle);

}  // namespace tokenrail::engine_detail
