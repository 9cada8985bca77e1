// Log, Producer, Consumer and OffsetStore through the public API.
#include "core/log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/consumer.h"
#include "core/partitioner.h"
#include "core/producer.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-log-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/data";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::unique_ptr<Log> OpenLog(bool read_only = false) {
    LogOptions o;
    o.data_dir = dir_;
    o.read_only = read_only;
    auto log = Log::Open(o);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  static std::vector<std::string> ReadAll(Log* log, const std::string& topic, int partitions) {
    auto c = Consumer::Create(log, {});
    std::vector<TopicPartition> tps;
    for (int p = 0; p < partitions; ++p) tps.push_back({topic, PartitionId(p)});
    EXPECT_TRUE((*c)->Assign(tps).ok());
    std::vector<std::string> out;
    while (!(*c)->AtEnd()) {
      auto recs = (*c)->Poll(100ms);
      EXPECT_TRUE(recs.ok()) << recs.status();
      for (const auto& r : *recs) out.emplace_back(r.record.value);
    }
    return out;
  }

  std::string root_, dir_;
};

TEST_F(LogTest, CreatesListsDescribesAndDeletesTopics) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("b", {.partitions = 2}).ok());
  ASSERT_TRUE(log->CreateTopic("a", {.partitions = 1}).ok());
  EXPECT_EQ(log->CreateTopic("a", {}).code(), StatusCode::kAlreadyExists);
  auto topics = log->ListTopics();
  ASSERT_TRUE(topics.ok());
  EXPECT_EQ(*topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(log->DescribeTopic("b")->partitions, 2);
  ASSERT_TRUE(log->DeleteTopic("b").ok());
  EXPECT_EQ(log->DeleteTopic("b").code(), StatusCode::kNotFound);
  EXPECT_EQ(log->DescribeTopic("b").status().code(), StatusCode::kNotFound);
  log.reset();
  auto again = OpenLog();
  EXPECT_EQ(*again->ListTopics(), (std::vector<std::string>{"a"}));
}

TEST_F(LogTest, BadTopicNamesCreateNothingAnywhere) {
  auto log = OpenLog();
  for (std::string bad :
       std::vector<std::string>{"", ".", "..", "a/b", "../../escape", std::string(250, 'x')}) {
    EXPECT_EQ(log->CreateTopic(bad, {}).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(log->GetPartition(bad, PartitionId(0)).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(std::filesystem::exists(root_ + "/escape"));
  EXPECT_TRUE(log->ListTopics()->empty());
  size_t entries = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/topics")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 0u);
}

TEST_F(LogTest, UnknownPartitionSaysHowManyThereAre) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {.partitions = 3}).ok());
  auto p = log->GetPartition("t", PartitionId(7));
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("has 3 partitions"), std::string::npos);
}

TEST_F(LogTest, SecondWriterGetsAnErrorNamingTheHolder) {
  LogOptions o;
  o.data_dir = dir_;
  o.lock_holder_label = "first writer label";
  auto first = Log::Open(o);
  ASSERT_TRUE(first.ok());
  o.lock_holder_label = "second";
  auto second = Log::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("first writer label"), std::string::npos);
  EXPECT_NE(second.status().message().find(std::to_string(getpid())), std::string::npos);
  // Readers are not blocked by the writer.
  EXPECT_NE(OpenLog(/*read_only=*/true), nullptr);
  first->reset();
  EXPECT_TRUE(Log::Open(o).ok());
}

TEST_F(LogTest, LockOfAKilledWriterDoesNotBlockTheNext) {
  std::filesystem::create_directories(dir_);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    LogOptions o;
    o.data_dir = dir_;
    auto log = Log::Open(o);
    char c = log.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  LogOptions o;
  o.data_dir = dir_;
  EXPECT_FALSE(Log::Open(o).ok());  // held by the live child
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(Log::Open(o).ok());
  close(ready[0]);
  close(ready[1]);
}

TEST_F(LogTest, RecoveryAfterAKilledWriterIsReportedInOneLine) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->CreateTopic("t", {}).ok());
  }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    LogOptions o;
    o.data_dir = dir_;
    auto log = Log::Open(o);
    auto p = Producer::Create(log->get(), {.linger = 0ms});
    Record r;
    r.value = "x";
    for (int i = 0; i < 10; ++i) (void)(*p)->Send("t", r);
    _exit(0);  // no Close: no clean-shutdown marker
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  std::vector<std::string> lines;
  LogOptions o;
  o.data_dir = dir_;
  o.info_log = [&](const std::string& line) { lines.push_back(line); };
  auto log = Log::Open(o);
  ASSERT_TRUE(log.ok());
  auto p = (*log)->GetPartition("t", PartitionId(0));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(10));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("recovered t-0 after an unclean shutdown"), std::string::npos)
      << lines[0];
  // A partition created now has nothing to recover and says nothing.
  ASSERT_TRUE((*log)->CreateTopic("fresh", {}).ok());
  ASSERT_TRUE((*log)->GetPartition("fresh", PartitionId(0)).ok());
  EXPECT_EQ(lines.size(), 1u);
}

