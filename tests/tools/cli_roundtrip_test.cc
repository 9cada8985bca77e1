// Produce/consume round trips, offsets, times, formats and consumer groups through the real
// `sluice` binary.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/partitioner.h"
#include "core/producer.h"
#include "tests/tools/cli_fixture.h"
#include "tools/time_parse.h"

namespace sluice::testing {
namespace {

// Built twice: tools_cli_test runs the suite on the data directory (embedded); with
// SLUICE_CLI_VIA_BROKER (tools_cli_broker_test) every command goes through `--bootstrap-server`
// to a `sluice serve` process serving that directory, and must print the same.
#ifdef SLUICE_CLI_VIA_BROKER
constexpr bool kViaBroker = true;
#else
constexpr bool kViaBroker = false;
#endif

// A loopback port nobody listens on right now.
uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

class CliRoundTripTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (!kViaBroker) return;
    uint16_t port = FreePort();
    std::string address = "127.0.0.1:" + std::to_string(port);
    server_ = std::make_unique<SluiceProcess>(std::vector<std::string>{
        "--data", data_, "serve", "--listen", address, "--no-auto-create"});
    // A guard against a server that never comes up, not a timing assertion.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!Accepts(port) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(Accepts(port)) << "sluice serve did not start: " << server_->err();
    extra_args_ = {"-b", address};
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      EXPECT_EQ(server_->Wait(), 0) << server_->err();
      server_.reset();
    }
    CliTest::TearDown();
  }

  std::unique_ptr<SluiceProcess> server_;
};

// Kafka's murmur2 of fixed keys, as Kafka's Java client (UtilsTest.testMurmur2) and
// kafka-python compute them, and the partition of 4 each lands on: toPositive(h) % 4.
struct KeyVector {
  const char* key;
  int32_t murmur2;
  int32_t partition_of_4;
};
constexpr KeyVector kKeyVectors[] = {
    {"21", -973932308, 0},
    {"foobar", -790332482, 2},
    {"a-little-bit-long-string", -985981536, 0},
    {"a-little-bit-longer-string", -1486304829, 3},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 1},
    {"abc", 479470107, 3},
    {"key1", 28543940, 0},
    {"key2", 1674751211, 3},
    {"key3", -1745673403, 1},
};

TEST_F(CliRoundTripTest, CoreMurmur2MatchesKafkaVectors) {
  for (const KeyVector& v : kKeyVectors) {
    EXPECT_EQ(Murmur2(v.key), v.murmur2) << v.key;
    EXPECT_EQ(PartitionForKey(v.key, 4).value(), v.partition_of_4) << v.key;
  }
}

TEST_F(CliRoundTripTest, KeyedRecordsLandOnKafkasPartitions) {
  CreateTopic("keyed", 4);
  std::string input;
  for (const KeyVector& v : kKeyVectors) input += std::string(v.key) + ":value of " + v.key + "\n";
  CliResult r = Sluice({"produce", "keyed", "--key-separator", ":"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "wrote 9 records to topic 'keyed'\n");
  std::string out = Ok({"consume", "keyed", "--from-beginning", "--format", "%p|%k|%s\\n"});
  std::set<std::string> got;
  for (const std::string& line : SplitLines(out)) got.insert(line);
  std::set<std::string> want;
  for (const KeyVector& v : kKeyVectors) {
    want.insert(std::to_string(v.partition_of_4) + "|" + v.key + "|value of " + v.key);
  }
  EXPECT_EQ(got, want);
}

TEST_F(CliRoundTripTest, SeparatorSplitsAtFirstOccurrenceAndLinesWithoutItHaveNoKey) {
  CreateTopic("t", 1);
  Ok({"produce", "t", "--key-separator", "::"}, "k::v::w\nno separator\n::empty key\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning", "--format", "[%k][%s]\\n"}),
            "[k][v::w]\n[][no separator]\n[][empty key]\n");
}

