// A fixture for CLI tests: a fresh temporary directory per test holding the data directory.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace sluice::testing {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs sluice with --data <data dir> prepended.
  CliResult Sluice(std::vector<std::string> args, const std::string& input = "");
  // Runs and expects exit 0; returns stdout.
  std::string Ok(std::vector<std::string> args, const std::string& input = "");
  std::vector<std::string> WithData(std::vector<std::string> args) const;
  void CreateTopic(const std::string& name, int partitions);

  // The user-visible state under `dir` (relative path -> contents): directories, topic.conf,
  // non-empty segment .log files and group .offsets files.
  static std::map<std::string, std::string> Snapshot(const std::string& dir);

  std::string tmp_;   // removed after the test
  std::string data_;  // tmp_/data
  std::map<std::string, std::string> env_{{"SLUICE_LOCK_WAIT_MS", "200"}};
  // Appended to every Sluice() command line (e.g. {"-b", "127.0.0.1:PORT"}).
  std::vector<std::string> extra_args_;
};

// Expects a failure with `code` and exactly one line on stderr; returns that line.
std::string ExpectFailure(const CliResult& r, int code);

}  // namespace sluice::testing
