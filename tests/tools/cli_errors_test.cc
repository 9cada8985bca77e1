// Bad input through the real `sluice` binary: exit 2 for usage errors, 1 for everything else,
// one line on stderr, and nothing changed on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

using Args = std::vector<std::string>;

class CliErrorsTest : public CliTest {
 protected:
  // Runs `args`, expects exit `code` with one stderr line, and that nothing under tmp_ changed.
  std::string ExpectRejected(const Args& args, int code, const std::string& input = "") {
    auto before = Snapshot(tmp_);
    CliResult r = Sluice(args, input);
    std::string err = ExpectFailure(r, code);
    EXPECT_EQ(Snapshot(tmp_), before) << "the failed command changed files: " << err;
    return err;
  }
};

TEST_F(CliErrorsTest, NoCommandIsAUsageError) {
  ExpectFailure(RunSluice({}), 2);
  ExpectFailure(RunSluice({"topic"}), 2);
  ExpectFailure(RunSluice({"frobnicate"}), 2);
  ExpectFailure(RunSluice({"topic", "create"}), 2);
}

TEST_F(CliErrorsTest, HelpExitsZero) {
  CliResult r = RunSluice({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("produce"), std::string::npos);
  r = RunSluice({"consume", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--from-time"), std::string::npos);
}

TEST_F(CliErrorsTest, InvalidTopicNamesCreateNothing) {
  const Args names = {"..",       ".",           "a/b",       "",     std::string(250, 'x'),
                      "bad name", "caf\xc3\xa9", "../escape", "a\\b", "x$y"};
  for (const std::string& name : names) {
    std::string err = ExpectRejected({"topic", "create", name, "--partitions", "1"}, 1);
    EXPECT_NE(err.find("topic name"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(data_)) << "data dir created for bad name " << name;
  }
  // 249 characters is the longest valid name.
  CreateTopic(std::string(249, 'x'), 1);
  EXPECT_EQ(Ok({"topic", "list"}), std::string(249, 'x') + "\n");
  EXPECT_EQ(std::filesystem::directory_entry(tmp_).exists(), true);
  // Nothing but the data directory appeared next to it.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp_)) {
    EXPECT_EQ(e.path().filename(), "data");
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(CliErrorsTest, BadNumbersAreUsageErrors) {
  std::string err = ExpectRejected({"topic", "create", "t", "--partitions", "abc"}, 2);
  EXPECT_NE(err.find("--partitions: 'abc' is not a valid number"), std::string::npos) << err;
  ExpectRejected({"topic", "create", "t", "--partitions", "4x"}, 2);
  ExpectRejected({"topic", "create", "t", "--partitions", "99999999999999999999"}, 2);
  ExpectRejected({"topic", "create", "t", "--partitions", "2", "--retention-ms", "1h"}, 2);
  EXPECT_FALSE(std::filesystem::exists(data_));
  CreateTopic("t", 2);
  ExpectRejected({"consume", "t", "--offset", "zero"}, 2);
  ExpectRejected({"consume", "t", "--max", "ten"}, 2);
  ExpectRejected({"consume", "t", "--partition", "p0"}, 2);
  ExpectRejected({"produce", "t", "--partition", "one"}, 2, "a\n");
  ExpectRejected({"group", "reset", "g", "--topic", "t", "--to-offset", "x"}, 2);
}

TEST_F(CliErrorsTest, OutOfRangeConfigIsAnError) {
  std::string err = ExpectRejected({"topic", "create", "t", "--partitions", "0"}, 1);
  EXPECT_NE(err.find("partitions"), std::string::npos) << err;
  ExpectRejected({"topic", "create", "t", "--partitions", "-3"}, 1);
  EXPECT_FALSE(std::filesystem::exists(data_));
}

TEST_F(CliErrorsTest, BadOptionValuesAreUsageErrors) {
  CreateTopic("t", 1);
  ExpectRejected({"produce", "t", "--acks", "some"}, 2, "a\n");
  ExpectRejected({"consume", "t", "--format", "%x"}, 2);
  ExpectRejected({"consume", "t", "--format", "trailing %"}, 2);
  ExpectRejected({"consume", "t", "--from-time", "yesterday"}, 2);
  ExpectRejected({"consume", "t", "--from-time", "2024-02-30"}, 2);
  ExpectRejected({"consume", "t", "--from-beginning", "--offset", "0"}, 2);
  ExpectRejected({"consume", "t", "--offset", "0", "--from-time", "0"}, 2);
  ExpectRejected({"group", "reset", "g", "--topic", "t"}, 2);
  ExpectRejected({"group", "reset", "g", "--topic", "t", "--to-earliest", "--to-latest"}, 2);
  ExpectRejected({"group", "reset", "g", "--to-earliest"}, 2);
  ExpectRejected({"produce", "t", "--key-separator", ""}, 2, "a\n");
  std::string err = ExpectRejected(
      {"run", "wordcount", "--input", "t", "--output", "o", "--exchange", "memory"}, 2);
  EXPECT_NE(err.find("--exchange must be 'local'"), std::string::npos) << err;
  ExpectRejected({"run", "pageviews", "--exchange", "memory", "--describe"}, 2);
}

TEST_F(CliErrorsTest, UnknownTopicsAndPartitionsChangeNothing) {
  CreateTopic("t", 2);
  std::string err = ExpectRejected({"produce", "nope"}, 1, "a\n");
  EXPECT_NE(err.find("'nope' does not exist"), std::string::npos) << err;
  EXPECT_NE(err.find("sluice topic create"), std::string::npos) << err;
  ExpectRejected({"consume", "nope", "--from-beginning"}, 1);
  ExpectRejected({"topic", "describe", "nope"}, 1);
  ExpectRejected({"topic", "delete", "nope"}, 1);
  ExpectRejected({"group", "reset", "g", "--topic", "nope", "--to-earliest"}, 1);
  err = ExpectRejected({"produce", "t", "--partition", "2"}, 1, "a\n");
  EXPECT_NE(err.find("has 2 partitions"), std::string::npos) << err;
  ExpectRejected({"produce", "t", "--partition", "-1"}, 1, "a\n");
  ExpectRejected({"consume", "t", "--partition", "7", "--from-beginning"}, 1);
  ExpectRejected({"topic", "create", "t", "--partitions", "3"}, 1);
}

TEST_F(CliErrorsTest, RecordOverMaxMessageSizeIsRejected) {
  Ok({"topic", "create", "small", "--partitions", "1", "--max-message-bytes", "1000"});
  std::string err = ExpectRejected({"produce", "small"}, 1, std::string(5000, 'v') + "\n");
  EXPECT_NE(err.find("line 1"), std::string::npos) << err;
  EXPECT_EQ(Ok({"consume", "small", "--from-beginning"}), "");
  // A record that fits still goes in.
  Ok({"produce", "small"}, std::string(500, 'v') + "\n");
  EXPECT_EQ(Ok({"consume", "small", "--from-beginning"}), std::string(500, 'v') + "\n");
}

TEST_F(CliErrorsTest, OffsetsOutOfRangeAreRejected) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\nb\nc\n");
  std::string err = ExpectRejected({"consume", "t", "--offset", "4"}, 1);
  EXPECT_NE(err.find("0..3"), std::string::npos) << err;
  ExpectRejected({"consume", "t", "--offset", "-1"}, 1);
  Ok({"group", "reset", "g", "--topic", "t", "--to-offset", "1"});
  auto before = Snapshot(tmp_);
  err = ExpectFailure(Sluice({"group", "reset", "g", "--topic", "t", "--to-offset", "9"}), 1);
  EXPECT_NE(err.find("nothing was changed"), std::string::npos) << err;
  EXPECT_EQ(Snapshot(tmp_), before);
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "b\nc\n");
}

TEST_F(CliErrorsTest, ReadersNeedAnExistingDataDirectory) {
  for (const Args& args : {Args{"topic", "list"}, Args{"topic", "describe", "t"},
                           Args{"consume", "t"}, Args{"group", "list"}, Args{"produce", "t"},
                           Args{"group", "describe", "g"}, Args{"topic", "delete", "t"}}) {
    std::string err = ExpectRejected(args, 1);
    EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(data_));
  }
}

TEST_F(CliErrorsTest, UnknownAndInvalidGroups) {
  CreateTopic("t", 1);
  std::string err = ExpectRejected({"group", "describe", "nobody"}, 1);
  EXPECT_NE(err.find("no committed offsets"), std::string::npos) << err;
  ExpectRejected({"group", "describe", ""}, 1);
  ExpectRejected({"consume", "t", "--group", ""}, 1);
  ExpectRejected({"consume", "t", "--group", std::string(250, 'g')}, 1);
  ExpectRejected({"group", "reset", std::string(250, 'g'), "--topic", "t", "--to-earliest"}, 1);
}

TEST_F(CliErrorsTest, GroupIdsWithPathCharactersStayInsideTheDataDirectory) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\n");
  EXPECT_EQ(Ok({"consume", "t", "--group", "../x"}), "a\n");
  Ok({"group", "reset", "..", "--topic", "t", "--to-earliest"});
  EXPECT_EQ(Ok({"group", "list"}), "..\n../x\n");
  for (const auto& e : std::filesystem::directory_iterator(tmp_)) {
    EXPECT_EQ(e.path().filename(), "data");
  }
}

TEST_F(CliErrorsTest, DataDirFromEnvironment) {
  env_["SLUICE_DATA"] = data_;
  CliResult r = RunSluice({"topic", "create", "envtopic", "--partitions", "1"}, "", env_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ok({"topic", "list"}), "envtopic\n");
}

}  // namespace
}  // namespace sluice::testing
