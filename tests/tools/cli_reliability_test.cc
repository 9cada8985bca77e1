// The command line's part of issue 16 ("nothing silent, nothing crashable"): numbers parsed
// strictly, over-long lines refused early, a failing periodic commit said at once, damaged
// metadata reported as damage. Real `sluice` processes on a temporary data directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/offset_store.h"
#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kHangGuard{20000};  // only guards against hangs; never a timing check

class CliReliabilityTest : public CliTest {
 protected:
  std::unique_ptr<SluiceProcess> Start(std::vector<std::string> args) {
    return std::make_unique<SluiceProcess>(WithData(std::move(args)), env_);
  }

  // 3,000 records "v0".."v2999" in segments of 4 KiB (about ten), then a crash after everything
  // was fsynced (no clean-shutdown marker). Returns the partition's directory.
  std::string ProduceTenSegmentsAndCrash() {
    Ok({"topic", "create", "t", "--partitions", "1", "--segment-bytes", "4096"});
    for (int run = 0; run < 30; ++run) {
      std::string input;
      for (int i = run * 100; i < run * 100 + 100; ++i) input += "v" + std::to_string(i) + "\n";
      Ok({"produce", "t"}, input);
    }
    std::string pdir = data_ + "/topics/t/0";
    EXPECT_TRUE(FileSystem::Default()->RemoveFile(pdir + "/clean-shutdown").ok());
    return pdir;
  }

  // The segment files' names in offset order.
  static std::vector<std::string> Segments(const std::string& pdir) {
    auto names = FileSystem::Default()->ListDir(pdir);
    EXPECT_TRUE(names.ok());
    std::vector<std::string> logs;
    for (const std::string& n : names.ok() ? *names : std::vector<std::string>{}) {
      if (n.size() == 24 && n.ends_with(".log")) logs.push_back(n);
    }
    std::sort(logs.begin(), logs.end());
    return logs;
  }

  static int64_t BaseOf(const std::string& segment) { return std::stoll(segment.substr(0, 20)); }

  // "v0".."v<n-1>", one per line: what a reader prints of the first n records.
  static std::string FirstRecords(int64_t n) {
    std::string out;
    for (int64_t k = 0; k < n; ++k) out += "v" + std::to_string(k) + "\n";
    return out;
  }
};

// reliability-scenarios: issue16 item 16
TEST_F(CliReliabilityTest, NumbersWithBasePrefixesAreRefusedAndLeadingZerosAreDecimal) {
  CliResult hex = Sluice({"topic", "create", "t", "--partitions", "0x10"});
  std::string line = ExpectFailure(hex, 2);
  EXPECT_NE(line.find("'0x10' is not a valid number"), std::string::npos) << line;
  EXPECT_EQ(Sluice({"topic", "list"}).out, "");
  Ok({"topic", "create", "t", "--partitions", "010"});
  EXPECT_NE(Ok({"topic", "describe", "t"}).find("partitions=10 "), std::string::npos);
  ExpectFailure(Sluice({"consume", "t", "--max", "1e3"}), 2);
  ExpectFailure(Sluice({"consume", "t", "--offset", "0b1"}), 2);
}

// reliability-scenarios: issue16 item 15
TEST_F(CliReliabilityTest, ALineLongerThanMaxMessageBytesIsRefusedWithoutReadingItAll) {
  Ok({"topic", "create", "t", "--partitions", "1", "--max-message-bytes", "4096"});
  auto producer = Start({"produce", "t", "--acks", "all"});
  ASSERT_TRUE(producer->Write("first\nsecond\n"));
  // One line of up to 16 MiB, stdin left open: the producer must give up once 4096 bytes of it
  // have been read, so it stops reading and our writes fail long before the end.
  const std::string chunk(64 << 10, 'x');
  size_t written = 0;
  while (written < (16u << 20) && producer->Write(chunk)) written += chunk.size();
  EXPECT_LT(written, 16u << 20) << "the producer read the whole 16 MiB line";
  producer->CloseStdin();
  EXPECT_EQ(producer->Wait(), 1) << producer->err();
  EXPECT_NE(producer->err().find("line 3 is longer than topic 't' accepts (max.message.bytes = "
                                 "4096 bytes)"),
            std::string::npos)
      << producer->err();
  EXPECT_NE(producer->err().find("--max-message-bytes"), std::string::npos) << producer->err();
  EXPECT_NE(producer->err().find("2 records before it were written"), std::string::npos)
      << producer->err();
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), "first\nsecond\n");
}

