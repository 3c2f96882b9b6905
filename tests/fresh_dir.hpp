// A fresh, empty scratch directory per call, under the test's own
// TOKENRAIL_TEST_TMP (shared by the engine and durability test helpers).
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace tokenrail::testing {

/// <TOKENRAIL_TEST_TMP>/<name>_<pid>_<n>, emptied and created.
inline std::string fresh_dir(const std::string& name) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::path(TOKENRAIL_TEST_TMP) /
             (name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace tokenrail::testing