// Unkeyed records stick to a partition per batch, and a batch the linger completes counts: a
// writer slower than the linger (each record its own batch here) still spreads over partitions.
// Before, only a full batch moved the sticky partition on, and such a writer filled one.
TEST_F(LogTest, UnkeyedRecordsMoveOnWhenTheLingerCompletesABatch) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("u", {.partitions = 3}).ok());
  auto producer = Producer::Create(log.get(), {.linger = 5ms});
  ASSERT_TRUE(producer.ok());
  std::mutex mu;
  std::set<int32_t> partitions;
  int delivered = 0;
  for (int i = 0; i < 6; ++i) {
    Record r;
    r.value = "v" + std::to_string(i);
    ASSERT_TRUE((*producer)
                    ->Send("u", r, std::nullopt,
                           [&](const Status& st, const TopicPartition& tp, Offset) {
                             EXPECT_TRUE(st.ok());
                             std::lock_guard lock(mu);
                             partitions.insert(tp.partition.value());
                             ++delivered;
                           })
                    .ok());
    // Wait (bounded) until the linger has appended this record alone, before the next one.
    for (int tries = 0; tries < 2000; ++tries) {
      {
        std::lock_guard lock(mu);
        if (delivered == i + 1) break;
      }
      std::this_thread::sleep_for(5ms);
    }
    std::lock_guard lock(mu);
    ASSERT_EQ(delivered, i + 1) << "the linger never appended record " << i;
  }
  EXPECT_EQ(partitions.size(), 3u)
      << "six linger-completed batches stayed on " << partitions.size() << " partition(s)";
}

TEST_F(LogTest, ProducedRecordsComeBackInOrderPerPartitionWithKeysOnMurmurPartitions) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {.partitions = 4}).ok());
  auto producer = Producer::Create(log.get(), {.linger = 0ms});
  ASSERT_TRUE(producer.ok());
  std::map<std::string, PartitionId> seen_partition;
  for (int i = 0; i < 200; ++i) {
    Record r;
    r.key = "key" + std::to_string(i % 10);
    r.value = "v" + std::to_string(i);
    r.timestamp = Timestamp(1000 + i);
    ASSERT_TRUE((*producer)
                    ->Send("t", r, std::nullopt,
                           [&, key = *r.key](const Status& st, const TopicPartition& tp, Offset) {
                             EXPECT_TRUE(st.ok());
                             seen_partition[key] = tp.partition;
                           })
                    .ok());
  }
  ASSERT_TRUE((*producer)->Flush().ok());
  for (const auto& [key, p] : seen_partition) EXPECT_EQ(p, PartitionForKey(key, 4)) << key;
  auto consumer = Consumer::Create(log.get(), {});
  for (int p = 0; p < 4; ++p) {
    ASSERT_TRUE((*consumer)->Assign({{"t", PartitionId(p)}}).ok());
    int last = -1;
    while (!(*consumer)->AtEnd()) {
      auto recs = (*consumer)->Poll(100ms);
      ASSERT_TRUE(recs.ok());
      for (const auto& r : *recs) {
        EXPECT_EQ(PartitionForKey(r.record.key, 4), PartitionId(p));
        int i = std::stoi(std::string(r.record.value.substr(1)));
        EXPECT_GT(i, last);
        last = i;
        EXPECT_EQ(r.record.timestamp, Timestamp(1000 + i));
      }
    }
  }
}

TEST_F(LogTest, UnkeyedRecordsSpreadOverAllPartitions) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {.partitions = 3}).ok());
  auto producer = Producer::Create(log.get(), {.batch_bytes = 1024, .linger = 0ms});
  std::set<int32_t> used;
  for (int i = 0; i < 300; ++i) {
    Record r;
    r.value = std::string(50, 'x');
    ASSERT_TRUE((*producer)
                    ->Send("t", r, std::nullopt,
                           [&](const Status&, const TopicPartition& tp, Offset) {
                             used.insert(tp.partition.value());
                           })
                    .ok());
  }
  ASSERT_TRUE((*producer)->Flush().ok());
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(LogTest, OversizedRecordIsRejectedAndNothingIsWritten) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {.partitions = 1, .max_message_bytes = 1000}).ok());
  auto producer = Producer::Create(log.get(), {});
  Record r;
  r.value = std::string(2000, 'x');
  Status st = (*producer)->Send("t", r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("max message size 1000"), std::string::npos) << st;
  ASSERT_TRUE((*producer)->Flush().ok());
  EXPECT_EQ((*log->GetPartition("t", PartitionId(0)))->high_watermark(), Offset(0));
  EXPECT_EQ((*producer)->Send("nope", r).code(), StatusCode::kNotFound);
  EXPECT_EQ((*producer)->Send("t", Record{}, PartitionId(1)).code(), StatusCode::kNotFound);
}