// reliability-scenarios: issue16 item 14
TEST_F(CliReliabilityTest, FollowWithGroupSaysAtOnceThatItCannotCommit) {
  CreateTopic("live", 1);
  Ok({"produce", "live"}, "a\nb\n");
  // A long-running writer holds the data directory's lock.
  auto producer = Start({"produce", "live"});
  ASSERT_TRUE(producer->Write("c\n"));
  auto follower = Start({"consume", "live", "--group", "g", "--follow"});
  EXPECT_EQ(follower->ReadStdoutLines(3, kHangGuard), "a\nb\nc\n");
  // The first periodic commit fails; the follower says so while it keeps running.
  EXPECT_TRUE(follower->WaitForStderr("could not commit offsets for group 'g'", kHangGuard))
      << follower->err();
  EXPECT_NE(follower->err().find("stop the other writer"), std::string::npos) << follower->err();
  producer->CloseStdin();
  EXPECT_EQ(producer->Wait(), 0) << producer->err();
  follower->Signal(SIGINT);
  EXPECT_EQ(follower->Wait(), 0) << follower->err();
}

// reliability-scenarios: issue16 item 10
TEST_F(CliReliabilityTest, ACommittedOffsetPastTheEndIsReportedNotRestartedFromZero) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\nb\n");
  {
    LogOptions o;
    o.data_dir = data_;
    auto log = Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(
        (*log)->offsets().Commit("g", {{{"t", PartitionId(0)}, {Offset(99), "", Now()}}}).ok());
  }
  CliResult r = Sluice({"consume", "t", "--group", "g"});
  std::string line = ExpectFailure(r, 1);
  EXPECT_EQ(r.out, "") << "the group started over from offset 0";
  EXPECT_NE(line.find("committed offset 99 for t-0, but the partition ends at offset 2"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("sluice group reset g --topic t"), std::string::npos) << line;
}

