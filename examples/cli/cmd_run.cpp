// tokenrail run WORKFLOW --auto: drives a run to completion, answering each
// step with generated notes (a smoke test and a demo of the contract).
#include "cli.hpp"

#include <tokenrail/json/canonical.hpp>
#include <tokenrail/host/render.hpp>
#include <tokenrail/json_parse.hpp>

#include <fstream>
#include <iostream>
#include <set>

namespace tokenrail::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view help = R"(usage: tokenrail run WORKFLOW --auto [options]

Starts WORKFLOW and answers every pending step with generated notes until the
run completes, printing each step. Steps of an artifact-driven loop are
answered with a loop_control artifact: "continue" until the loop has run
--loop-iterations times, then "stop". Confirmation steps are confirmed.

  --auto                 required: answer steps automatically
  --context JSON         the run's initial context (an object)
  --session ID           the session id (generated when absent)
  --loop-iterations N    iterations of each artifact-driven loop (default 1)
  --max-steps N          give up after N steps (default 10000)
  --render               print each step's full markdown rendering
  --trace FILE           append every call as a JSON line {op, request, response}
  --quiet                print only the summary
  --                     end of options: the next argument is WORKFLOW

Exit codes: 0 the run completed, 1 an error or a blocked step, 2 usage.
)";

struct run_options {
  std::string workflow;
  json::value context;
  std::string session;
  std::int64_t loop_iterations = 1;
  std::int64_t max_steps = 10000;
  bool render = false, quiet = false;
  std::string trace;
};

