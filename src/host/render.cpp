// Text-first rendering of responses (see include/tokenrail/host/render.hpp).
#include <tokenrail/host/render.hpp>
#include <tokenrail/json/canonical.hpp>

#include <boost/json/string.hpp>

#include <algorithm>
#include <cstddef>
#include <string>

namespace tokenrail::host {
namespace {

namespace json = boost::json;

void pretty_to(std::string& out, const json::value& v, int indent) {
  auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<std::size_t>(level) * 2, ' ');
  };
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += '{';
    bool first = true;
    for (const auto& kv : o) {
      if (!first) out += ',';
      first = false;
      newline(indent + 1);
      out += tokenrail::json::serialize(json::value(json::string_view(kv.key())));
      out += ": ";
      pretty_to(out, kv.value(), indent + 1);
    }
    newline(indent);
    out += '}';
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    bool first = true;
    for (const auto& e : a) {
      if (!first) out += ',';
      first = false;
      newline(indent + 1);
      pretty_to(out, e, indent + 1);
    }
    newline(indent);
    out += ']';
  } else {
    out += tokenrail::json::serialize(v);
  }
}

// A code fence longer than any run of backticks inside `body`, so text that
// itself contains ``` cannot close our block early.
std::string fence_for(std::string_view body) {
  std::size_t longest = 0, run = 0;
  for (char c : body) {
    run = (c == '`') ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void json_block(std::string& out, const json::value& v) {
  std::string body = pretty_json(v);
  std::string fence = fence_for(body);
  out += fence;
  out += "json\n";
  out += body;
  out += '\n';
  out += fence;
  out += '\n';
}

const json::value* member(const json::value& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  return v.get_object().if_contains(key);
}

// The string at `key`, or empty when absent or not a string.
std::string_view str(const json::value& v, std::string_view key) {
  const json::value* m = member(v, key);
  if (m && m->is_string()) return m->get_string();
  return {};
}

// A value shown inline: strings as they are, anything else as compact JSON.
std::string inline_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return tokenrail::json::serialize(v);
}

std::string code_span(std::string_view s) {
  std::string fence = (s.find('`') == std::string_view::npos) ? "`" : "``";
  std::string out = fence;
  if (fence.size() > 1) out += ' ';
  out += s;
  if (fence.size() > 1) out += ' ';
  out += fence;
  return out;
}

// If `text` leaves a fenced code block open (``` or ~~~ without its closing
// line), the fence that closes it; empty otherwise. Without it an unclosed
// fence in a prompt would swallow the tokens block rendered after it.
std::string unclosed_fence(std::string_view text) {
  std::string open;  // the opening fence run while inside a block
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    std::size_t indent = line.find_first_not_of(' ');
    if (indent != std::string_view::npos && indent <= 3) {
      line.remove_prefix(indent);
      char c = line.empty() ? 0 : line.front();
      if (c == '`' || c == '~') {
        std::size_t run = line.find_first_not_of(c);
        if (run == std::string_view::npos) run = line.size();
        if (run >= 3) {
          if (open.empty()) {
            open.assign(run, c);
          } else if (c == open.front() && run >= open.size() &&
                     line.find_first_not_of(" \t\r", run) == std::string_view::npos) {
            open.clear();
          }
        }
      }
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return open;
}

// A title on one line: a line break inside "# title" ends the heading, and
// the rest of the title would show as a stray paragraph.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

bool truthy_confirmation(const json::value* v) {
  if (!v) return false;
  if (v->is_bool()) return v->get_bool();
  return v->is_object();  // {"message": ...} style confirmations
}

void render_blockers(std::string& out, const json::value& blockers) {
  out += "## Blocked\n\nThe step did not advance. Fix the following and continue again with the same tokens:\n\n";
  if (!blockers.is_array()) {
    json_block(out, blockers);
    out += '\n';
    return;
  }
  for (const auto& b : blockers.get_array()) {
    if (!b.is_object()) {
      out += "- " + inline_text(b) + "\n";
      continue;
    }
    out += "- ";
    std::string_view code = str(b, "code");
    if (!code.empty()) out += "**" + std::string(code) + "**";
    std::string_view pointer = str(b, "pointer");
    if (pointer.empty()) pointer = str(b, "path");
    if (!pointer.empty()) out += (code.empty() ? "at " : " at ") + code_span(pointer);
    std::string_view message = str(b, "message");
    if (!message.empty()) out += (code.empty() && pointer.empty() ? "" : ": ") + std::string(message);
    out += '\n';
    std::string_view fix = str(b, "suggestedFix");
    if (fix.empty()) fix = str(b, "fix");
    if (!fix.empty()) out += "  - Suggested fix: " + std::string(fix) + "\n";
  }
  out += '\n';
}

// Loop position of the pending step, when the engine reports one (any of
// pending.loop / pending.loops). Shown as key: value pairs, not interpreted,
// except for the loop_control hint an agent needs to end an artifact loop.
void render_loop(std::string& out, const json::value& pending) {
  const json::value* loop = member(pending, "loop");
  if (!loop) loop = member(pending, "loops");
  if (!loop || loop->is_null()) return;
  out += "## Loop\n\n";
  auto one = [&](const json::value& l) {
    if (!l.is_object()) {
      out += "- " + inline_text(l) + "\n";
      return;
    }
    out += "-";
    bool first = true;
    for (const auto& kv : l.get_object()) {
      out += first ? " " : ", ";
      first = false;
      out += std::string(kv.key()) + ": " + code_span(inline_text(kv.value()));
    }
    out += '\n';
  };
  if (loop->is_array()) {
    for (const auto& l : loop->get_array()) one(l);
  } else {
    one(*loop);
  }
  out += '\n';
}

void render_tokens(std::string& out, const json::value& response) {
  json::object block;
  for (std::string_view key : {"stateToken", "ackToken", "checkpointToken", "nextIntent"}) {
    const json::value* v = member(response, key);
    if (v && !v->is_null()) block[key] = *v;
  }
  std::string_view intent = str(response, "nextIntent");
  if (intent == "perform_pending_then_continue") {
    out += "Perform the step above, then call `continue_workflow` with this `stateToken` and "
           "`ackToken` (and your notes in `output.notesMarkdown`). Hand the tokens back unchanged.\n\n";
  } else if (intent == "await_user_confirmation") {
    out += "Wait for the user's confirmation, then call `continue_workflow` with this `stateToken` and "
           "`ackToken`. Hand the tokens back unchanged.\n\n";
  } else if (intent == "complete") {
    out += "The workflow is complete; keep the `stateToken` to look back or branch from here.\n\n";
  }
  json_block(out, block);
}

void render_step_response(std::string& out, const json::value& response) {
  const json::value* pending = member(response, "pending");
  const json::value* complete = member(response, "isComplete");
  bool is_complete = complete && complete->is_bool() && complete->get_bool();
  const json::value* session = member(response, "session");

  if (pending && pending->is_object()) {
    std::string_view title = str(*pending, "title");
    out += "# " + one_line(title.empty() ? std::string_view("Pending step") : title) + "\n\n";
    std::string line;
    std::string_view step_id = str(*pending, "stepId");
    if (!step_id.empty()) line += "Step " + code_span(step_id);
    if (session) {
      std::string_view run = str(*session, "runId");
      if (!run.empty()) line += (line.empty() ? "Run " : " · run ") + code_span(run);
    }
    if (!line.empty()) out += line + "\n\n";
    std::string_view role = str(*pending, "agentRole");
    if (!role.empty()) out += "**Agent role:** " + std::string(role) + "\n\n";
    const json::value* prompt = member(*pending, "prompt");
    if (prompt && prompt->is_string()) {
      std::string_view p = prompt->get_string();
      out += std::string(p);
      if (p.empty() || p.back() != '\n') out += '\n';
      std::string close = unclosed_fence(p);
      if (!close.empty()) out += close + "\n";
      out += '\n';
    }
    const json::value* guidance = member(*pending, "guidance");
    if (guidance && guidance->is_array() && !guidance->get_array().empty()) {
      out += "## Guidance\n\n";
      for (const auto& g : guidance->get_array()) out += "- " + inline_text(g) + "\n";
      out += '\n';
    }
    render_loop(out, *pending);
    const json::value* contract = member(*pending, "outputContract");
    if (contract && !contract->is_null()) {
      out += "## Output contract\n\n";
      std::string_view ref = str(*contract, "contractRef");
      if (!ref.empty()) {
        const json::value* required = member(*contract, "required");
        bool req = !required || !required->is_bool() || required->get_bool();
        out += std::string(req ? "Required" : "Optional") + ": submit an artifact for " + code_span(ref) +
               " in `output.artifacts`.\n\n";
      } else {
        json_block(out, *contract);
        out += '\n';
      }
    }
    const json::value* confirm = member(*pending, "requireConfirmation");
    if (truthy_confirmation(confirm)) {
      out += "> **Confirmation required:** show the user what this step produced and wait for "
             "their explicit confirmation before continuing.";
      // The engine puts a step's confirmation text in pending.confirmationMessage.
      std::string_view msg = str(*pending, "confirmationMessage");
      if (msg.empty() && confirm->is_object()) msg = str(*confirm, "message");
      if (!msg.empty()) out += "\n> " + std::string(msg);
      out += "\n\n";
    }
  } else if (is_complete) {
    out += "# Workflow complete\n\n";
    if (session) {
      std::string_view run = str(*session, "runId");
      if (!run.empty()) out += "Run " + code_span(run) + " has no more steps.\n\n";
    }
  } else {
    out += "# No pending step\n\n";
  }

  if (str(response, "kind") == "blocked" || member(response, "blockers")) {
    const json::value* blockers = member(response, "blockers");
    render_blockers(out, blockers ? *blockers : json::value(json::array()));
  }
  const json::value* warnings = member(response, "warnings");
  if (warnings && warnings->is_array() && !warnings->get_array().empty()) {
    out += "## Warnings\n\n";
    for (const auto& w : warnings->get_array()) {
      std::string_view msg = str(w, "message");
      out += "- " + (msg.empty() ? inline_text(w) : std::string(msg)) + "\n";
    }
    out += '\n';
  }
  render_tokens(out, response);
}

void render_workflow_list(std::string& out, const json::array& workflows) {
  out += "# Workflows\n\n";
  if (workflows.empty()) out += "No workflows are loaded.\n\n";
  for (const auto& w : workflows) {
    std::string_view id = str(w, "workflowId");
    if (id.empty()) id = str(w, "id");
    std::string_view name = str(w, "name");
    out += "- **" + std::string(name.empty() ? id : name) + "** (" + code_span(id);
    std::string_view version = str(w, "version");
    if (!version.empty()) out += ", " + std::string(version);
    out += ")";
    std::string_view description = str(w, "description");
    if (!description.empty()) out += ": " + std::string(description);
    out += "\n";
  }
  if (!workflows.empty()) out += "\nStart one with `start_workflow` and its `workflowId`.\n";
}

// Workflow files the engine left out (invalidWorkflowFiles "skip"): the
// agent may be asked to start one of them, and the user to fix them.
void render_skipped_files(std::string& out, const json::array& skipped) {
  if (skipped.empty()) return;
  out += "\n## Workflow files left out\n\n";
  for (const auto& f : skipped) {
    const json::value* err = member(f, "error");
    const std::string_view file = str(f, "file");
    out += "- " + code_span(file);
    if (std::string_view id = str(f, "workflowId"); !id.empty()) out += " (" + code_span(id) + ")";
    if (err) {
      std::string_view message = str(*err, "message");
      // The engine prefixes the message with the file, already shown.
      if (!file.empty() && message.starts_with(file) && message.substr(file.size()).starts_with(": "))
        message.remove_prefix(file.size() + 2);
      out += ": " + code_span(str(*err, "code")) + " " + std::string(message);
    }
    out += "\n";
  }
}

void render_candidates(std::string& out, const json::array& candidates) {
  out += "# Runs to resume\n\n";
  if (candidates.empty()) {
    out += "Nothing matched.\n";
    return;
  }
  json::array tokens;
  std::size_t n = 0;
  for (const auto& c : candidates) {
    out += std::to_string(++n) + ". " + code_span(str(c, "workflowId")) + ", run " + code_span(str(c, "runId")) +
           " in session " + code_span(str(c, "sessionId"));
    const json::value* complete = member(c, "isComplete");
    if (complete && complete->is_bool() && complete->get_bool()) out += ": complete";
    else if (!str(c, "pendingStepId").empty()) out += ": pending " + code_span(str(c, "pendingStepId"));
    out += "\n";
    std::string_view why = str(c, "whyMatched");
    if (!why.empty()) out += "   - matched on " + std::string(why) + "\n";
    json::object t;
    t["runId"] = str(c, "runId");
    t["stateToken"] = str(c, "stateToken");
    tokens.push_back(std::move(t));
  }
  out += "\nTo resume, call `continue_workflow` with a candidate's `stateToken` and no `ackToken`: it returns "
         "the pending step and a fresh `ackToken`.\n\n";
  json_block(out, tokens);
}

void render_checkpoint(std::string& out, const json::value& response) {
  const json::value& cp = *member(response, "checkpoint");
  out += "# Checkpoint recorded\n\n";
  std::string_view node = str(cp, "nodeId");
  if (!node.empty()) out += "Saved at node " + code_span(node) + "; the run did not advance.\n\n";
  json::object block;
  for (std::string_view key : {"stateToken", "checkpointToken"}) {
    const json::value* v = member(response, key);
    if (v && !v->is_null()) block[key] = *v;
  }
  json_block(out, block);
}

}  // namespace

std::string pretty_json(const json::value& v) {
  std::string out;
  pretty_to(out, v, 0);
  return out;
}

std::string render_error(const json::value& error_value) {
  const json::value* inner = member(error_value, "error");
  const json::value& e = inner ? *inner : error_value;
  std::string out;
  std::string_view code = str(e, "code");
  out += "# Error " + code_span(code.empty() ? std::string_view("UNKNOWN") : code);
  const json::value* num = member(e, "numericCode");
  if (num && (num->is_int64() || num->is_uint64())) out += " (" + tokenrail::json::serialize(*num) + ")";
  out += "\n\n";
  std::string_view message = str(e, "message");
  if (!message.empty()) out += std::string(message) + "\n\n";
  const json::value* retry = member(e, "retry");
  if (retry) {
    std::string_view kind = retry->is_object() ? str(*retry, "kind") : std::string_view{};
    if (kind == "not_retryable") {
      out += "Retry: not retryable — change the request.\n\n";
    } else if (kind == "retryable_immediate") {
      out += "Retry: the same request may be retried now.\n\n";
    } else if (kind == "retryable_after_ms") {
      const json::value* after = member(*retry, "afterMs");
      out += "Retry: the same request may be retried after " +
             (after ? tokenrail::json::serialize(*after) : std::string("some")) + " ms.\n\n";
    } else {
      out += "Retry: " + inline_text(*retry) + "\n\n";
    }
  }
  const json::value* details = member(e, "details");
  if (details && !details->is_null()) {
    out += "Details:\n\n";
    json_block(out, *details);
  }
  return out;
}

std::string render_response(std::string_view operation, const json::value& response) {
  if (member(response, "error")) return render_error(response);
  std::string out;
  if (member(response, "pending") || member(response, "isComplete")) {
    render_step_response(out, response);
    return out;
  }
  if (const json::value* w = member(response, "workflows"); w && w->is_array() && operation == "list_workflows") {
    render_workflow_list(out, w->get_array());
    if (const json::value* s = member(response, "skippedFiles"); s && s->is_array()) render_skipped_files(out, s->get_array());
    return out;
  }
  if (const json::value* c = member(response, "candidates"); c && c->is_array()) {
    render_candidates(out, c->get_array());
    return out;
  }
  if (const json::value* cp = member(response, "checkpoint"); cp && cp->is_object()) {
    render_checkpoint(out, response);
    return out;
  }
  out += "# " + code_span(operation.empty() ? std::string_view("response") : operation) + "\n\n";
  json_block(out, response);
  return out;
}

}  // namespace tokenrail::host
