// RFC 8785 canonicalization throughput and workflow_hash cost on a
// workflow-sized document (~40 steps, nested loops, prompts, unicode,
// numbers). D13 sets no figure for it; the budget printed is ours: pinning
// must stay negligible next to a durable commit (≥ 50 MB/s).
#include <tokenrail/crypto/hash.hpp>
#include <tokenrail/json/canonical.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace bj = boost::json;

namespace {

bj::value representative_workflow() {
  bj::array steps;
  for (int i = 0; i < 40; ++i) {
    bj::object step;
    step["id"] = "step-" + std::to_string(i);
    step["title"] = "Step " + std::to_string(i) + ": review the change — vérifier l’entrée";
    step["prompt"] = "Read the files listed in {{context.files}} and write notes. Consider edge cases, "
                     "tests, and the user's constraints.\nReturn a summary with \"findings\" and \"next\".";
    step["agentRole"] = "You are a careful reviewer.";
    step["guidance"] = bj::array{"Be concise", "Cite line numbers", "Prefer small diffs"};
    step["requireConfirmation"] = (i % 7 == 0);
    if (i % 5 == 0)
      step["runCondition"] = bj::object{{"var", "mode"}, {"equals", "thorough"}, {"threshold", 0.75}};
    if (i % 8 == 0) {
      bj::object loop{{"type", "forEach"}, {"items", "files"}, {"maxIterations", 25}, {"itemVar", "file"}};
      loop["body"] = bj::array{bj::object{{"id", "inner-" + std::to_string(i)}, {"prompt", "Check {{file}}"},
                                          {"weights", bj::array{1.5, 2.25, 1e-3, 123456789}}}};
      step["loop"] = std::move(loop);
    }
    step["validationCriteria"] = bj::array{bj::object{{"type", "contains"}, {"value", "summary"}},
                                           bj::object{{"type", "length"}, {"min", 10}, {"max", 5000}}};
    steps.push_back(std::move(step));
  }
  bj::object wf{{"id", "code-review"}, {"name", "Code review"}, {"version", "1.2.0"},
                {"description", "A representative workflow definition used to measure canonicalization."},
                {"\xF0\x9F\x98\x80" "emoji", "key with a supplementary character"}};
  wf["steps"] = std::move(steps);
  return wf;
}

// Thread CPU time: on a shared machine the wall clock also counts the time
// this thread waited for a core (bench/README.md).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

template <class F>
double median_seconds(int batches, F&& batch) {
  std::vector<double> t;
  for (int b = 0; b < batches; ++b) {
    const double t0 = thread_cpu_seconds();
    batch();
    t.push_back(thread_cpu_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  const bj::value wf = representative_workflow();
  const std::string once = tokenrail::json::canonicalize(wf);
  constexpr int reps = 500;

  std::string out;
  std::size_t sink = 0;
  const double canon_s = median_seconds(25, [&] {
    for (int i = 0; i < reps; ++i) {
      out.clear();
      tokenrail::json::canonicalize_to(out, wf);
      sink += out.size();
    }
  });
  const double mbps = static_cast<double>(once.size()) * reps / canon_s / 1e6;

  const double hash_s = median_seconds(25, [&] {
    for (int i = 0; i < reps; ++i) sink += tokenrail::crypto::workflow_hash(wf)[10];
  });
  const double hash_us = hash_s / reps * 1e6;

  std::printf("# document: %zu bytes canonical, %zu bytes serialized\n", once.size(), bj::serialize(wf).size());
  std::printf("canonicalize throughput (thread CPU time): %.0f MB/s (budget >= 50 MB/s) %s\n", mbps, mbps >= 50 ? "OK" : "OVER");
  std::printf("workflow_hash per document (thread CPU time): %.1f us (budget <= 1000 us) %s\n", hash_us,
              hash_us <= 1000 ? "OK" : "OVER");
  std::printf("# checksum %zu\n", sink);
  return 0;
}