TEST_F(CliRoundTripTest, FormatTokens) {
  CreateTopic("fmt", 2);
  Ok({"produce", "fmt", "--partition", "1", "--key-separator", "="}, "k=v\n");
  std::string out =
      Ok({"consume", "fmt", "--from-beginning", "--format", "%t\\t%p\\t%o\\t%k\\t%s\\t%h|%%\\n"});
  EXPECT_EQ(out, "fmt\t1\t0\tk\tv\t|%\n");
  std::string ts = Ok({"consume", "fmt", "--from-beginning", "--format", "%T"});
  int64_t ms = std::stoll(ts);
  EXPECT_GT(ms, 1'600'000'000'000);  // a real epoch-ms timestamp was stamped
}

TEST_F(CliRoundTripTest, UnkeyedRecordsSpreadOverPartitions) {
  CreateTopic("spread", 3);
  // Unkeyed records stick to one partition per batch and move on with the next batch, so
  // send several batches' worth (~1.2 MB; a batch is 256 KiB).
  std::string input;
  for (int i = 0; i < 10000; ++i)
    input += "line " + std::to_string(i) + std::string(110, '.') + "\n";
  Ok({"produce", "spread"}, input);
  int total = 0;
  for (int p = 0; p < 3; ++p) {
    int n = static_cast<int>(CountLines(
        Ok({"consume", "spread", "--partition", std::to_string(p), "--from-beginning"})));
    EXPECT_GT(n, 0) << "partition " << p << " got nothing";
    total += n;
  }
  EXPECT_EQ(total, 10000);
}

TEST_F(CliRoundTripTest, ConsumeFromOffsetAndMax) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\nb\nc\nd\ne\n");
  EXPECT_EQ(Ok({"consume", "t", "--offset", "2"}), "c\nd\ne\n");
  EXPECT_EQ(Ok({"consume", "t", "--partition", "0", "--offset", "5"}), "");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning", "--max", "2"}), "a\nb\n");
  // Without a start option, consume reads only new records: none.
  EXPECT_EQ(Ok({"consume", "t"}), "");
}

TEST_F(CliRoundTripTest, ConsumeFromTime) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "old1\nold2\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let the clock move past old2
  Ok({"produce", "t"}, "new1\nnew2\n");
  std::vector<std::string> ts =
      SplitLines(Ok({"consume", "t", "--from-beginning", "--format", "%T\\n"}));
  ASSERT_EQ(ts.size(), 4u);
  ASSERT_LT(std::stoll(ts[1]), std::stoll(ts[2]));
  EXPECT_EQ(Ok({"consume", "t", "--from-time", ts[2]}), "new1\nnew2\n");
  std::string iso = tools::FormatTime(Timestamp(std::stoll(ts[2])));
  EXPECT_EQ(Ok({"consume", "t", "--from-time", iso}), "new1\nnew2\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-time", "1970-01-01"}), "old1\nold2\nnew1\nnew2\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-time", "2999-01-01T00:00:00Z"}), "");
}

TEST_F(CliRoundTripTest, GroupCommitsWhatItPrintedAndResumes) {
  CreateTopic("t", 2);
  Ok({"produce", "t", "--partition", "0"}, "a\nb\nc\n");
  Ok({"produce", "t", "--partition", "1"}, "x\ny\n");
  // No committed offsets: starts at the earliest. --max stops after two records.
  std::string first = Ok({"consume", "t", "--group", "g", "--max", "2"});
  EXPECT_EQ(CountLines(first), 2u);
  std::string rest = Ok({"consume", "t", "--group", "g"});
  EXPECT_EQ(CountLines(rest), 3u);
  std::multiset<std::string> all;
  for (const auto& l : SplitLines(first + rest)) all.insert(l);
  EXPECT_EQ(all, (std::multiset<std::string>{"a", "b", "c", "x", "y"}));
  EXPECT_EQ(Ok({"group", "list"}), "g\n");
  std::string desc = Ok({"group", "describe", "g"});
  EXPECT_NE(desc.find("LAG"), std::string::npos) << desc;
  std::vector<std::string> rows = SplitLines(desc);
  ASSERT_EQ(rows.size(), 3u) << desc;
  // Nothing new: nothing printed. New records: only they.
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "");
  Ok({"produce", "t", "--partition", "1"}, "z\n");
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "z\n");
  // Another group is independent.
  EXPECT_EQ(CountLines(Ok({"consume", "t", "--group", "other"})), 6u);
}

