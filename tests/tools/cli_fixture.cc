#include "tests/tools/cli_fixture.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::testing {

void CliTest::SetUp() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/sluice-cli-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  tmp_ = pattern;
  data_ = tmp_ + "/data";
}

void CliTest::TearDown() {
  std::error_code ec;
  std::filesystem::remove_all(tmp_, ec);
}

std::vector<std::string> CliTest::WithData(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--data", data_});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  return args;
}

CliResult CliTest::Sluice(std::vector<std::string> args, const std::string& input) {
  return RunSluice(WithData(std::move(args)), input, env_);
}

std::string CliTest::Ok(std::vector<std::string> args, const std::string& input) {
  std::string shown;
  for (const auto& a : args) shown += a + " ";
  CliResult r = Sluice(std::move(args), input);
  EXPECT_EQ(r.exit_code, 0) << "sluice " << shown << "\nstderr: " << r.err;
  return r.out;
}

void CliTest::CreateTopic(const std::string& name, int partitions) {
  Ok({"topic", "create", name, "--partitions", std::to_string(partitions)});
}

std::map<std::string, std::string> CliTest::Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string rel = std::filesystem::relative(e.path(), dir).string();
    std::string name = e.path().filename().string();
    std::string ext = e.path().extension().string();
    if (e.is_directory()) {
      // Partition directories appear when a writer first opens a partition; they hold no data.
      bool partition_dir =
          !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
      if (!partition_dir) files[rel + "/"] = "";
      continue;
    }
    // The user-visible state: topics and their settings, records, committed offsets. Skipped:
    // the lock file, producer-id allocation, recovery markers, empty new segments and indexes.
    if (name != "topic.conf" && ext != ".log" && ext != ".offsets") continue;
    if (ext == ".log" && e.file_size() == 0) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    files[rel] = ss.str();
  }
  return files;
}

std::string ExpectFailure(const CliResult& r, int code) {
  EXPECT_EQ(r.exit_code, code) << "stdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_EQ(CountLines(r.err), 1u) << "stderr should be one line: " << r.err;
  EXPECT_GT(r.err.size(), 20u) << "stderr should say what went wrong: " << r.err;
  return r.err;
}

}  // namespace sluice::testing
