// The data directory's own metadata: the writer lock, topic.conf, committed offsets and producer
// ids. Each case is one of issue 16's "nothing silent" findings (tests/README.md): a
// damaged or missing file is reported as corruption saying what to do, never read as something
// else, and nothing acknowledged is lost.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/consumer.h"
#include "core/log.h"
#include "core/producer.h"
#include "core/record_batch.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

class MetadataIntegrityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-meta-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/data";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  Result<std::unique_ptr<Log>> Open(bool read_only = false) {
    LogOptions o;
    o.data_dir = dir_;
    o.read_only = read_only;
    o.info_log = [this](const std::string& line) { info_.push_back(line); };
    return Log::Open(o);
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static void Spit(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  // Appends `n` one-record batches "v0".."v<n-1>" to topic-partition with acks=all.
  static void AppendValues(Log& log, const std::string& topic, int partition, int n) {
    auto p = log.GetPartition(topic, PartitionId(partition));
    ASSERT_TRUE(p.ok()) << p.status();
    for (int i = 0; i < n; ++i) {
      RecordBatchBuilder b;
      std::string v = "v" + std::to_string(i);
      b.Add(Timestamp(1000 + i), std::nullopt, std::string_view(v));
      auto r = (*p)->Append(b.Finish(), Acks::kAll);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  // Creates topic "t" with `partitions` partitions, 3 records "v0".."v2" in each, and closes the
  // log cleanly.
  void MakeTopic(int partitions) {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->CreateTopic("t", {.partitions = partitions}).ok());
    for (int p = 0; p < partitions; ++p) AppendValues(**log, "t", p, 3);
    ASSERT_TRUE((*log)->Close().ok());
  }

  std::string root_, dir_;
  std::vector<std::string> info_;
};

// reliability-scenarios: issue16 item 13
TEST_F(MetadataIntegrityTest, RemovingTheLockFileDoesNotLetASecondWriterIn) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->CreateTopic("t", {}).ok());
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A real writer process: 20 acknowledged (fsynced) records, then it keeps the log open.
    LogOptions o;
    o.data_dir = dir_;
    auto log = Log::Open(o);
    char c = 'n';
    if (log.ok()) {
      auto p = (*log)->GetPartition("t", PartitionId(0));
      c = 'y';
      for (int i = 0; p.ok() && i < 20; ++i) {
        RecordBatchBuilder b;
        b.Add(Timestamp(1), std::nullopt, std::string_view("acked"));
        if (!(*p)->Append(b.Finish(), Acks::kAll).ok()) c = 'n';
      }
      if (!p.ok()) c = 'n';
    }
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  ASSERT_TRUE(std::filesystem::remove(dir_ + "/LOCK"));

  auto second = Open();
  EXPECT_FALSE(second.ok()) << "a second writer got in after LOCK was removed";
  if (!second.ok()) EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status();
  if (second.ok()) {
    // What the bug did next: the second writer recovers and appends over the first's records.
    auto p = (*second)->GetPartition("t", PartitionId(0));
    if (p.ok()) {
      RecordBatchBuilder b;
      b.Add(Timestamp(2), std::nullopt, std::string_view("second"));
      (void)(*p)->Append(b.Finish(), Acks::kAll);
    }
    second->reset();
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);

  // Every record the first writer had acknowledged is still there.
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  auto p = (*log)->GetPartition("t", PartitionId(0));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_GE((*p)->high_watermark(), Offset(20));
}

// reliability-scenarios: issue16 item 9
TEST_F(MetadataIntegrityTest, GarbageInTopicConfIsReportedAsDamageNotAsAMissingTopic) {
  MakeTopic(4);
  Spit(dir_ + "/topics/t/topic.conf", "\x01\x02 garbage \xff\n");
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  auto d = (*log)->DescribeTopic("t");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption) << d.status();
  EXPECT_NE(d.status().message().find("topic.conf"), std::string::npos) << d.status();
  EXPECT_NE(d.status().message().find("sluice topic delete t"), std::string::npos) << d.status();
  EXPECT_EQ(d.status().message().find("does not exist"), std::string::npos) << d.status();
  EXPECT_EQ(*(*log)->ListTopics(), std::vector<std::string>{"t"});
  auto p = (*log)->GetPartition("t", PartitionId(0));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kCorruption) << p.status();
  // Creating it again must not reuse the old partitions under a new configuration.
  Status created = (*log)->CreateTopic("t", {.partitions = 1});
  EXPECT_EQ(created.code(), StatusCode::kCorruption) << created;
}