TEST_F(CliRoundTripTest, GroupDescribeShowsCommittedEndAndLag) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\nb\nc\nd\n");
  Ok({"consume", "t", "--group", "g", "--max", "1"});
  std::vector<std::string> rows = SplitLines(Ok({"group", "describe", "g"}));
  ASSERT_EQ(rows.size(), 2u);
  std::istringstream row(rows[1]);
  std::string topic;
  int64_t partition, committed, end, lag;
  row >> topic >> partition >> committed >> end >> lag;
  EXPECT_EQ(topic, "t");
  EXPECT_EQ(partition, 0);
  EXPECT_EQ(committed, 1);
  EXPECT_EQ(end, 4);
  EXPECT_EQ(lag, 3);
}

TEST_F(CliRoundTripTest, GroupResetVariants) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\nb\nc\n");
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "a\nb\nc\n");
  Ok({"group", "reset", "g", "--topic", "t", "--to-earliest"});
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "a\nb\nc\n");
  Ok({"group", "reset", "g", "--topic", "t", "--to-offset", "2"});
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "c\n");
  Ok({"group", "reset", "g", "--topic", "t", "--to-offset", "0"});
  Ok({"group", "reset", "g", "--topic", "t", "--to-latest"});
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "");
  std::vector<std::string> ts =
      SplitLines(Ok({"consume", "t", "--from-beginning", "--format", "%T\\n"}));
  Ok({"group", "reset", "g", "--topic", "t", "--to-time", ts[0]});
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "a\nb\nc\n");
  Ok({"group", "reset", "g", "--topic", "t", "--to-time", "2999-01-01"});
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "");
}

TEST_F(CliRoundTripTest, TopicListDescribeDelete) {
  CreateTopic("b-topic", 2);
  Ok({"topic", "create", "a-topic", "--partitions", "1", "--retention-ms", "60000",
      "--segment-bytes", "1048576"});
  EXPECT_EQ(Ok({"topic", "list"}), "a-topic\nb-topic\n");
  Ok({"produce", "b-topic", "--partition", "1"}, "x\ny\n");
  std::string desc = Ok({"topic", "describe", "b-topic"});
  std::vector<std::string> rows = SplitLines(desc);
  ASSERT_EQ(rows.size(), 4u) << desc;
  EXPECT_NE(rows[0].find("partitions=2"), std::string::npos) << desc;
  std::istringstream p1(rows[3]);
  int64_t partition, start, end;
  p1 >> partition >> start >> end;
  EXPECT_EQ(partition, 1);
  EXPECT_EQ(start, 0);
  EXPECT_EQ(end, 2);
  std::string a_desc = Ok({"topic", "describe", "a-topic"});
  if (!kViaBroker) {
    EXPECT_NE(a_desc.find("retention.ms=60000"), std::string::npos) << a_desc;
  } else {
    // Over a broker the setting is shown when it answers DescribeConfigs (`sluice serve` does),
    // "-" (unknown) for one that does not, never a wrong value.
    EXPECT_TRUE(a_desc.find("retention.ms=60000") != std::string::npos ||
                a_desc.find("retention.ms=- ") != std::string::npos)
        << a_desc;
    EXPECT_NE(a_desc.find("partitions=1"), std::string::npos) << a_desc;
  }
  Ok({"consume", "b-topic", "--group", "g"});
  Ok({"topic", "delete", "b-topic"});
  EXPECT_EQ(Ok({"topic", "list"}), "a-topic\n");
  // Re-creating the name starts empty.
  CreateTopic("b-topic", 1);
  EXPECT_EQ(Ok({"consume", "b-topic", "--from-beginning"}), "");
}

