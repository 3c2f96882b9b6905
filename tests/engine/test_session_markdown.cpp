// The rendered export (issue 8): export_session {format: "markdown"} shows
// each run, its steps in order with notes, checkpoints, and forks as
// branches. Golden test (run ids and the workflow hash are replaced by
// placeholders: run ids are random).
#include "engine/sessions_support.hpp"
#include "engine/session_markdown.hpp"

using namespace trtest;

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

constexpr std::string_view golden = R"(# Session `ses-md`

- Started: 2023-11-14T22:13:20.000Z
- Runs: 2
- Events: 25
- Head hash: `HEAD`

## Run `RUN1`: Linear 3

- Workflow: `lin3` (`HASH3`)
- Phase: Completed
- Started: 2023-11-14T22:13:20.000Z
- Context: `{"ticket":"T-42"}`

### Steps

- **s1** — Step 1 (node 0)
  - Checkpoint (2023-11-14T22:13:20.001Z):
    > looked at the auth middleware
  - Fork at `s1` (node 0): 2 branches
    - Branch 1 → node 1
      - Notes:
        > first try:
        > split the handler
      - **s2** — Step 2 (node 1)
        - Notes:
          > step two done
      - **s3** — Step 3 (node 2)
        - Notes:
          > finished
      - **Completed** (node 3)
        - Checkpoint (2023-11-14T22:13:20.005Z):
          > post-run review
    - Branch 2 → node 4
      - Notes:
        > second try
      - Artifacts:
        - `{"kind":"note","n":1}`
      - Context set: `{"approach":"rewrite"}`
      - **s2** — Step 2 (node 4)
        - _Pending: not acknowledged yet (tip, preferred tip)_

## Run `RUN2`: Linear 2

- Workflow: `lin2` (`HASH2`)
- Phase: Running
- Started: 2023-11-14T22:13:20.007Z

### Steps

- **s1** — Step 1 (node 0)
  - _Pending: not acknowledged yet (tip, preferred tip)_
)";

}  // namespace

TEST_CASE("export_session renders a session as markdown with steps, notes, checkpoints and forks",
          "[sessions][markdown]") {
  auto e = make_engine("memory", session_defs());
  build_session(*e, "ses-md");
  auto bundle = export_bundle(*e, "ses-md");
  auto r = call(*e, "export_session", json::object{{"sessionId", "ses-md"}, {"format", "markdown"}});
  INFO(json::serialize(r));
  REQUIRE(error_code(r).empty());
  CHECK(r.at("format") == "markdown");
  CHECK(r.at("sessionId") == "ses-md");
  std::string md(r.at("markdown").as_string());
  const auto& runs = bundle.at("manifest").at("runIds").as_array();
  REQUIRE(runs.size() == 2);
  replace_all(md, std::string(runs[0].as_string()), "RUN1");
  replace_all(md, std::string(runs[1].as_string()), "RUN2");
  replace_all(md, std::string(bundle.at("manifest").at("headHash").as_string()), "HEAD");
  for (const auto& ev : bundle.at("events").as_array()) {
    if (ev.at("kind") != "run_started") continue;
    const std::string hash(ev.at("data").at("spec").at("workflowHash").as_string());
    replace_all(md, hash, ev.at("data").at("spec").at("workflowId") == "lin3" ? "HASH3" : "HASH2");
  }
  CHECK(md == golden);
  // The same text from the bundle alone (a host can render a bundle file).
  CHECK(r.at("markdown") == json::value(tokenrail::engine_detail::render_session_markdown(bundle)));
  // JSON stays the default format.
  CHECK(call(*e, "export_session", json::object{{"sessionId", "ses-md"}, {"format", "json"}}).at("bundle") == bundle);
  CHECK(error_code(call(*e, "export_session", json::object{{"sessionId", "ses-md"}, {"format", "pdf"}})) ==
        "INVALID_REQUEST");
}

TEST_CASE("markdown rendering survives deep fork nesting and odd bundles", "[sessions][markdown]") {
  auto e = make_engine("memory", {linear_workflow("lin1", 1)});
  // Rewind the root 200 times: 200 branches of one fork.
  auto r0 = start_in(*e, "lin1", "ses-many");
  for (int i = 0; i < 200; ++i) {
    auto h = call(*e, "continue_workflow", json::object{{"stateToken", r0.at("stateToken")}});
    REQUIRE(error_code(advance(*e, h, "try " + std::to_string(i))).empty());
  }
  auto md = call(*e, "export_session", json::object{{"sessionId", "ses-many"}, {"format", "markdown"}});
  std::string text(md.at("markdown").as_string());
  CHECK(text.find("Fork at `s1` (node 0): 200 branches") != std::string::npos);
  CHECK(text.find("Branch 200 → node 200") != std::string::npos);
  // Garbage in a bundle's fields renders without throwing.
  json::object odd{{"sessionId", 5}, {"events", json::array{json::object{{"kind", 1}}, 7}}, {"workflows", "x"}};
  CHECK_NOTHROW(tokenrail::engine_detail::render_session_markdown(odd));
}
