// Engine figures of D13 on the memory store. Prints
//   <figure>: <value> <unit> (budget ...) OK|OVER
// One core: the engine starts no threads, and this loop is single-threaded.
#include <tokenrail/engine/engine.hpp>

#include "engine/context.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace json = boost::json;
using clk = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void report(const char* figure, double value, const char* unit, const char* budget, bool ok) {
  std::printf("%s: %.3f %s (budget %s) %s\n", figure, value, unit, budget, ok ? "OK" : "OVER");
}

std::string field(const std::string& text, const char* name) {
  auto v = json::parse(text);
  return std::string(v.at(name).as_string());
}

}  // namespace

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 20000;
  // One loop with a one-step body: a single run can be advanced `total` times.
  json::value wf = json::parse(fmt::format(R"({{
    "id": "bench-loop", "name": "bench", "description": "d", "version": "1",
    "steps": [{{"id": "work-loop", "type": "loop", "title": "Work",
               "loop": {{"type": "for", "count": {0}, "maxIterations": {0}}},
               "body": [{{"id": "work", "title": "Work item {{{{currentIteration}}}}",
                          "prompt": "Do the next work item for {{{{ticket}}}}."}}]}}]}})",
                                           total + 10));
  json::object cfg{{"store", json::object{{"backend", "memory"}}}, {"definitions", json::array{wf}}};
  auto opened = tokenrail::engine::open(json::value(cfg));
  if (!opened) {
    std::fprintf(stderr, "open failed: %s\n", json::serialize(opened.error().to_json()).c_str());
    return 1;
  }
  auto& e = **opened;
  std::string resp = e.call("start_workflow", R"({"workflowId":"bench-loop","context":{"ticket":"BENCH-1"}})");
  const std::string notes(200, 'n');

  std::vector<double> lat;   // per advance, microseconds
  lat.reserve(total);
  std::string first_body, first_resp;
  const auto stats0 = e.internals().store->stats();
  const auto t0 = clk::now();
  for (int i = 0; i < total; ++i) {
    std::string body = R"({"stateToken":")" + field(resp, "stateToken") + R"(","ackToken":")" +
                       field(resp, "ackToken") + R"(","output":{"notesMarkdown":")" + notes + R"("}})";
    const auto a = clk::now();
    resp = e.call("continue_workflow", body);
    lat.push_back(std::chrono::duration<double, std::micro>(clk::now() - a).count());
    if (resp.find("\"error\"") != std::string::npos) {
      std::fprintf(stderr, "advance %d failed: %s\n", i, resp.c_str());
      return 1;
    }
    if (i == 0) {
      first_body = body;
      first_resp = resp;
    }
  }
  const double secs = std::chrono::duration<double>(clk::now() - t0).count();
  const auto stats1 = e.internals().store->stats();
  const double in_call = 0;
  (void)in_call;
  double sum = 0;
  for (double x : lat) sum += x;

  const double rate = total / (sum / 1e6);
  report("engine advance rate (memory store, inside call)", rate, "advances/s", ">= 200000/s", rate >= 200000);
  std::printf("  (wall time incl. building requests: %.0f advances/s)\n", total / secs);

  // Replay of a recorded advance.
  std::vector<double> rep;
  for (int i = 0; i < 20000; ++i) {
    const auto a = clk::now();
    std::string r = e.call("continue_workflow", first_body);
    rep.push_back(std::chrono::duration<double, std::micro>(clk::now() - a).count());
    if (r != first_resp) {
      std::fprintf(stderr, "replay differs\n");
      return 1;
    }
  }
  const double rp = median(rep);
  report("engine replay of a recorded advance (p50)", rp, "us", "<= 5 us", rp <= 5.0);

  // History independence: p50 over a window early vs late in the run.
  const int w = std::min(500, total / 4);
  std::vector<double> early(lat.begin() + 10, lat.begin() + 10 + w);
  const int late_at = std::min(10000, total - w);
  std::vector<double> late(lat.begin() + late_at, lat.begin() + late_at + w);
  const double ratio = median(late) / median(early);
  std::printf("  advance p50 at step 10: %.2f us, at step %d: %.2f us\n", median(early), late_at, median(late));
  report("engine advance p50 at step 10000 / step 10", ratio, "x", "<= 1.2x", ratio <= 1.2);

  const double growth = double(stats1.bytes_used - stats0.bytes_used) / total;
  report("engine store growth per advance (200-byte notes, memory store bytes)", growth, "bytes", "<= 1536 bytes",
         growth <= 1536);
  return 0;
}