// `topic alter` changes the configs named, keeps the others, and refuses a bad key or value with
// the checks `topic create` uses, naming the key (and, for an unknown one, the supported ones).
TEST_F(CliRoundTripTest, TopicAlterChangesTheNamedConfigsOnly) {
  CreateTopic("t", 1);
  EXPECT_EQ(Ok({"topic", "alter", "t", "--config", "retention.ms=60000", "--config",
                "cleanup.policy=compact,delete", "--config", "min.compaction.lag.ms=5"}),
            "altered topic 't': cleanup.policy=compact,delete min.compaction.lag.ms=5 "
            "retention.ms=60000\n");
  std::string desc = Ok({"topic", "describe", "t"});
  EXPECT_NE(desc.find("retention.ms=60000"), std::string::npos) << desc;
  EXPECT_NE(desc.find("cleanup.policy=compact,delete"), std::string::npos) << desc;
  EXPECT_NE(desc.find("min.compaction.lag.ms=5"), std::string::npos) << desc;
  Ok({"topic", "alter", "t", "--config", "retention.bytes=100000"});
  desc = Ok({"topic", "describe", "t"});
  EXPECT_NE(desc.find("retention.ms=60000"), std::string::npos) << desc;
  EXPECT_NE(desc.find("retention.bytes=100000"), std::string::npos) << desc;
  EXPECT_NE(desc.find("cleanup.policy=compact,delete"), std::string::npos) << desc;

  std::string err =
      ExpectFailure(Sluice({"topic", "alter", "t", "--config", "min.insync.replicas=2"}), 1);
  EXPECT_NE(err.find("min.insync.replicas is not supported"), std::string::npos) << err;
  EXPECT_NE(err.find("cleanup.policy"), std::string::npos) << err;
  err =
      ExpectFailure(Sluice({"topic", "alter", "t", "--config", "min.cleanable.dirty.ratio=2"}), 1);
  EXPECT_NE(err.find("min.cleanable.dirty.ratio"), std::string::npos) << err;
  err = ExpectFailure(Sluice({"topic", "alter", "t", "--config", "segment.bytes=10"}), 1);
  EXPECT_NE(err.find("segment"), std::string::npos) << err;
  err = ExpectFailure(Sluice({"topic", "alter", "nope", "--config", "retention.ms=1000"}), 1);
  EXPECT_NE(err.find("nope"), std::string::npos) << err;
  // The refused changes changed nothing.
  EXPECT_EQ(Ok({"topic", "describe", "t"}), desc);
}

// `topic delete-records` moves the log start to exactly the offset given, inside a segment:
// consumers from the beginning and a group whose committed offset is below it start there.
TEST_F(CliRoundTripTest, TopicDeleteRecordsMovesTheLogStartToTheExactOffset) {
  Ok({"topic", "create", "t", "--partitions", "1", "--segment-bytes", "1024"});
  for (int i = 0; i < 4; ++i) {  // several batches, so several segments
    std::string part;
    for (int j = i * 25; j < (i + 1) * 25; ++j) part += "value-" + std::to_string(j) + "\n";
    Ok({"produce", "t"}, part);
  }
  EXPECT_EQ(CountLines(Ok({"consume", "t", "--group", "g", "--max", "10"})), 10u);
  EXPECT_EQ(Ok({"topic", "delete-records", "t", "--partition", "0", "--before", "57"}),
            "partition 0 of 't' now starts at offset 57\n");
  std::vector<std::string> rest = SplitLines(Ok({"consume", "t", "--from-beginning"}));
  ASSERT_EQ(rest.size(), 43u);
  EXPECT_EQ(rest.front(), "value-57");
  std::vector<std::string> rows = SplitLines(Ok({"topic", "describe", "t"}));
  ASSERT_EQ(rows.size(), 3u);
  std::istringstream p0(rows[2]);
  int64_t partition, start, end;
  p0 >> partition >> start >> end;
  EXPECT_EQ(start, 57);
  EXPECT_EQ(end, 100);
  // The group committed 10, now below the log start: it starts again at the log start.
  std::vector<std::string> group = SplitLines(Ok({"consume", "t", "--group", "g"}));
  ASSERT_FALSE(group.empty());
  EXPECT_EQ(group.front(), "value-57");
  // A lower offset changes nothing; past the end and an absent partition are refused.
  EXPECT_EQ(Ok({"topic", "delete-records", "t", "--partition", "0", "--to-offset", "10"}),
            "partition 0 of 't' now starts at offset 57\n");
  std::string err = ExpectFailure(
      Sluice({"topic", "delete-records", "t", "--partition", "0", "--before", "101"}), 1);
  EXPECT_NE(err.find("ends at 100"), std::string::npos) << err;
  err = ExpectFailure(Sluice({"topic", "delete-records", "t", "--partition", "3", "--before", "1"}),
                      1);
  EXPECT_NE(err.find("partition 3"), std::string::npos) << err;
  EXPECT_EQ(CountLines(Ok({"consume", "t", "--from-beginning"})), 43u);
}

