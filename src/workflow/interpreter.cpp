// The interpreter: settle on the next runnable step, render it, check the
// agent's output. Pure functions of (program, cursor, context, output).
#include <tokenrail/workflow/interpreter.hpp>

#include "workflow/conditions.hpp"
#include "workflow/program.hpp"
#include "workflow/templating.hpp"
#include "workflow/validation.hpp"

#include <fmt/format.h>

#include <charconv>
#include <memory>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

using decision = loop_frame::decision;

// Upper bound on the transitions one settle may make without reaching a
// step: loops whose bodies are skipped entirely would otherwise spin through
// up to maxIterations^depth empty iterations.
constexpr std::size_t settle_budget = 100'000;

[[noreturn]] void not_fitting(std::string why) {
  fail(errc::INTERNAL, "the cursor does not fit this workflow: " + why);
}

const char* kind_name(loop_kind k) {
  switch (k) {
    case loop_kind::while_loop: return "while";
    case loop_kind::until_loop: return "until";
    case loop_kind::for_loop: return "for";
    case loop_kind::for_each_loop: return "forEach";
  }
  return "while";
}

// The block reached after entering the first `frames` loops of `c`.
const block& block_after(const program& p, const cursor& c, std::size_t frames) {
  const block* b = &p.blocks.at(0);
  for (std::size_t k = 0; k < frames; ++k) {
    const auto idx = c.loops[k].index;
    if (idx >= b->steps.size() || !b->steps[idx].is_loop) not_fitting("loop frame " + std::to_string(k));
    const auto body = b->steps[idx].loop.body;
    if (body >= p.blocks.size()) not_fitting("loop body");
    b = &p.blocks[body];
  }
  return *b;
}

const step& loop_of_frame(const program& p, const cursor& c, std::size_t k) {
  return block_after(p, c, k).steps[c.loops[k].index];   // checked by block_after(k + 1) callers
}

const step& step_at(const program& p, const cursor& c) {
  const block& b = block_after(p, c, c.loops.size());
  if (c.step >= b.steps.size()) not_fitting("step index past the end");
  return b.steps[c.step];
}

// Context + loop variables of every entered loop (outermost first, so inner
// ones shadow outer ones).
scope make_scope(const program& p, const cursor& c, const json::object& ctx) {
  scope s;
  s.context = &ctx;
  for (std::size_t k = 0; k < c.loops.size(); ++k) {
    const step& l = loop_of_frame(p, c, k);
    const auto it = c.loops[k].iteration;
    s.vars.emplace_back(l.loop.iteration_var, json::value(static_cast<std::int64_t>(it) + 1));
    if (l.loop.kind == loop_kind::for_each_loop) {
      const json::value* items = s.lookup(l.loop.items);
      if (items && items->is_array() && it < items->get_array().size()) {
        s.vars.emplace_back(l.loop.item_var, &items->get_array()[it]);
        s.vars.emplace_back(l.loop.index_var, json::value(static_cast<std::int64_t>(it)));
      }
    }
  }
  return s;
}

// Should iteration `n` (0-based) of the innermost loop of `c` run? For
// while/for/forEach `c`'s innermost frame already holds iteration n; for
// until and artifact loops it still holds n - 1 (the one just finished).
bool wants_iteration(const program& p, const cursor& c, std::uint32_t n, const json::object& ctx,
                     std::vector<warning>& w) {
  const step& l = loop_of_frame(p, c, c.loops.size() - 1);
  const loop_spec& spec = l.loop;
  bool wants = false;
  if (spec.artifact_driven) {
    if (n == 0) {
      wants = true;   // the body produces the first decision
    } else {
      const auto last = c.loops.back().last;
      if (last == decision::none)
        w.push_back({l.pointer, "loop \"" + l.id + "\" received no loop_control artifact in iteration " +
                                    std::to_string(n) + "; it stops"});
      wants = last == decision::proceed;
    }
  } else {
    const scope s = make_scope(p, c, ctx);
    switch (spec.kind) {
      case loop_kind::while_loop:
        wants = eval_condition(spec.condition, s, w, l.pointer, spec.condition_at);
        break;
      case loop_kind::until_loop:
        wants = n == 0 || !eval_condition(spec.condition, s, w, l.pointer, spec.condition_at);
        break;
      case loop_kind::for_loop: {
        double count = 0;
        if (spec.count_number) {
          count = static_cast<double>(*spec.count_number);
        } else {
          const json::value* v = s.lookup(spec.count_var);
          auto num = v ? as_number(*v) : std::nullopt;
          if (num) count = *num;
          else w.push_back({l.pointer + "/loop/count", "loop \"" + l.id + "\": count variable \"" + spec.count_var +
                                                           "\" is not a number; the loop does not run"});
        }
        wants = static_cast<double>(n) < count;
        break;
      }
      case loop_kind::for_each_loop: {
        const json::value* items = s.lookup(spec.items);
        if (!items || !items->is_array()) {
          w.push_back({l.pointer + "/loop/items", "loop \"" + l.id + "\": \"" + spec.items +
                                                      "\" is not an array in the context; the loop does not run"});
          wants = false;
        } else {
          wants = n < items->get_array().size();
        }
        break;
      }
    }
  }
  if (wants && n >= spec.max_iterations) {
    w.push_back({l.pointer + "/loop/maxIterations",
                 fmt::format("loop \"{}\" stopped at its maxIterations ({})", l.id, spec.max_iterations)});
    return false;
  }
  return wants;
}