// reliability-scenarios: issue16 item 9
TEST_F(MetadataIntegrityTest, FewerPartitionsInTopicConfThanOnDiskIsReported) {
  MakeTopic(4);
  // A checksummed file edited 4 -> 2: the checksum catches it.
  std::string conf = Slurp(dir_ + "/topics/t/topic.conf");
  size_t at = conf.find("partitions=4");
  ASSERT_NE(at, std::string::npos) << conf;
  conf[at + 11] = '2';
  Spit(dir_ + "/topics/t/topic.conf", conf);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    auto d = (*log)->DescribeTopic("t");
    ASSERT_FALSE(d.ok()) << "partitions 4 -> 2 went unnoticed";
    EXPECT_EQ(d.status().code(), StatusCode::kCorruption) << d.status();
    EXPECT_NE(d.status().message().find("checksum"), std::string::npos) << d.status();
  }
  // A file without a checksum (as older versions wrote) saying 2: the partition directories 2
  // and 3 disagree with it.
  Spit(dir_ + "/topics/t/topic.conf", "partitions=2\n");
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  auto d = (*log)->DescribeTopic("t");
  ASSERT_FALSE(d.ok()) << "partitions 4 -> 2 went unnoticed";
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption) << d.status();
  EXPECT_NE(d.status().message().find("holds partition 3"), std::string::npos) << d.status();
  EXPECT_NE(d.status().message().find("at least 4 partitions"), std::string::npos) << d.status();
}

// reliability-scenarios: issue16 item 9
TEST_F(MetadataIntegrityTest, DeletedTopicConfNeitherHidesTheTopicNorLetsCreateResurrectIt) {
  MakeTopic(4);
  ASSERT_TRUE(std::filesystem::remove(dir_ + "/topics/t/topic.conf"));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*(*log)->ListTopics(), std::vector<std::string>{"t"}) << "the topic vanished";
  auto d = (*log)->DescribeTopic("t");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption) << d.status();
  EXPECT_NE(d.status().message().find("topic.conf is missing"), std::string::npos) << d.status();
  Status created = (*log)->CreateTopic("t", {.partitions = 4});
  ASSERT_EQ(created.code(), StatusCode::kCorruption) << created;
  // The way out the message names: delete the topic, then it can be created afresh and empty.
  ASSERT_TRUE((*log)->DeleteTopic("t").ok());
  ASSERT_TRUE((*log)->CreateTopic("t", {.partitions = 4}).ok());
  auto p = (*log)->GetPartition("t", PartitionId(0));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(0));
}

// reliability-scenarios: issue16 item 9
TEST_F(MetadataIntegrityTest, TopicConfWithoutChecksumFromAnOlderVersionStillOpens) {
  MakeTopic(2);
  Spit(dir_ + "/topics/t/topic.conf",
       "partitions=2\nretention_ms=-1\nretention_bytes=-1\nsegment_bytes=67108864\n"
       "max_message_bytes=1048588\n");
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  auto d = (*log)->DescribeTopic("t");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->partitions, 2);
  auto p = (*log)->GetPartition("t", PartitionId(1));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(3));
}

// reliability-scenarios: issue16 item 10
TEST_F(MetadataIntegrityTest, DamagedCommittedOffsetsAreReportedNotMisread) {
  const TopicPartition tp{"t", PartitionId(0)};
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->offsets().Commit("g", {{tp, {Offset(1234), "", Timestamp(5)}}}).ok());
  }
  const std::string path = dir_ + "/groups/g.offsets";
  const std::string good = Slurp(path);
  ASSERT_NE(good.find("\t1234\t"), std::string::npos) << good;
  std::string digit = good;
  digit[digit.find("\t1234\t") + 2] = '9';  // 1234 -> 1934
  std::string letter = good;
  letter[letter.find("\t1234\t") + 3] = 'x';  // 1234 -> 12x4
  for (const std::string& damaged : {digit, letter}) {
    Spit(path, damaged);
    auto log = Open(/*read_only=*/true);
    ASSERT_TRUE(log.ok()) << log.status();
    auto got = (*log)->offsets().Fetch("g", tp);
    ASSERT_FALSE(got.ok()) << "read " << (got->has_value() ? (**got).offset.value() : -1);
    EXPECT_EQ(got.status().code(), StatusCode::kCorruption) << got.status();
    EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status();
    EXPECT_NE(got.status().message().find("delete the file"), std::string::npos) << got.status();
  }
  // Files of older versions have no checksum; they are still read, strictly.
  Spit(path, "sluice-offsets 1\nt\t0\t1234\t5\t\n");
  {
    auto log = Open(/*read_only=*/true);
    auto got = (*log)->offsets().Fetch("g", tp);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((**got).offset, Offset(1234));
  }
  Spit(path, "sluice-offsets 1\nt\t0\t12x4\t5\t\n");
  auto log = Open(/*read_only=*/true);
  auto got = (*log)->offsets().Fetch("g", tp);
  ASSERT_FALSE(got.ok()) << "'12x4' was read as " << (**got).offset.value();
  EXPECT_EQ(got.status().code(), StatusCode::kCorruption) << got.status();
}

