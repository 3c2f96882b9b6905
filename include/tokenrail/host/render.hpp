// Text-first rendering (D11): every host shows an operation's response the
// same way, as markdown an agent (or a person) reads top to bottom: the
// pending step first, then a fenced ```json block with exactly the values
// the agent must hand back (the tokens) and what to do next (nextIntent).
//
// The output is a pure function of the response value: no clock, no
// locale, no hash-map ordering. Object members are printed in the order the
// response holds them, so the same response text renders to the same bytes.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace tokenrail::host {

/// Renders the response of `operation` as markdown.
///  - an error response ({"error": {...}}): its code, numeric code, message,
///    retry advice and details;
///  - a response with a pending step or isComplete (start_workflow,
///    continue_workflow, complete_step, ...): the step (title, step id, agent
///    role, prompt, guidance, loop position, confirmation note, blockers
///    when kind is "blocked") followed by the tokens block;
///  - anything else: a heading naming the operation and the response as an
///    indented ```json block.
/// Never throws on any JSON shape: fields of an unexpected type are shown
/// as JSON instead of being interpreted. (May throw std::bad_alloc.)
std::string render_response(std::string_view operation, const boost::json::value& response);

/// Renders just an error object ({code, numericCode, message, retry,
/// details}) or a full {"error": {...}} response.
std::string render_error(const boost::json::value& error);

/// JSON with two-space indentation and members in their stored order;
/// deterministic. Scalars are serialized as boost::json does.
std::string pretty_json(const boost::json::value& v);

}  // namespace tokenrail::host