position settle(const program& p, cursor c, const json::object& ctx, std::vector<warning> w) {
  bool exhausted = false;   // once set, loops are left and not entered for the rest of this settle
  for (std::size_t budget = 0;; ++budget) {
    if (budget == settle_budget && !exhausted) {
      exhausted = true;
      w.push_back({"", "loops ran " + std::to_string(settle_budget) +
                           " transitions without reaching a runnable step; the remaining loops are left"});
    }
    const block& b = block_after(p, c, c.loops.size());
    if (c.step >= b.steps.size()) {
      if (c.loops.empty()) break;
      const step& l = loop_of_frame(p, c, c.loops.size() - 1);
      const std::uint32_t next = c.loops.back().iteration + 1;
      bool more = false;
      if (exhausted) {
        // leave the loop
      } else if (l.loop.artifact_driven || l.loop.kind == loop_kind::until_loop) {
        more = wants_iteration(p, c, next, ctx, w);
        if (more) c.loops.back().iteration = next;
      } else {
        c.loops.back().iteration = next;
        more = wants_iteration(p, c, next, ctx, w);
      }
      if (more) {
        c.loops.back().last = decision::none;
        c.step = 0;
      } else {
        c.step = c.loops.back().index + 1;
        c.loops.pop_back();
      }
      continue;
    }
    const step& s = b.steps[c.step];
    if (!s.run_condition.is_null()) {
      const scope sc = make_scope(p, c, ctx);
      if (!eval_condition(s.run_condition, sc, w, s.pointer, "/runCondition")) {
        ++c.step;
        continue;
      }
    }
    if (s.is_loop) {
      c.loops.push_back({c.step, 0, decision::none});
      if (!exhausted && wants_iteration(p, c, 0, ctx, w)) {
        c.step = 0;
      } else {
        c.step = c.loops.back().index + 1;
        c.loops.pop_back();
      }
      continue;
    }
    return position{std::move(c), false, std::move(w)};
  }
  return position{std::move(c), true, std::move(w)};
}

void record_loop_control(const program& p, cursor& c, const json::value& output, std::vector<warning>& w) {
  if (!output.is_object()) return;
  auto arts = output.get_object().find("artifacts");
  if (arts == output.get_object().end() || !arts->value().is_array()) return;
  for (const auto& a : arts->value().get_array()) {
    if (!a.is_object()) continue;
    const auto& o = a.get_object();
    auto kind = o.find("kind");
    if (kind == o.end() || !kind->value().is_string() || !kind_matches(kind->value().get_string(), "loop_control")) continue;
    auto dec = o.find("decision");
    if (dec == o.end() || !dec->value().is_string()) continue;
    const std::string_view d = dec->value().get_string();
    if (d != "continue" && d != "stop") continue;
    std::optional<std::string_view> loop_id;
    if (auto lid = o.find("loopId"); lid != o.end() && lid->value().is_string()) loop_id = lid->value().get_string();
    bool applied = false;
    for (std::size_t k = c.loops.size(); k-- > 0;) {
      const step& l = loop_of_frame(p, c, k);
      const bool match = loop_id ? (l.id == *loop_id || (!l.loop.loop_id.empty() && l.loop.loop_id == *loop_id))
                                 : l.loop.artifact_driven;
      if (match) {
        c.loops[k].last = d == "continue" ? decision::proceed : decision::stop;
        applied = true;
        break;
      }
    }
    if (!applied)
      w.push_back({"", loop_id ? "loop_control artifact for unknown or inactive loop \"" + std::string(*loop_id) + "\" ignored"
                               : std::string("loop_control artifact outside an artifact-driven loop ignored")});
  }
}

