// Tampered bundles (issue 8): changing any single event (each of its
// fields), reordering two, dropping one, altering a pinned workflow, or a
// forged but consistently re-hashed log that does not replay -> import
// refuses with INVALID_BUNDLE and the place, and writes nothing.
#include "engine/sessions_support.hpp"

using namespace trtest;

namespace {

/// A changed copy of a JSON value of any kind.
json::value altered(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return json::value(std::string(v.get_string()) + "x");
    case json::kind::int64: return json::value(v.get_int64() + 1);
    case json::kind::uint64: return json::value(v.get_uint64() + 1);
    case json::kind::double_: return json::value(v.get_double() + 1);
    case json::kind::bool_: return json::value(!v.get_bool());
    case json::kind::null: return json::value(0);
    case json::kind::array: {
      auto a = v.get_array();
      a.emplace_back("x");
      return a;
    }
    case json::kind::object: {
      auto o = v.get_object();
      o["tampered"] = true;
      return o;
    }
  }
  return nullptr;
}

struct fixture {
  std::unique_ptr<tokenrail::engine> home, other;
  json::object bundle;
  std::size_t entries = 0;

  explicit fixture(const std::string& backend) {
    home = make_engine(backend, session_defs());
    other = make_engine(backend, {});
    if (!home || !other) return;
    build_session(*home, "ses-t");
    bundle = export_bundle(*home, "ses-t");
    entries = other->internals().store->stats().entries;
  }

  /// Imports `b` into the other store; expects a refusal that writes nothing.
  json::value refused(const json::object& b) {
    auto r = import_bundle(*other, b);
    INFO(json::serialize(r));
    CHECK(error_code(r) == "INVALID_BUNDLE");
    CHECK(other->internals().store->stats().entries == entries);
    return r;
  }
};

}  // namespace

TEST_CASE("changing any field of any event is refused at that event", "[sessions][tamper]") {
  const auto backend = GENERATE(from_range(backends()));
  fixture f(backend);
  if (!f.home || !f.other) return;
  const auto& events = f.bundle.at("events").as_array();
  REQUIRE(events.size() > 20);
  for (std::size_t i = 0; i < events.size(); ++i) {
    for (const auto& kv : events[i].as_object()) {
      json::object b = f.bundle;
      auto& ev = b["events"].as_array()[i].as_object();
      ev[kv.key()] = altered(kv.value());
      INFO("event " << i << " field " << kv.key());
      auto r = f.refused(b);
      CHECK(details_position(r) == static_cast<std::int64_t>(i));
    }
    // And a field that was not there, and one removed.
    json::object added = f.bundle;
    added["events"].as_array()[i].as_object()["extra"] = 1;
    CHECK(details_position(f.refused(added)) == static_cast<std::int64_t>(i));
    json::object removed = f.bundle;
    removed["events"].as_array()[i].as_object().erase("at");
    CHECK(details_position(f.refused(removed)) == static_cast<std::int64_t>(i));
  }
  // A change deep inside an event's data (the notes of an advance).
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].at("kind") != "output_appended") continue;
    json::object b = f.bundle;
    b["events"].as_array()[i].as_object()["data"].as_object()["output"].as_object()["notesMarkdown"] = "rewritten";
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(i));
  }
  // The untouched bundle imports.
  CHECK(error_code(import_bundle(*f.other, f.bundle)).empty());
}

TEST_CASE("reordering two events or dropping one is refused with the position", "[sessions][tamper]") {
  const auto backend = GENERATE(from_range(backends()));
  fixture f(backend);
  if (!f.home || !f.other) return;
  const std::size_t n = f.bundle.at("events").as_array().size();
  for (std::size_t j : {std::size_t(0), std::size_t(3), n / 2, n - 2}) {
    for (std::size_t k : {j + 1, n - 1}) {
      if (k <= j || k >= n) continue;
      json::object b = f.bundle;
      auto& ev = b["events"].as_array();
      std::swap(ev[j], ev[k]);
      INFO("swap " << j << " and " << k);
      CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(j));
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    json::object b = f.bundle;
    auto& ev = b["events"].as_array();
    ev.erase(ev.begin() + static_cast<std::ptrdiff_t>(k));
    INFO("drop " << k);
    auto r = f.refused(b);
    CHECK(details_position(r) == static_cast<std::int64_t>(std::min(k, n - 1)));
  }
  // Dropping the last events and rewriting the manifest is not detectable
  // by an unkeyed chain (documented); such a bundle is a consistent prefix.
}