TEST_F(LogTest, ConsumerSeeksByOffsetTimeBeginningAndEnd) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {}).ok());
  auto producer = Producer::Create(log.get(), {.batch_bytes = 1024, .linger = 0ms});
  for (int i = 0; i < 100; ++i) {
    Record r;
    r.value = std::to_string(i);
    r.timestamp = Timestamp(10'000 + 10 * i);
    ASSERT_TRUE((*producer)->Send("t", r).ok());
  }
  ASSERT_TRUE((*producer)->Flush().ok());
  TopicPartition tp{"t", PartitionId(0)};
  auto c = Consumer::Create(log.get(), {.max_poll_records = 1});
  ASSERT_TRUE((*c)->Assign({tp}).ok());
  auto first = [&] {
    auto recs = (*c)->Poll(100ms);
    EXPECT_TRUE(recs.ok());
    EXPECT_EQ(recs->size(), 1u);
    return recs->empty() ? std::string() : std::string(recs->records()[0].record.value);
  };
  EXPECT_EQ(first(), "0");
  ASSERT_TRUE((*c)->Seek(tp, Offset(42)).ok());
  EXPECT_EQ(first(), "42");
  ASSERT_TRUE((*c)->SeekToTime({tp}, Timestamp(10'000 + 10 * 77)).ok());
  EXPECT_EQ(first(), "77");
  ASSERT_TRUE((*c)->SeekToTime({tp}, Timestamp(10'000 + 10 * 77 - 5)).ok());
  EXPECT_EQ(first(), "77");
  ASSERT_TRUE((*c)->SeekToBeginning({tp}).ok());
  EXPECT_EQ(first(), "0");
  ASSERT_TRUE((*c)->SeekToEnd({tp}).ok());
  EXPECT_EQ(*(*c)->Position(tp), Offset(100));
  EXPECT_TRUE((*c)->Poll(10ms)->empty());
  Status st = (*c)->Seek(tp, Offset(101));
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_NE(st.message().find("0 to 100"), std::string::npos) << st;
}

TEST_F(LogTest, SeekToTimeLandsOnTheFirstRecordAtOrAfterTheTimeInsideABatch) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {}).ok());
  // One batch of 50 records (long linger, flushed once), timestamps 100, 110, ..., 590.
  auto producer = Producer::Create(log.get(), {.linger = 10s});
  for (int i = 0; i < 50; ++i) {
    Record r;
    r.value = std::to_string(i);
    r.timestamp = Timestamp(100 + 10 * i);
    ASSERT_TRUE((*producer)->Send("t", r).ok());
  }
  ASSERT_TRUE((*producer)->Flush().ok());
  Partition* p = *log->GetPartition("t", PartitionId(0));
  EXPECT_EQ(*p->OffsetForTime(Timestamp(0)), Offset(0));
  EXPECT_EQ(*p->OffsetForTime(Timestamp(333)), Offset(24));  // 340 is the first >= 333
  EXPECT_EQ(*p->OffsetForTime(Timestamp(340)), Offset(24));
  EXPECT_EQ(*p->OffsetForTime(Timestamp(591)), Offset(50));  // none: the high watermark
}

TEST_F(LogTest, PollLongPollsUntilAnotherThreadProduces) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {}).ok());
  auto c = Consumer::Create(log.get(), {});
  ASSERT_TRUE((*c)->Assign({{"t", PartitionId(0)}}).ok());
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    auto p = Producer::Create(log.get(), {.linger = 0ms});
    Record r;
    r.value = "late";
    EXPECT_TRUE((*p)->Send("t", r).ok());
  });
  auto recs = (*c)->Poll(10s);
  writer.join();
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ(recs->records()[0].record.value, "late");
}

