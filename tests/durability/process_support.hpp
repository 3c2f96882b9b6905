// Child processes for the durability tests: spawn the worker (posix_spawn,
// so it is safe whatever threads the test process has), talk to it over
// pipes, SIGKILL it, and collect its lines.
#pragma once

#include "fresh_dir.hpp"

#include "durability/durability_common.hpp"

#include <catch2/catch.hpp>

#include <tokenrail/engine/engine.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace trdur {

using tokenrail::testing::fresh_dir;

/// One worker process with pipes to its stdin and from its stdout.
class worker {
 public:
  explicit worker(std::vector<std::string> args) {
    int in[2], out[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    args.insert(args.begin(), TOKENRAIL_DURABILITY_WORKER);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    REQUIRE(rc == 0);
    in_ = in[1];
    out_ = out[0];
  }
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    close_stdin();
    if (out_ >= 0) ::close(out_);
  }

  void send(const std::string& line) {
    std::string b = line + "\n";
    std::size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::write(in_, b.data() + off, b.size() - off);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
  }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  /// Reads whatever is available within timeout_ms into complete lines;
  /// false at EOF.
  bool pump(int timeout_ms, std::vector<std::string>& lines) {
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[65536];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
    return true;
  }

  /// The next line (waits up to timeout_ms in total).
  std::optional<std::string> line(int timeout_ms = 20000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (queue_.empty()) {
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      if (!pump(100, queue_)) break;
    }
    if (queue_.empty()) return std::nullopt;
    std::string l = queue_.front();
    queue_.erase(queue_.begin());
    return l;
  }

  /// SIGKILL now, then every complete line it wrote (a line cut by the kill
  /// is dropped: it was never fully reported).
  void kill_and_drain(std::vector<std::string>& lines) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    lines.insert(lines.end(), queue_.begin(), queue_.end());
    queue_.clear();
    while (pump(1000, lines)) {
    }
  }

  /// Reads lines until EOF and returns the exit status.
  int finish(std::vector<std::string>& lines, int timeout_ms = 60000) {
    close_stdin();
    lines.insert(lines.end(), queue_.begin(), queue_.end());
    queue_.clear();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (pump(100, lines)) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        break;
      }
    }
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  /// Collects lines for `ms` milliseconds (keeps the pipe from filling).
  void collect_for(int ms, std::vector<std::string>& lines) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      if (!pump(static_cast<int>(left), lines)) break;
    }
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string partial_;
  std::vector<std::string> queue_;
};

/// A "serve" worker's first line must be "ready".
inline void expect_ready(worker& w) {
  auto l = w.line();
  REQUIRE(l);
  REQUIRE(*l == "ready");
}

/// Sends one call to a "serve" worker (at_us: the barrier instant, 0 none)
/// without waiting for the answer.
inline void post(worker& w, const std::string& op, const std::string& req, std::int64_t at_us = 0) {
  w.send(std::to_string(at_us) + "\t" + op + "\t" + req);
}

/// One call through a "serve" worker; its response text.
inline std::string ask(worker& w, const std::string& op, const std::string& req) {
  post(w, op, req);
  auto l = w.line();
  REQUIRE(l);
  return *l;
}

inline std::int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

/// continue_workflow request text advancing from a response `r`.
inline std::string advance_request(const json::value& r, const std::string& notes) {
  return json::serialize(json::object{{"stateToken", r.at("stateToken")},
                                      {"ackToken", r.at("ackToken")},
                                      {"output", json::object{{"notesMarkdown", notes}}}});
}

inline std::unique_ptr<tokenrail::engine> open_engine(const std::string& dir, const std::string& durability = "durable") {
  auto e = tokenrail::engine::open(json::value(lmdb_config(dir, durability)));
  if (!e) FAIL("engine::open failed: " << json::serialize(e.error().to_json()));
  return std::move(*e);
}

inline std::string error_code(const std::string& response) {
  auto v = json::parse(response);
  auto* err = v.as_object().if_contains("error");
  return err ? std::string(err->at("code").as_string()) : std::string();
}

}  // namespace trdur