std::optional<std::int64_t> positive(const std::string& s) {
  try {
    std::size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size() || v < 1) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

const json::value* path(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* cur = &v;
  for (auto k : keys) {
    if (!cur->is_object()) return nullptr;
    cur = cur->get_object().if_contains(k);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string str_at(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* s = path(v, keys);
  return s && s->is_string() ? std::string(s->get_string()) : std::string();
}

// Ids of the loops whose condition comes from loop_control artifacts, from
// inspect_workflow's preview (nested loops included).
void artifact_loops(const json::value& preview, std::set<std::string>& out) {
  if (!preview.is_array()) return;
  for (const auto& s : preview.get_array()) {
    if (str_at(s, {"loop", "conditionSource"}) == "artifact_contract") out.insert(str_at(s, {"id"}));
    if (const json::value* body = path(s, {"body"})) artifact_loops(*body, out);
  }
}

class tracer {
 public:
  explicit tracer(const std::string& file) {
    if (!file.empty()) out_.open(file, std::ios::app | std::ios::binary);
  }
  bool ok(const std::string& file) const { return file.empty() || out_.good(); }
  void record(std::string_view op, const std::string& request, const std::string& response) {
    if (!out_.is_open()) return;
    // The response is embedded as the engine wrote it, so the trace keeps
    // its exact bytes for replay comparisons.
    std::string op_text;
    tokenrail::json::append_quoted(op_text, op);
    out_ << "{\"op\":" << op_text << ",\"request\":" << request << ",\"response\":" << response << "}\n";
    out_.flush();
  }

 private:
  std::ofstream out_;
};

// A step title on one line: the progress output is one line per step, and
// a line break would end the notes' "## title" heading.
std::string title_of(const json::value& pending) {
  std::string title = str_at(pending, {"title"});
  for (char& c : title)
    if (c == '\n' || c == '\r') c = ' ';
  return title;
}

std::string notes_for(const json::value& pending, std::int64_t step_no) {
  std::string title = title_of(pending);
  std::string prompt = str_at(pending, {"prompt"});
  if (prompt.size() > 240) {
    // Cut at a character boundary: a cut inside a multi-byte UTF-8 sequence
    // makes the notes invalid UTF-8, and the engine rejects the whole step.
    std::size_t cut = 240;
    while (cut > 0 && (static_cast<unsigned char>(prompt[cut]) & 0xC0) == 0x80) --cut;
    prompt = prompt.substr(0, cut) + "...";
  }
  std::string notes = "## " + title + "\n\nStep " + std::to_string(step_no) + " (`" + str_at(pending, {"stepId"}) +
                      "`) was completed by `tokenrail run --auto`.\n\nInstruction followed:\n\n> " + prompt + "\n";
  return notes;
}

}  // namespace

int cmd_run(const global_options& g, const args& a) {
  if (wants_help(a)) {
    std::cout << help;
    return exit_ok;
  }
  run_options o;
  bool auto_mode = false;
  for (arg_reader r(a); r.next();) {
    const std::string& s = r.arg();
    if (r.is("--auto")) {
      auto_mode = true;
    } else if (r.is("--render")) {
      o.render = true;
    } else if (r.is("--quiet")) {
      o.quiet = true;
    } else if (r.is("--context")) {
      auto v = r.value();
      if (!v) return usage_error("run", "--context needs a JSON object");
      auto parsed = parse_json(*v);
      if (!parsed || !parsed->is_object()) return usage_error("run", "--context must be a JSON object");
      o.context = std::move(parsed).value();
    } else if (r.is("--session")) {
      auto v = r.value();
      if (!v) return usage_error("run", "--session needs an id");
      o.session = *v;
    } else if (r.is("--loop-iterations") || r.is("--max-steps")) {
      auto v = r.value();
      auto n = v ? positive(*v) : std::nullopt;
      if (!n) return usage_error("run", s + " needs a positive number");
      (s == "--max-steps" ? o.max_steps : o.loop_iterations) = *n;
    } else if (r.is("--trace")) {
      auto v = r.value();
      if (!v) return usage_error("run", "--trace needs a file");
      o.trace = *v;
    } else if (r.looks_like_option()) {
      return usage_error("run", "unknown option " + s);
    } else if (o.workflow.empty()) {
      o.workflow = s;
    } else {
      return usage_error("run", "unexpected argument " + s);
    }
  }
  if (o.workflow.empty()) return usage_error("run", "missing the workflow id");
  if (!auto_mode) return usage_error("run", "only --auto is supported (drive runs interactively with 'call' or 'mcp')");

  tracer trace(o.trace);
  if (!trace.ok(o.trace)) return usage_error("run", "cannot open the trace file " + o.trace);
  auto e = open_engine(g);
  if (!e) return exit_error;

  auto traced_call = [&](std::string_view op, const json::value& req) {
    std::string text = tokenrail::json::serialize(req);
    auto r = call_text(*e, op, text);
    trace.record(op, text, r.text);
    return r;
  };

  std::set<std::string> loops_by_artifact;
  {
    json::object req;
    req["workflowId"] = o.workflow;
    auto r = call(*e, "inspect_workflow", req);
    if (r.is_error()) {
      std::cerr << host::render_error(r.value);
      return exit_error;
    }
    if (const json::value* p = path(r.value, {"preview"})) artifact_loops(*p, loops_by_artifact);
  }

  json::object start;
  start["workflowId"] = o.workflow;
  if (o.context.is_object()) start["context"] = o.context;
  if (!o.session.empty()) start["sessionId"] = o.session;
  auto r = traced_call("start_workflow", start);
  if (r.is_error()) {
    std::cerr << host::render_error(r.value);
    return exit_error;
  }
  std::string run_id = str_at(r.value, {"session", "runId"});
  if (!o.quiet)
    std::cout << "started run " << run_id << " of " << o.workflow << " in session "
              << str_at(r.value, {"session", "sessionId"}) << "\n";

  std::int64_t steps = 0;
  for (;;) {
    const json::value* complete = path(r.value, {"isComplete"});
    if (complete && complete->is_bool() && complete->get_bool()) break;
    const json::value* pending = path(r.value, {"pending"});
    if (!pending || !pending->is_object()) {
      std::cerr << "tokenrail run: the response has neither a pending step nor isComplete\n" << r.text << "\n";
      return exit_error;
    }
    if (steps >= o.max_steps) {
      std::cerr << "tokenrail run: stopped after --max-steps " << o.max_steps << " steps\n";
      return exit_error;
    }
    ++steps;

    // The innermost artifact-driven loop this step belongs to, if any.
    std::string loop_id;
    std::int64_t iteration = 0;
    if (const json::value* loops = path(*pending, {"loops"}); loops && loops->is_array()) {
      for (const auto& l : loops->get_array()) {
        std::string id = str_at(l, {"loopId"});
        if (loops_by_artifact.count(id)) {
          loop_id = id;
          const json::value* it = path(l, {"iteration"});
          iteration = it && it->is_int64() ? it->get_int64() : 1;
        }
      }
    }
    json::object output;
    output["notesMarkdown"] = notes_for(*pending, steps);
    std::string decision;
    if (!loop_id.empty()) {
      decision = iteration < o.loop_iterations ? "continue" : "stop";
      json::object artifact;
      artifact["kind"] = "loop_control";
      artifact["loopId"] = loop_id;
      artifact["decision"] = decision;
      output["artifacts"] = json::array{std::move(artifact)};
    }

    if (o.render) {
      std::cout << host::render_response(steps == 1 ? "start_workflow" : "continue_workflow", r.value) << "\n";
    } else if (!o.quiet) {
      std::cout << "[" << steps << "] " << title_of(*pending) << "  (" << str_at(*pending, {"stepId"}) << ")";
      if (!loop_id.empty()) std::cout << "  loop " << loop_id << " iteration " << iteration << ": " << decision;
      const json::value* confirm = path(*pending, {"requireConfirmation"});
      if (confirm && confirm->is_bool() && confirm->get_bool()) std::cout << "  [confirmed]";
      std::cout << "\n";
    }

    json::object next;
    next["stateToken"] = str_at(r.value, {"stateToken"});
    next["ackToken"] = str_at(r.value, {"ackToken"});
    next["output"] = std::move(output);
    r = traced_call("continue_workflow", next);
    if (r.is_error()) {
      std::cerr << host::render_error(r.value);
      return exit_error;
    }
    if (str_at(r.value, {"kind"}) == "blocked") {
      std::cerr << "tokenrail run: the step was blocked; generated notes do not satisfy it\n"
                << host::render_response("continue_workflow", r.value);
      return exit_error;
    }
  }
  if (o.render) std::cout << host::render_response("continue_workflow", r.value) << "\n";
  std::cout << "completed run " << run_id << " in " << steps << " steps\n";
  if (!o.quiet) std::cout << "final stateToken " << str_at(r.value, {"stateToken"}) << "\n";
  return exit_ok;
}

}  // namespace tokenrail::cli