// reliability-scenarios: issue16 item 10
TEST_F(MetadataIntegrityTest, ProducerIdsFileIsChecksummedAndOldFilesStillRead) {
  MakeTopic(1);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(*(*log)->AllocateProducerId(), 0);
  }
  EXPECT_NE(Slurp(dir_ + "/producer-ids").find("crc32c:"), std::string::npos);
  Spit(dir_ + "/producer-ids", "41\n");  // an older version's file
  {
    auto log = Open();
    EXPECT_EQ(*(*log)->AllocateProducerId(), 41);
    EXPECT_EQ(*(*log)->AllocateProducerId(), 42);
  }
  // Damaged: not trusted (nor misread as 4); the id comes from the partitions, and it says so.
  Spit(dir_ + "/producer-ids", "4x\n");
  info_.clear();
  auto log = Open();
  auto id = (*log)->AllocateProducerId();
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 0);  // no partition holds a batch of any producer
  ASSERT_EQ(info_.size(), 1u);
  EXPECT_NE(info_[0].find("producer-ids"), std::string::npos) << info_[0];
}

// reliability-scenarios: issue16 item 11
TEST_F(MetadataIntegrityTest, LostProducerIdsFileNeitherReusesAnIdNorDropsAnAcknowledgedBatch) {
  MakeTopic(1);
  // What a Kafka client does after InitProducerId: its own batches, sequences from 0.
  auto send = [&](Log& log, const std::string& prefix) {
    auto id = log.AllocateProducerId();
    ASSERT_TRUE(id.ok()) << id.status();
    auto p = log.GetPartition("t", PartitionId(0));
    ASSERT_TRUE(p.ok()) << p.status();
    for (int i = 0; i < 3; ++i) {
      RecordBatchBuilder b;
      b.SetProducer(*id, 0, i);
      std::string v = prefix + std::to_string(i);
      b.Add(Timestamp(2000 + i), std::nullopt, std::string_view(v));
      auto r = (*p)->Append(b.Finish(), Acks::kAll);
      ASSERT_TRUE(r.ok()) << r.status();  // acknowledged
    }
  };
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    send(**log, "old");
  }
  ASSERT_TRUE(std::filesystem::remove(dir_ + "/producer-ids"));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  send(**log, "new");
  // Every acknowledged record is in the log.
  auto c = Consumer::Create(log->get(), {});
  ASSERT_TRUE((*c)->Assign({{"t", PartitionId(0)}}).ok());
  std::vector<std::string> values;
  while (!(*c)->AtEnd()) {
    auto recs = (*c)->Poll(100ms);
    ASSERT_TRUE(recs.ok()) << recs.status();
    for (const auto& r : *recs) values.emplace_back(r.record.value);
  }
  EXPECT_EQ(values, (std::vector<std::string>{"v0", "v1", "v2", "old0", "old1", "old2", "new0",
                                              "new1", "new2"}));
}

// reliability-scenarios: issue16 item 16
TEST_F(MetadataIntegrityTest, GroupIdsOfTheMaximumLengthCommitAndListBack) {
  const std::string plain(249, 'g');
  std::string odd;
  for (int i = 0; i < 249; ++i) odd.push_back(static_cast<char>(i % 3 == 0 ? '\xe9' : '/'));
  std::string near = std::string(243, 'n');  // the longest a name could be before
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    for (const std::string& g : {plain, odd, near, std::string("short")}) {
      Status st = (*log)->offsets().Commit(g, {{{"t", PartitionId(0)}, {Offset(7), "m", Now()}}});
      ASSERT_TRUE(st.ok()) << st;
    }
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/groups/" + near + ".offsets"));
  auto log = Open(/*read_only=*/true);
  ASSERT_TRUE(log.ok()) << log.status();
  for (const std::string& g : {plain, odd, near}) {
    auto got = (*log)->offsets().Fetch(g, {"t", PartitionId(0)});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((**got).offset, Offset(7));
  }
  auto groups = (*log)->offsets().ListGroups();
  ASSERT_TRUE(groups.ok()) << groups.status();
  std::vector<std::string> want{plain, odd, near, "short"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*groups, want);
}

}  // namespace
}  // namespace sluice