// `group delete` removes a group's committed offsets; it is refused while the group has a member
// (a consumer through the server, or a process reading the directory), as Kafka refuses it.
TEST_F(CliRoundTripTest, GroupDeleteRemovesTheGroupAndRefusesWhileItHasMembers) {
  CreateTopic("t", 1);
  Ok({"produce", "t"}, "a\nb\nc\n");
  Ok({"consume", "t", "--group", "g"});
  Ok({"consume", "t", "--group", "other", "--max", "1"});
  EXPECT_EQ(Ok({"group", "list"}), "g\nother\n");
  EXPECT_EQ(Ok({"group", "delete", "g"}), "deleted group 'g'\n");
  EXPECT_EQ(Ok({"group", "list"}), "other\n");
  // Deleted means its offsets are gone: it reads from the beginning again.
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "a\nb\nc\n");
  std::string err = ExpectFailure(Sluice({"group", "delete", "never"}), 1);
  EXPECT_NE(err.find("never"), std::string::npos) << err;

  {
    SluiceProcess member(WithData({"consume", "t", "--group", "other", "--follow"}), env_);
    // The member has joined once it printed what the group had left to read.
    std::string got = member.ReadStdoutLines(2, std::chrono::seconds(60));
    ASSERT_EQ(got, "b\nc\n") << member.err();
    err = ExpectFailure(Sluice({"group", "delete", "other"}), 1);
    EXPECT_NE(err.find("active member"), std::string::npos) << err;
    member.Signal(SIGINT);
    EXPECT_EQ(member.Wait(), 0) << member.err();
  }
  EXPECT_EQ(Ok({"group", "delete", "other"}), "deleted group 'other'\n");
  EXPECT_EQ(Ok({"group", "list"}), "g\n");
}

TEST_F(CliRoundTripTest, ProduceAcksAllAndNone) {
  CreateTopic("t", 1);
  Ok({"produce", "t", "--acks", "all"}, "durable\n");
  Ok({"produce", "t", "--acks", "none"}, "fast\n");
  Ok({"produce", "t", "--acks", "leader"}, "last line without newline");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), "durable\nfast\nlast line without newline\n");
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

