// The object-valued fields of a standard step (promptFragments,
// requireConfirmation, outputContract, parallelDelegations): each has its
// own small schema, kept apart from the step parser that dispatches to it.
#include "workflow/definition_step_fields.hpp"

#include "workflow/conditions.hpp"
#include "workflow/definition_field_checks.hpp"

#include <boost/json/array.hpp>

namespace tokenrail::workflow {
namespace json = boost::json;

namespace {

constexpr errc invalid = errc::WORKFLOW_INVALID;

}  // namespace

void parse_fragments(step& s, const json::value& v, const std::string& p, std::vector<warning>& w) {
  for_each_object(v, p, "an array of {id, when?, text}", "a prompt fragment {id, when?, text}",
                  [&](const json::object& o, const std::string& ip) {
    need_present(o, "id", ip, "a string");
    need_present(o, "text", ip, "a string");
    fragment f;
    for (const auto& m : o) {
      const std::string mp = pointer_join(ip, m.key());
      if (m.key() == "id") f.id = need_string(m.value(), mp);
      else if (m.key() == "text") f.text = need_string(m.value(), mp);
      else if (m.key() == "when") {
        check_condition(m.value(), mp, w);
        f.when = m.value();
      } else unknown(w, ip, m.key(), "a prompt fragment");
    }
    s.fragments.push_back(std::move(f));
  });
}

void parse_confirmation(step& s, const json::value& v, const std::string& p, std::vector<warning>& w) {
  if (v.is_bool()) {
    s.confirm.kind = v.get_bool() ? confirmation::mode::always : confirmation::mode::never;
    return;
  }
  const json::object& o = need_object(v, p, "true, false, a condition, or {message, when?}");
  if (o.empty()) {   // an empty condition, which holds (as in WorkRail): say what that means here
    s.confirm.kind = confirmation::mode::always;
    w.push_back({p, "requireConfirmation {} is an empty condition, which always holds: confirmation is always required"});
    return;
  }
  if (o.contains("var") || o.contains("and") || o.contains("or") || o.contains("not")) {
    check_condition(v, p, w);
    s.confirm.kind = confirmation::mode::when;
    s.confirm.when = v;
    return;
  }
  // {message, when?}. WorkRail renders requireConfirmation as
  // Boolean(value), so any other object (real files use
  // {"kind": "human_approval"}) means "confirm": accept it as that and
  // warn about the fields we do not understand, instead of rejecting it.
  if (o.contains("when")) need_present(o, "message", p, "a string (or give a condition instead)");
  s.confirm.kind = confirmation::mode::always;
  for (const auto& m : o) {
    const std::string mp = pointer_join(p, m.key());
    if (m.key() == "message") s.confirm.message = need_string(m.value(), mp);
    else if (m.key() == "when") {
      check_condition(m.value(), mp, w);
      s.confirm.kind = confirmation::mode::when;
      s.confirm.when = m.value();
    } else unknown(w, p, m.key(), "requireConfirmation");
  }
  if (!o.contains("message"))
    w.push_back({p, "requireConfirmation is an object with neither a condition nor {message, when}: "
                    "like WorkRail, which treats any object as true, confirmation is always required"});
}

void parse_contract(step& s, const json::value& v, const std::string& p, std::vector<warning>& w) {
  const json::object& o = need_object(v, p, "an object {contractRef, required?}");
  need_present(o, "contractRef", p, "a non-empty string");
  s.contract_required = true;   // declaring a contract means it is required unless said otherwise
  for (const auto& m : o) {
    const std::string mp = pointer_join(p, m.key());
    if (m.key() == "contractRef") {
      s.contract_ref = need_string(m.value(), mp, "a non-empty string");
      if (s.contract_ref.empty()) throw_at(invalid, mp, "a non-empty string");
    } else if (m.key() == "required") {
      if (!m.value().is_bool()) throw_at(invalid, mp, "true or false");
      s.contract_required = m.value().get_bool();
    } else unknown(w, p, m.key(), "outputContract");
  }
  s.extras["outputContract"] = v;
}

void parse_delegations(step& s, const json::value& v, const std::string& p, std::vector<warning>& w) {
  for_each_object(v, p, "an array of {workflowId, args?}", "a delegation {workflowId, args?}",
                  [&](const json::object& o, const std::string& ip) {
    need_present(o, "workflowId", ip, "a workflow id");
    delegation d;
    for (const auto& m : o) {
      const std::string mp = pointer_join(ip, m.key());
      if (m.key() == "workflowId") {
        d.workflow_id = need_string(m.value(), mp, "a workflow id");
        if (!valid_id(d.workflow_id, 128)) throw_at(invalid, mp, "a workflow id");
      } else if (m.key() == "args") {
        need_object(m.value(), mp, "an object");
        d.args = m.value();
      } else unknown(w, ip, m.key(), "a delegation");
    }
    s.delegations.push_back(std::move(d));
  });
}

}  // namespace tokenrail::workflow