// reliability-scenarios: issue16 item 9
TEST_F(CliReliabilityTest, DamagedTopicConfIsReportedAsDamageWithWhatToDo) {
  CreateTopic("t", 2);
  Ok({"produce", "t"}, "a\n");
  CliResult w = RunSluice({"--data", data_, "topic", "list"});
  ASSERT_EQ(w.out, "t\n");
  FILE* f = fopen((data_ + "/topics/t/topic.conf").c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("garbage\n", f);
  fclose(f);
  EXPECT_EQ(Ok({"topic", "list"}), "t\n");
  std::string line = ExpectFailure(Sluice({"consume", "t", "--from-beginning"}), 1);
  EXPECT_NE(line.find("topic 't' is damaged"), std::string::npos) << line;
  EXPECT_EQ(line.find("does not exist"), std::string::npos) << line;
  line = ExpectFailure(Sluice({"topic", "create", "t", "--partitions", "2"}), 1);
  EXPECT_NE(line.find("topic 't' is damaged"), std::string::npos) << line;
  Ok({"topic", "delete", "t"});
  EXPECT_EQ(Ok({"topic", "list"}), "");
}

// reliability-scenarios: issue16 item 12 (and `sluice topic repair`)
TEST_F(CliReliabilityTest, DamageBelowTheRecoveryPointIsReadUpToAndRepairedOnRequest) {
  // A crash after everything was fsynced, then one flipped byte in the last segment.
  std::string pdir = ProduceTenSegmentsAndCrash();
  std::vector<std::string> logs = Segments(pdir);
  ASSERT_GE(logs.size(), 3u);
  std::string last = pdir + "/" + logs.back();
  auto bytes = FileSystem::Default()->ReadFile(last);
  ASSERT_TRUE(bytes.ok());
  std::string data = *bytes;
  data[data.size() / 2] ^= 0x01;
  ASSERT_TRUE(FileSystem::Default()->WriteFileAtomic(last, data).ok());
  const int64_t base = BaseOf(logs.back());

  // The reader gets every record before the damage, then the error and a failing exit.
  CliResult consumed = Sluice({"consume", "t", "--offset", "0"});
  std::string line = ExpectFailure(consumed, 1);
  EXPECT_NE(line.find(logs.back()), std::string::npos) << line;
  const int64_t k = std::count(consumed.out.begin(), consumed.out.end(), '\n');
  const std::string want = FirstRecords(k);
  ASSERT_EQ(consumed.out, want);
  ASSERT_GE(k, base);
  ASSERT_LT(k, 3000);

  // The writer refuses and says how to accept the loss.
  line = ExpectFailure(Sluice({"produce", "t"}, "x\n"), 1);
  EXPECT_NE(line.find("sluice topic repair t --partition 0"), std::string::npos) << line;

  auto before = Snapshot(pdir);
  std::string dry = Ok({"topic", "repair", "t", "--dry-run"});
  EXPECT_NE(dry.find(fmt::format("would lose offsets {} to 2999", k)), std::string::npos) << dry;
  EXPECT_TRUE(Snapshot(pdir) == before) << "the dry run changed files";
  std::string done = Ok({"topic", "repair", "t", "--partition", "0"});
  EXPECT_NE(done.find(fmt::format("lost offsets {} to 2999", k)), std::string::npos) << done;
  EXPECT_EQ(Ok({"consume", "t", "--offset", "0"}), want);
  Ok({"produce", "t"}, "after\n");
  EXPECT_EQ(Ok({"consume", "t", "--offset", std::to_string(k)}), "after\n");
}

// reliability-scenarios: issue16 item 6. No usable recovery point and one flipped byte in a
// segment before the last: the reader prints every record before the damage and fails naming the
// file; the next writer refuses and deletes nothing; describe fails and says from where.
TEST_F(CliReliabilityTest, DamageBeforeTheLastSegmentWithoutARecoveryPointIsReportedNotCut) {
  std::string pdir = ProduceTenSegmentsAndCrash();
  ASSERT_TRUE(FileSystem::Default()->WriteFileAtomic(pdir + "/recovery-point", "garbage").ok());
  std::vector<std::string> logs = Segments(pdir);
  ASSERT_GE(logs.size(), 5u);
  std::string victim = pdir + "/" + logs[2];
  auto bytes = FileSystem::Default()->ReadFile(victim);
  ASSERT_TRUE(bytes.ok());
  std::string data = *bytes;
  data[data.size() / 2] ^= 0x01;
  ASSERT_TRUE(FileSystem::Default()->WriteFileAtomic(victim, data).ok());
  const int64_t base = BaseOf(logs[2]);

  CliResult consumed = Sluice({"consume", "t", "--offset", "0"});
  std::string line = ExpectFailure(consumed, 1);
  EXPECT_NE(line.find(logs[2]), std::string::npos) << line;
  int64_t printed = std::count(consumed.out.begin(), consumed.out.end(), '\n');
  EXPECT_EQ(consumed.out, FirstRecords(printed));
  EXPECT_GE(printed, base);
  EXPECT_LT(printed, BaseOf(logs[3]));

  line = ExpectFailure(Sluice({"produce", "t"}, "x\n"), 1);
  EXPECT_NE(line.find("sluice topic repair t --partition 0"), std::string::npos) << line;
  EXPECT_EQ(Segments(pdir), logs) << "the writer deleted segments";

  CliResult described = Sluice({"topic", "describe", "t"});
  EXPECT_EQ(described.exit_code, 1) << described.err;
  EXPECT_NE(described.err.find(fmt::format("offsets from {} on cannot be read", printed)),
            std::string::npos)
      << described.err;
}

// reliability-scenarios: issue16 item 7. A missing middle segment: the reader stops before it
// and fails naming it; describe no longer answers the old end offset as if all were readable.
TEST_F(CliReliabilityTest, AMissingMiddleSegmentIsReportedByTheReaderAndByDescribe) {
  std::string pdir = ProduceTenSegmentsAndCrash();
  std::vector<std::string> logs = Segments(pdir);
  ASSERT_GE(logs.size(), 5u);
  const std::string gone = logs[4];
  const int64_t base = BaseOf(gone);
  const std::string stem = gone.substr(0, 20);
  for (const char* suffix : {".log", ".index", ".timeindex"}) {
    (void)FileSystem::Default()->RemoveFile(pdir + "/" + stem + suffix);
  }

  CliResult consumed = Sluice({"consume", "t", "--offset", "0"});
  std::string line = ExpectFailure(consumed, 1);
  EXPECT_NE(line.find(gone + "' is missing"), std::string::npos) << line;
  EXPECT_EQ(consumed.out, FirstRecords(base));

  CliResult described = Sluice({"topic", "describe", "t"});
  EXPECT_EQ(described.exit_code, 1) << described.out;
  EXPECT_NE(described.err.find(fmt::format("offsets from {} on cannot be read", base)),
            std::string::npos)
      << described.err;
  EXPECT_NE(described.err.find("sluice topic repair t"), std::string::npos) << described.err;
}

}  // namespace
}  // namespace sluice::testing