json::object loop_info(const program& p, const cursor& c, const scope& s, std::size_t k, const json::storage_ptr& sp) {
  const step& l = loop_of_frame(p, c, k);
  json::object o({{"loopId", l.id},
                  {"type", kind_name(l.loop.kind)},
                  {"iteration", static_cast<std::int64_t>(c.loops[k].iteration) + 1},
                  {"maxIterations", l.loop.max_iterations}},
                 0, sp);
  if (l.loop.kind == loop_kind::for_each_loop) {
    o["index"] = static_cast<std::int64_t>(c.loops[k].iteration);
    if (const json::value* items = s.lookup(l.loop.items); items && items->is_array()) {
      o["total"] = items->get_array().size();
      if (c.loops[k].iteration < items->get_array().size()) o["item"] = items->get_array()[c.loops[k].iteration];
    }
  }
  return o;
}

json::array preview_block(const program& p, const block& b, int depth) {
  json::array out;
  for (const step& s : b.steps) {
    json::object o{{"id", s.id}, {"title", s.title}, {"kind", s.is_loop ? "loop" : "step"}};
    if (!s.run_condition.is_null()) o["runCondition"] = s.run_condition;
    if (s.is_loop) {
      json::object l{{"type", kind_name(s.loop.kind)}, {"maxIterations", s.loop.max_iterations}};
      if (s.loop.artifact_driven) l["conditionSource"] = "artifact_contract";
      if (!s.loop.items.empty()) l["items"] = s.loop.items;
      if (s.loop.count_number) l["count"] = *s.loop.count_number;
      if (!s.loop.count_var.empty()) l["count"] = s.loop.count_var;
      o["loop"] = std::move(l);
      if (depth < max_loop_depth && s.loop.body < p.blocks.size())
        o["body"] = preview_block(p, p.blocks[s.loop.body], depth + 1);
    } else {
      if (s.confirm.kind == confirmation::mode::always) o["requireConfirmation"] = true;
      if (s.confirm.kind == confirmation::mode::when) o["requireConfirmation"] = "conditional";
      if (!s.validation.is_null()) o["validated"] = true;
      if (!s.contract_ref.empty()) o["outputContract"] = s.contract_ref;
      if (!s.delegations.empty()) o["delegations"] = s.delegations.size();
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

json::value cursor::to_json() const {
  json::object o{{"s", step}};
  if (!loops.empty()) {
    json::array l;
    for (const auto& f : loops)
      l.push_back(json::array{f.index, f.iteration, static_cast<std::uint32_t>(f.last)});
    o["l"] = std::move(l);
  }
  return o;
}

void cursor::append_canonical(std::string& out) const {
  auto number = [&out](std::uint32_t v) {
    char buf[16];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  };
  // "l" sorts before "s" (RFC 8785 orders members by name).
  if (!loops.empty()) {
    out.append("{\"l\":[");
    for (std::size_t i = 0; i < loops.size(); ++i) {
      out.append(i ? ",[" : "[");
      number(loops[i].index);
      out.push_back(',');
      number(loops[i].iteration);
      out.push_back(',');
      number(static_cast<std::uint32_t>(loops[i].last));
      out.push_back(']');
    }
    out.append("],\"s\":");
  } else {
    out.append("{\"s\":");
  }
  number(step);
  out.push_back('}');
}

std::optional<cursor> cursor::parse_compact(std::string_view t) {
  std::size_t i = 0;
  auto lit = [&](std::string_view s) {
    if (t.substr(i, s.size()) != s) return false;
    i += s.size();
    return true;
  };
  auto u32 = [&](std::uint32_t& v) {
    // JSON allows no leading zeros; from_chars would accept them.
    if (i + 1 < t.size() && t[i] == '0' && t[i + 1] >= '0' && t[i + 1] <= '9') return false;
    auto r = std::from_chars(t.data() + i, t.data() + t.size(), v);
    if (r.ec != std::errc()) return false;
    i = static_cast<std::size_t>(r.ptr - t.data());
    return true;
  };
  auto frames = [&](cursor& c) {
    if (!lit("[")) return false;
    do {
      std::uint32_t idx, it, d;
      if (!lit("[") || !u32(idx) || !lit(",") || !u32(it) || !lit(",") || !u32(d) || !lit("]") || d > 2) return false;
      if (c.loops.size() == static_cast<std::size_t>(max_loop_depth)) return false;
      c.loops.push_back({idx, it, static_cast<loop_frame::decision>(d)});
    } while (lit(","));
    return lit("]");
  };
  cursor c;
  if (lit("{\"s\":")) {
    if (!u32(c.step)) return std::nullopt;
    if (lit(",\"l\":") && !frames(c)) return std::nullopt;
  } else if (lit("{\"l\":")) {
    if (!frames(c) || !lit(",\"s\":") || !u32(c.step)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!lit("}") || i != t.size()) return std::nullopt;
  return c;
}

result<cursor> cursor::from_json(const json::value& v) {
  auto bad = [](std::string_view pointer, std::string_view expected) {
    return error::at(errc::STORE_CORRUPT, pointer, expected, "stored cursor is malformed at " + std::string(pointer));
  };
  auto u32 = [](const json::value& x) -> std::optional<std::uint32_t> {
    if (x.is_int64() && x.get_int64() >= 0 && x.get_int64() <= UINT32_MAX) return static_cast<std::uint32_t>(x.get_int64());
    if (x.is_uint64() && x.get_uint64() <= UINT32_MAX) return static_cast<std::uint32_t>(x.get_uint64());
    return std::nullopt;
  };
  if (!v.is_object()) return bad("", "a cursor object {s, l?}");
  cursor c;
  const auto& o = v.get_object();
  for (const auto& m : o)
    if (m.key() != "s" && m.key() != "l") return bad("/" + std::string(m.key()), "no other member than s and l");
  auto s = o.find("s");
  if (s == o.end() || !u32(s->value())) return bad("/s", "a step index");
  c.step = *u32(s->value());
  if (auto l = o.find("l"); l != o.end()) {
    if (!l->value().is_array() || l->value().get_array().empty() ||
        l->value().get_array().size() > static_cast<std::size_t>(max_loop_depth))
      return bad("/l", "a non-empty array of loop frames");
    std::size_t i = 0;
    for (const auto& f : l->value().get_array()) {
      const std::string fp = "/l/" + std::to_string(i++);
      if (!f.is_array() || f.get_array().size() != 3) return bad(fp, "[index, iteration, decision]");
      const auto& a = f.get_array();
      auto idx = u32(a[0]), it = u32(a[1]), d = u32(a[2]);
      if (!idx || !it || !d || *d > 2) return bad(fp, "[index, iteration, decision 0..2]");
      c.loops.push_back({*idx, *it, static_cast<decision>(*d)});
    }
  }
  return c;
}

position start(const program& p, const json::object& context) { return settle(p, cursor{}, context, {}); }

position advance(const program& p, const cursor& at, const json::object& context, const json::value& output) {
  const step& s = step_at(p, at);
  if (s.is_loop) not_fitting("the cursor points at a loop, not a step");
  std::vector<warning> w;
  cursor c = at;
  record_loop_control(p, c, output, w);
  ++c.step;
  return settle(p, std::move(c), context, std::move(w));
}

std::vector<blocker> check_output(const program& p, const cursor& at, const json::object& context,
                                  const json::value& output) {
  const step& s = step_at(p, at);
  std::vector<blocker> out;
  static const json::object empty;
  if (!output.is_null() && !output.is_object()) {
    out.push_back({"INVALID_OUTPUT", "/output", "output must be an object {notesMarkdown?, artifacts?}",
                   "Send output as {\"notesMarkdown\": \"...\", \"artifacts\": [...]}."});
    return out;
  }
  const json::object& o = output.is_object() ? output.get_object() : empty;
  if (auto n = o.find("notesMarkdown"); n != o.end() && !n->value().is_string())
    out.push_back({"INVALID_OUTPUT", "/output/notesMarkdown", "notesMarkdown must be a string", "Send notes as a markdown string."});
  bool contract_met = false;
  if (auto a = o.find("artifacts"); a != o.end()) {
    if (!a->value().is_array()) {
      out.push_back({"INVALID_OUTPUT", "/output/artifacts", "artifacts must be an array of objects", "Send artifacts as [{\"kind\": ...}]."});
    } else {
      std::size_t i = 0;
      for (const auto& art : a->value().get_array()) {
        const std::string ap = "/output/artifacts/" + std::to_string(i++);
        if (!art.is_object()) {
          out.push_back({"INVALID_OUTPUT", ap, "each artifact must be an object", "Send artifacts as [{\"kind\": ...}]."});
          continue;
        }
        auto kind = art.get_object().find("kind");
        if (kind == art.get_object().end() || !kind->value().is_string()) continue;
        const std::string_view k = kind->value().get_string();
        if (!s.contract_ref.empty() && kind_matches(k, s.contract_ref)) contract_met = true;
        if (kind_matches(k, "loop_control")) {
          auto d = art.get_object().find("decision");
          if (d == art.get_object().end() || !d->value().is_string() ||
              (d->value().get_string() != "continue" && d->value().get_string() != "stop"))
            out.push_back({"INVALID_LOOP_CONTROL", ap + "/decision", "a loop_control artifact needs decision \"continue\" or \"stop\"",
                           "Set \"decision\": \"continue\" to run another iteration, or \"stop\" to leave the loop."});
        }
      }
    }
  }
  if (!out.empty()) return out;
  std::vector<warning> ignored;
  if (!s.validation.is_null())
    apply_rules(s.validation, o, make_scope(p, at, context), out, ignored, s.pointer + "/validationCriteria");
  if (s.contract_required && !contract_met)
    out.push_back({"OUTPUT_CONTRACT_MISSING", "/output/artifacts",
                   "step \"" + s.id + "\" requires an artifact satisfying the contract \"" + s.contract_ref + "\"",
                   "Add {\"kind\": \"" + s.contract_ref + "\", ...} to output.artifacts."});
  return out;
}

pending_step render(const program& p, const cursor& at, const json::object& context, std::vector<warning>& w,
                    json::storage_ptr sp) {
  const step& s = step_at(p, at);
  if (s.is_loop) not_fitting("the cursor points at a loop, not a step");
  const scope sc = make_scope(p, at, context);
  pending_step out;
  out.step_id = s.id;
  out.title = render_template(s.title, sc);
  out.prompt = render_template(s.prompt, sc);
  std::size_t i = 0;
  for (const auto& f : s.fragments) {
    const std::string fp = s.pointer + "/promptFragments/" + std::to_string(i++) + "/when";
    if (!f.when.is_null() && !eval_condition(f.when, sc, w, fp)) continue;
    if (!out.prompt.empty()) out.prompt += "\n\n";
    out.prompt += render_template(f.text, sc);
  }
  if (s.agent_role) out.agent_role = render_template(*s.agent_role, sc);
  for (const auto& g : s.guidance) out.guidance.push_back(render_template(g, sc));
  switch (s.confirm.kind) {
    case confirmation::mode::never: break;
    case confirmation::mode::always: out.require_confirmation = true; break;
    case confirmation::mode::when:
      out.require_confirmation = eval_condition(s.confirm.when, sc, w, s.pointer, "/requireConfirmation");
      break;
  }
  json::object extras(s.extras, sp);
  if (out.require_confirmation && !s.confirm.message.empty())
    extras["confirmationMessage"] = render_template(s.confirm.message, sc);
  if (!at.loops.empty()) {
    json::array loops(sp);
    for (std::size_t k = 0; k < at.loops.size(); ++k) loops.push_back(loop_info(p, at, sc, k, sp));
    extras["loops"] = std::move(loops);
  }
  if (!extras.empty()) {
    // Moved in with its storage: assigning would copy it into the storage
    // of out.extras (the heap). json::value(object&&) cannot throw.
    std::destroy_at(&out.extras);
    std::construct_at(&out.extras, std::move(extras));
  }
  for (const auto& d : s.delegations)
    out.delegations.push_back({d.workflow_id, d.args.is_null() ? json::value() : render_json(d.args, sc)});
  return out;
}

json::array preview(const program& p) { return preview_block(p, p.blocks.at(0), 0); }

const std::string& step_id_at(const program& p, const cursor& at) { return step_at(p, at).id; }

}  // namespace tokenrail::workflow