TEST_CASE("an altered or missing pinned workflow is refused with its hash", "[sessions][tamper]") {
  const auto backend = GENERATE(from_range(backends()));
  fixture f(backend);
  if (!f.home || !f.other) return;
  for (const auto& kv : f.bundle.at("workflows").as_object()) {
    const std::string hash(kv.key());
    json::object b = f.bundle;
    auto& def = b["workflows"].as_object()[hash].as_object();
    def["steps"].as_array()[0].as_object()["title"] = "Something else";
    auto r = f.refused(b);
    CHECK(r.at("error").at("details").at("workflowHash") == json::value(hash));
    CHECK(r.at("error").at("details").at("pointer") == json::value("/bundle/workflows/" + hash));

    json::object missing = f.bundle;
    missing["workflows"].as_object().erase(hash);
    auto m = f.refused(missing);
    // Reported at the run_started event of the run pinned to it.
    const auto pos = details_position(m);
    REQUIRE(pos >= 0);
    CHECK(f.bundle.at("events").at(pos).at("kind") == "run_started");
    CHECK(f.bundle.at("events").at(pos).at("data").at("spec").at("workflowHash") == json::value(hash));
  }
}

TEST_CASE("a manifest that disagrees with the chain is refused", "[sessions][tamper]") {
  fixture f("memory");
  const std::size_t n = f.bundle.at("events").as_array().size();
  json::object b = f.bundle;
  b["manifest"].as_object()["headHash"] = std::string(64, '1');
  CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(n - 1));
  b = f.bundle;
  b["manifest"].as_object()["eventCount"] = n + 1;
  CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(n));
  b = f.bundle;
  b["sessionId"] = "another-session";
  CHECK(details_position(f.refused(b)) == 0);
  // The summary members must agree with the events too, when present.
  for (const char* member : {"runIds", "workflowHashes", "firstEventAt", "chain"}) {
    INFO(member);
    b = f.bundle;
    REQUIRE(b["manifest"].as_object().contains(member));
    b["manifest"].as_object()[member] = altered(b["manifest"].as_object()[member]);
    CHECK(error_pointer(f.refused(b)) == std::string("/bundle/manifest/") + member);
    b["manifest"].as_object().erase(member);   // left out: nothing to disagree with
    CHECK(error_code(import_bundle(*f.other, b)) == "");
    f.other = make_engine("memory", {});
  }
}

TEST_CASE("a re-hashed forgery that does not replay is refused at the bad event", "[sessions][tamper]") {
  const auto backend = GENERATE(from_range(backends()));
  fixture f(backend);
  if (!f.home || !f.other) return;
  const auto& events = f.bundle.at("events").as_array();
  std::size_t node_at = 0, edge_at = 0, ack_at = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& k = events[i].at("kind");
    if (k == "node_created" && events[i].at("nodeId") == 2 && !node_at) node_at = i;
    if (k == "edge_created" && !edge_at) edge_at = i;
    if (k == "advance_recorded" && !ack_at) ack_at = i;
  }
  REQUIRE(node_at > 0);
  REQUIRE(edge_at > 0);
  REQUIRE(ack_at > 0);
  SECTION("a node under a parent that does not exist") {
    json::object b = f.bundle;
    b["events"].as_array()[node_at].as_object()["data"].as_object()["parent"] = 77;
    rechain(b);
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(node_at));
  }
  SECTION("an edge that does not match its node") {
    json::object b = f.bundle;
    b["events"].as_array()[edge_at].as_object()["data"].as_object()["attempt"] = 12345;
    rechain(b);
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(edge_at));
  }
  SECTION("a node whose stepId disagrees with its cursor in the pinned workflow") {
    json::object b = f.bundle;
    b["events"].as_array()[node_at].as_object()["data"].as_object()["stepId"] = "s1";
    rechain(b);
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(node_at));
  }
  SECTION("a cursor outside the pinned workflow") {
    json::object b = f.bundle;
    b["events"].as_array()[node_at].as_object()["data"].as_object()["cursor"] = json::object{{"s", 40}};
    rechain(b);
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(node_at));
  }
  SECTION("an advance recorded without its child") {
    json::object b = f.bundle;
    b["events"].as_array()[ack_at].as_object()["data"].as_object().erase("child");
    rechain(b);
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(ack_at));
  }
  SECTION("an unknown event kind") {
    json::object b = f.bundle;
    b["events"].as_array()[edge_at].as_object()["kind"] = "made_up";
    rechain(b);
    CHECK(details_position(f.refused(b)) == static_cast<std::int64_t>(edge_at));
  }
}