TEST_F(CliRoundTripTest, DemoRunsEveryStepAndChecksItsCounts) {
  CliResult r = Sluice({"demo", "--events", "3000", "--partitions", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* step : {"1. created topic", "2. produced 3000", "3. read all 3000",
                           "4. read partition 0 from offset", "5. read from time", "6. group",
                           "ok: every count matched"}) {
    EXPECT_NE(r.out.find(step), std::string::npos) << "missing '" << step << "' in\n" << r.out;
  }
  // With --data it uses that directory and leaves the topic there for the other commands.
  EXPECT_EQ(Ok({"topic", "list"}), "page-views\n");
  EXPECT_EQ(CountLines(Ok({"consume", "page-views", "--from-beginning"})), 3000u);
  if (kViaBroker) {
    // Through the broker: no data directory of its own, the broker named instead.
    EXPECT_EQ(r.out.rfind("sluice demo: the broker at 127.0.0.1:", 0), 0u) << r.out;
    EXPECT_EQ(r.out.find("data directory"), std::string::npos) << r.out;
    // Without -b on the served directory it goes through the server that owns it (<data>/OWNER),
    // and a second run refuses to touch the existing topic.
    std::string err =
        ExpectFailure(RunSluice({"--data", data_, "demo", "--events", "10"}, "", env_), 1);
    EXPECT_NE(err.find("already exists at the broker at"), std::string::npos) << err;
  } else {
    // A second run refuses to touch the existing topic.
    std::string err = ExpectFailure(Sluice({"demo", "--events", "10"}), 1);
    EXPECT_NE(err.find("already exists in " + data_), std::string::npos) << err;
  }
}

// A temporary directory is what the demo uses without --data and without -b: embedded only.
#ifndef SLUICE_CLI_VIA_BROKER
TEST_F(CliRoundTripTest, DemoWithoutDataUsesAndRemovesATemporaryDirectory) {
  std::string tmpdir = tmp_ + "/t";
  std::filesystem::create_directory(tmpdir);
  CliResult r = RunSluice({"demo", "--events", "500"}, "", {{"TMPDIR", tmpdir}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(tmpdir + "/sluice-demo-"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_empty(tmpdir));
  EXPECT_FALSE(std::filesystem::exists(data_));
}
#endif  // SLUICE_CLI_VIA_BROKER

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// Writes records with timestamps 1000, 2000, 3000, 4000 into one batch of partition 0.
void WriteOneBatchWithFourTimes(const std::string& data_dir) {
  auto log = Log::Open({.data_dir = data_dir});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->CreateTopic("times", TopicConfig{.partitions = 1}).ok());
  auto producer = Producer::Create(log->get(), {.linger = std::chrono::milliseconds(60000)});
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (int i = 1; i <= 4; ++i) {
    Record r{.value = "t" + std::to_string(i * 1000), .timestamp = Timestamp(i * 1000)};
    ASSERT_TRUE((*producer)->Send("times", r).ok());
  }
  ASSERT_TRUE((*producer)->Flush().ok());
  producer->reset();
  ASSERT_TRUE((*log)->Close().ok());
}

TEST_F(CliRoundTripTest, FromTimeLandsOnTheRecordNotTheBatchStart) {
  if (kViaBroker) {
    // The serving process holds the directory: one produce of four lines stamped by their "ts"
    // field, which the Kafka producer sends together.
    Ok({"topic", "create", "times", "--partitions", "1"});
    Ok({"produce", "times", "--timestamp-field", "ts"},
       "{\"ts\":1000}\n{\"ts\":2000}\n{\"ts\":3000}\n{\"ts\":4000}\n");
  } else {
    WriteOneBatchWithFourTimes(data_);
  }
  EXPECT_EQ(Ok({"consume", "times", "--from-beginning", "--format", "%o %T\\n"}),
            "0 1000\n1 2000\n2 3000\n3 4000\n");
  EXPECT_EQ(Ok({"consume", "times", "--from-time", "2500", "--format", "%T\\n"}), "3000\n4000\n");
  EXPECT_EQ(Ok({"consume", "times", "--from-time", "3000", "--format", "%T\\n"}), "3000\n4000\n");
  EXPECT_EQ(Ok({"consume", "times", "--from-time", "4001"}), "");
  EXPECT_EQ(Ok({"consume", "times", "--from-time", "1970-01-01T00:00:01.5Z", "--format", "%T\\n"}),
            "2000\n3000\n4000\n");
  Ok({"group", "reset", "g", "--topic", "times", "--to-time", "2001"});
  EXPECT_EQ(Ok({"consume", "times", "--group", "g", "--format", "%T\\n"}), "3000\n4000\n");
}

}  // namespace
}  // namespace sluice::testing