TEST_F(LogTest, CommittedOffsetsSurviveReopenAndResumeTheGroup) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->CreateTopic("t", {.partitions = 2}).ok());
    auto p = Producer::Create(log.get(), {.linger = 0ms});
    for (int i = 0; i < 10; ++i) {
      Record r;
      r.value = std::to_string(i);
      ASSERT_TRUE((*p)->Send("t", r, PartitionId(i % 2)).ok());
    }
    auto c = Consumer::Create(log.get(), {.group_id = "g", .max_poll_records = 3});
    ASSERT_TRUE((*c)->Assign({{"t", PartitionId(0)}, {"t", PartitionId(1)}}).ok());
    auto recs = (*c)->Poll(100ms);
    ASSERT_TRUE(recs.ok());
    ASSERT_EQ(recs->size(), 3u);
    ASSERT_TRUE((*c)->Commit().ok());
  }
  auto log = OpenLog();
  auto committed = log->offsets().Fetch("g");
  ASSERT_TRUE(committed.ok());
  int64_t total = 0;
  for (auto& [tp, co] : *committed) total += co.offset.value();
  EXPECT_EQ(total, 3);
  auto groups = log->offsets().ListGroups();
  EXPECT_EQ(*groups, std::vector<std::string>{"g"});
  auto c = Consumer::Create(log.get(), {.group_id = "g"});
  ASSERT_TRUE((*c)->Assign({{"t", PartitionId(0)}, {"t", PartitionId(1)}}).ok());
  size_t rest = 0;
  while (!(*c)->AtEnd()) rest += (*c)->Poll(100ms)->size();
  EXPECT_EQ(rest, 7u);
}

TEST_F(LogTest, GroupIdsWithAnyCharactersAreStoredSafely) {
  auto log = OpenLog();
  std::string weird = "../weird group/\xff";
  ASSERT_TRUE(
      log->offsets().Commit(weird, {{{"t", PartitionId(0)}, {Offset(5), "m\n\t", Now()}}}).ok());
  auto back = log->offsets().Fetch(weird, {"t", PartitionId(0)});
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->offset, Offset(5));
  EXPECT_EQ((*back)->metadata, "m\n\t");
  EXPECT_EQ(*log->offsets().ListGroups(), std::vector<std::string>{weird});
  EXPECT_FALSE(std::filesystem::exists(root_ + "/weird group"));
}

TEST_F(LogTest, ReadOnlyLogSeesAppendsOfTheWriter) {
  auto writer = OpenLog();
  ASSERT_TRUE(writer->CreateTopic("t", {}).ok());
  auto reader = OpenLog(/*read_only=*/true);
  EXPECT_EQ(reader->CreateTopic("u", {}).code(), StatusCode::kInvalidArgument);
  auto c = Consumer::Create(reader.get(), {});
  ASSERT_TRUE((*c)->Assign({{"t", PartitionId(0)}}).ok());
  EXPECT_TRUE((*c)->Poll(10ms)->empty());
  auto p = Producer::Create(writer.get(), {.linger = 0ms});
  Record r;
  r.value = "hello";
  ASSERT_TRUE((*p)->Send("t", r).ok());
  auto recs = (*c)->Poll(5s);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ(recs->records()[0].record.value, "hello");
}

TEST_F(LogTest, ManyProducerThreadsOnOnePartitionGetDenseUniqueOffsets) {
  auto log = OpenLog();
  ASSERT_TRUE(log->CreateTopic("t", {.partitions = 1, .segment_bytes = 64 << 10}).ok());
  auto producer = Producer::Create(log.get(), {.batch_bytes = 4096, .linger = 1ms});
  std::mutex mu;
  std::map<int64_t, std::string> by_offset;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        Record r;
        r.value = fmt::format("{}-{}", t, i);
        ASSERT_TRUE(
            (*producer)
                ->Send("t", r, std::nullopt,
                       [&, v = *r.value](const Status& st, const TopicPartition&, Offset o) {
                         ASSERT_TRUE(st.ok());
                         std::lock_guard lock(mu);
                         EXPECT_TRUE(by_offset.emplace(o.value(), v).second);
                       })
                .ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE((*producer)->Flush().ok());
  ASSERT_EQ(by_offset.size(), 8000u);
  EXPECT_EQ(by_offset.begin()->first, 0);
  EXPECT_EQ(by_offset.rbegin()->first, 7999);
  auto all = ReadAll(log.get(), "t", 1);
  ASSERT_EQ(all.size(), 8000u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], by_offset[i]);
}

TEST_F(LogTest, ProducerIdsAreUniqueAcrossReopens) {
  std::set<int64_t> ids;
  for (int round = 0; round < 3; ++round) {
    auto log = OpenLog();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(ids.insert(*log->AllocateProducerId()).second);
  }
}

}  // namespace
}  // namespace sluice
