// One conformance suite for both LogClient implementations: the embedded log, and the Kafka
// protocol through librdkafka against an in-process `sluice serve` (KafkaServer on an ephemeral
// loopback port over its own data directory). Every test runs for both and expects the same
// answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/log_client.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "server/kafka_server.h"

namespace sluice::client {
namespace {

using std::chrono::milliseconds;

std::string FreshDir() {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("sluice-client-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  return dir.string();
}

class LogClientTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
    LogOptions lo;
    lo.data_dir = dir_;
    lo.lock_holder_label = "client conformance test";
    auto log = Log::Open(lo);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(log).value();
    ClientOptions options;
    if (GetParam() == "embedded") {
      options.log = log_.get();  // the same Log the Kafka case serves, so tests can inspect it
    } else {
      kafka::ServerOptions so;
      so.listen_port = 0;
      so.log_line = [](std::string_view) {};
      auto server = kafka::KafkaServer::Start(log_.get(), so);
      ASSERT_TRUE(server.ok()) << server.status();
      server_ = std::move(server).value();
      options.bootstrap_servers = "127.0.0.1:" + std::to_string(server_->port());
      options.kafka_config = {{"log_level", "3"}};
    }
    auto client = OpenLogClient(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(client).value();
    ASSERT_EQ(client_->kind(), GetParam());
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop();
    if (log_) log_->Close().IgnoreError();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<LogProducer> NewProducer() {
    auto p = client_->NewProducer({.linger = milliseconds(1)});
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  std::unique_ptr<LogConsumer> NewConsumer(ConsumerConfig config = {}) {
    auto c = client_->NewConsumer(config);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  static std::vector<TopicPartition> Partitions(const std::string& topic, int n) {
    std::vector<TopicPartition> out;
    for (int i = 0; i < n; ++i) out.push_back({topic, PartitionId(i)});
    return out;
  }

  struct Read {
    TopicPartition tp;
    Offset offset;
    Timestamp timestamp;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<Header> headers;
  };
  // Polls until `n` records arrived (or a generous bound passed; the caller checks the count).
  static std::vector<Read> ReadN(LogConsumer& c, size_t n) {
    std::vector<Read> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto recs = c.Poll(milliseconds(200));
      EXPECT_TRUE(recs.ok()) << recs.status();
      if (!recs.ok()) break;
      for (const auto& r : *recs) {
        out.push_back({*r.tp, r.offset, r.timestamp,
                       r.key ? std::optional<std::string>(*r.key) : std::nullopt,
                       r.value ? std::optional<std::string>(*r.value) : std::nullopt, r.headers});
      }
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<kafka::KafkaServer> server_;
  std::unique_ptr<LogClient> client_;
};

TEST_P(LogClientTest, KeyedAndUnkeyedRecordsComeBackKeyedOnesInTheJavaClientsPartition) {
  ASSERT_TRUE(client_->CreateTopic("events", {.partitions = 4}).ok());
  auto producer = NewProducer();
  std::map<std::string, std::pair<TopicPartition, Offset>> acked;  // value -> where it went
  std::mutex mu;
  for (int i = 0; i < 40; ++i) {
    std::string v = "keyed-" + std::to_string(i);
    Record r{.key = "user-" + std::to_string(i % 13), .value = v};
    if (i == 0) r.headers = {{"trace", "abc"}, {"empty", std::nullopt}};
    ASSERT_TRUE(producer
                    ->Send("events", r, std::nullopt,
                           [&, v](const Status& s, const TopicPartition& tp, Offset o) {
                             EXPECT_TRUE(s.ok()) << s;
                             std::lock_guard<std::mutex> lock(mu);
                             acked[v] = {tp, o};
                           })
                    .ok());
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(producer->Send("events", {.value = "unkeyed-" + std::to_string(i)}).ok());
  }
  ASSERT_TRUE(producer->Send("events", {.key = "null-value"}).ok());
  ASSERT_TRUE(producer->Flush().ok());
  EXPECT_EQ(acked.size(), 40u);

  auto consumer = NewConsumer();
  ASSERT_TRUE(consumer->Assign(Partitions("events", 4)).ok());
  auto got = ReadN(*consumer, 61);
  ASSERT_EQ(got.size(), 61u);
  std::set<std::string> values;
  for (const auto& r : got) {
    if (r.key && *r.key == "null-value") {
      EXPECT_FALSE(r.value.has_value());
      EXPECT_EQ(r.tp.partition, PartitionForKey("null-value", 4));
      continue;
    }
    ASSERT_TRUE(r.value.has_value());
    values.insert(*r.value);
    if (r.value->starts_with("keyed-")) {
      ASSERT_TRUE(r.key.has_value());
      // Same function as Kafka's Java client, whichever implementation wrote it.
      EXPECT_EQ(r.tp.partition, PartitionForKey(*r.key, 4)) << *r.key;
      EXPECT_EQ(acked[*r.value].first, r.tp);
      EXPECT_EQ(acked[*r.value].second, r.offset);
      if (*r.value == "keyed-0") {
        EXPECT_EQ(r.headers, (std::vector<Header>{{"trace", "abc"}, {"empty", std::nullopt}}));
      }
    } else {
      EXPECT_FALSE(r.key.has_value());
    }
  }
  EXPECT_EQ(values.size(), 60u);
}

TEST_P(LogClientTest, ConsumesFromTheBeginningAnOffsetAndATime) {
  ASSERT_TRUE(client_->CreateTopic("times", {.partitions = 1}).ok());
  auto producer = NewProducer();
  const int64_t t0 = 1700000000000;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(producer
                    ->Send("times", {.value = "v" + std::to_string(i),
                                     .timestamp = Timestamp(t0 + i * 1000)})
                    .ok());
  }
  ASSERT_TRUE(producer->Flush().ok());
  TopicPartition tp{"times", PartitionId(0)};

  auto consumer = NewConsumer({.auto_offset_reset = AutoOffsetReset::kLatest});
  ASSERT_TRUE(consumer->Assign({tp}).ok());
  Status seek = consumer->SeekToBeginning({tp});
  ASSERT_TRUE(seek.ok()) << seek;
  auto all = ReadN(*consumer, 10);
  ASSERT_EQ(all.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(all[i].offset, Offset(i));
    EXPECT_EQ(all[i].value, "v" + std::to_string(i));
    EXPECT_EQ(all[i].timestamp, Timestamp(t0 + i * 1000));
  }
  auto pos = consumer->Position(tp);
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(*pos, Offset(10));

  ASSERT_TRUE(consumer->Seek(tp, Offset(4)).ok());
  auto from4 = ReadN(*consumer, 6);
  ASSERT_EQ(from4.size(), 6u);
  EXPECT_EQ(from4.front().offset, Offset(4));
  EXPECT_EQ(from4.back().offset, Offset(9));

  ASSERT_TRUE(consumer->SeekToTime({tp}, Timestamp(t0 + 2500)).ok());
  auto from_time = ReadN(*consumer, 7);
  ASSERT_EQ(from_time.size(), 7u);
  EXPECT_EQ(from_time.front().offset, Offset(3));

  auto at = client_->ListOffsets({tp}, OffsetSpec::ForTime(Timestamp(t0 + 2500)));
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->at(tp), Offset(3));
  auto after_all = client_->ListOffsets({tp}, OffsetSpec::ForTime(Timestamp(t0 + 99999)));
  ASSERT_TRUE(after_all.ok()) << after_all.status();
  EXPECT_EQ(after_all->at(tp), Offset(10));
  auto earliest = client_->ListOffsets({tp}, OffsetSpec::Earliest());
  auto latest = client_->ListOffsets({tp}, OffsetSpec::Latest());
  ASSERT_TRUE(earliest.ok() && latest.ok());
  EXPECT_EQ(earliest->at(tp), Offset(0));
  EXPECT_EQ(latest->at(tp), Offset(10));
}

TEST_P(LogClientTest, CommitsAndFetchesCommittedOffsetsAndANewMemberResumesThere) {
  ASSERT_TRUE(client_->CreateTopic("orders", {.partitions = 2}).ok());
  auto producer = NewProducer();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(producer->Send("orders", {.value = std::to_string(i)}, PartitionId(0)).ok());
  }
  ASSERT_TRUE(producer->Flush().ok());
  TopicPartition p0{"orders", PartitionId(0)}, p1{"orders", PartitionId(1)};
  {
    auto consumer = NewConsumer({.group_id = "billing"});
    ASSERT_TRUE(consumer->Assign({p0, p1}).ok());
    ASSERT_EQ(ReadN(*consumer, 10).size(), 10u);
    ASSERT_TRUE(consumer->Commit().ok());
    auto committed = consumer->Committed({p0, p1});
    ASSERT_TRUE(committed.ok()) << committed.status();
    EXPECT_EQ(committed->at(p0), Offset(10));
    EXPECT_EQ(committed->at(p1), Offset(0));  // its position: nothing read there yet
    ASSERT_TRUE(consumer->Commit({{p0, Offset(4)}}).ok());
    committed = consumer->Committed({p0});
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->at(p0), Offset(4));
    consumer->Close();
  }
  auto resumed = NewConsumer({.group_id = "billing"});
  ASSERT_TRUE(resumed->Assign({p0}).ok());
  auto rest = ReadN(*resumed, 6);
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest.front().offset, Offset(4));
  resumed->Close();

  auto groups = client_->ListGroups();
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_NE(std::find(groups->begin(), groups->end(), "billing"), groups->end());
  auto d = client_->DescribeGroup("billing");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->state, "Empty");
  EXPECT_EQ(d->committed.at(p0), Offset(4));

  // Reset of an idle group.
  ASSERT_TRUE(client_->ResetGroupOffsets("billing", {{p0, Offset(1)}}).ok());
  d = client_->DescribeGroup("billing");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->committed.at(p0), Offset(1));
  EXPECT_EQ(client_->DescribeGroup("never-seen").status().code(), StatusCode::kNotFound);
}

// The metadata string of an offset commit (Kafka's OffsetAndMetadata) is stored with the offset
// and read back by the consumer, by DescribeGroup and after a reset that sets one; the log's
// offset store holds it (what the runtime reads at a job's start, runtime/job_reset.h).
TEST_P(LogClientTest, CommitsCarryMetadataThatCommittedAndDescribeGroupReturn) {
  ASSERT_TRUE(client_->CreateTopic("marks", {.partitions = 2}).ok());
  TopicPartition p0{"marks", PartitionId(0)}, p1{"marks", PartitionId(1)};
  {
    auto consumer = NewConsumer({.group_id = "tagged"});
    ASSERT_TRUE(consumer->Assign({p0, p1}).ok());
    ASSERT_TRUE(consumer
                    ->CommitWithMetadata({{p0, {Offset(0), "sluice-reset from=1700000000000"}},
                                          {p1, {Offset(0), ""}}})
                    .ok());
    auto committed = consumer->CommittedWithMetadata({p0, p1});
    ASSERT_TRUE(committed.ok()) << committed.status();
    EXPECT_EQ(committed->at(p0), (OffsetAndMetadata{Offset(0), "sluice-reset from=1700000000000"}));
    EXPECT_EQ(committed->at(p1), (OffsetAndMetadata{Offset(0), ""}));
    // A commit without metadata replaces the string.
    ASSERT_TRUE(consumer->Commit({{p0, Offset(0)}}).ok());
    committed = consumer->CommittedWithMetadata({p0});
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->at(p0).metadata, "");
    consumer->Close();
  }
  auto stored = log_->offsets().Fetch("tagged", p0);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->metadata, "");

  ASSERT_TRUE(
      client_->ResetGroupOffsets("tagged", {{p0, Offset(0)}, {p1, Offset(0)}}, "sluice-reset")
          .ok());
  auto d = client_->DescribeGroup("tagged");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->metadata,
            (std::map<TopicPartition, std::string>{{p0, "sluice-reset"}, {p1, "sluice-reset"}}));
  stored = log_->offsets().Fetch("tagged", p1);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->metadata, "sluice-reset");
  // A reset without metadata clears it.
  ASSERT_TRUE(client_->ResetGroupOffsets("tagged", {{p0, Offset(0)}}).ok());
  d = client_->DescribeGroup("tagged");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->metadata.contains(p0));
  EXPECT_TRUE(d->metadata.contains(p1));
}

TEST_P(LogClientTest, AdminCreatesListsDescribesAndDeletesTopics) {
  ASSERT_TRUE(client_->CreateTopic("audit", {.partitions = 3, .retention_ms = 60000}).ok());
  EXPECT_EQ(client_->CreateTopic("audit", {.partitions = 3}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(client_->CreateTopic("bad/name", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->CreateTopic("zero", {.partitions = 0}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(client_->CreateTopic("other", {}).ok());

  auto topics = client_->ListTopics();
  ASSERT_TRUE(topics.ok()) << topics.status();
  EXPECT_EQ(*topics, (std::vector<std::string>{"audit", "other"}));

  auto producer = NewProducer();
  ASSERT_TRUE(producer->Send("audit", {.value = "x"}, PartitionId(2)).ok());
  ASSERT_TRUE(producer->Flush().ok());
  auto d = client_->DescribeTopic("audit");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->partitions.size(), 3u);
  EXPECT_EQ(d->partitions[2].end_offset, Offset(1));
  EXPECT_EQ(d->partitions[0].end_offset, Offset(0));
  EXPECT_EQ(d->partitions[0].start_offset, Offset(0));
  if (GetParam() == "embedded") {
    EXPECT_TRUE(d->configs_known);
  }
  if (d->configs_known) {
    EXPECT_EQ(d->configs.at("retention.ms"), "60000");
  }
  auto count = client_->PartitionCount("audit");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);

  ASSERT_TRUE(client_->DeleteTopic("audit").ok());
  topics = client_->ListTopics();
  ASSERT_TRUE(topics.ok());
  EXPECT_EQ(*topics, (std::vector<std::string>{"other"}));
  EXPECT_EQ(client_->DeleteTopic("audit").code(), StatusCode::kNotFound);
  EXPECT_EQ(client_->DescribeTopic("audit").status().code(), StatusCode::kNotFound);
}

TEST_P(LogClientTest, TwoGroupMembersSplitAFourPartitionTopicAndResetWaitsForThem) {
  ASSERT_TRUE(client_->CreateTopic("clicks", {.partitions = 4}).ok());
  std::vector<TopicPartition> assigned_a, assigned_b;
  auto a = NewConsumer({.group_id = "split",
                        .session_timeout = milliseconds(6000),
                        .on_assigned = [&](const std::vector<TopicPartition>& tps) {
                          assigned_a.insert(assigned_a.end(), tps.begin(), tps.end());
                        }});
  auto b = NewConsumer({.group_id = "split",
                        .session_timeout = milliseconds(6000),
                        .on_assigned = [&](const std::vector<TopicPartition>& tps) {
                          assigned_b.insert(assigned_b.end(), tps.begin(), tps.end());
                        }});
  ASSERT_TRUE(a->Subscribe({"clicks"}).ok());
  ASSERT_TRUE(b->Subscribe({"clicks"}).ok());
  // Both poll until the group has settled on two partitions each.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !(a->assignment().size() == 2 && b->assignment().size() == 2)) {
    ASSERT_TRUE(a->Poll(milliseconds(50)).ok());
    ASSERT_TRUE(b->Poll(milliseconds(50)).ok());
  }
  auto owned_a = a->assignment(), owned_b = b->assignment();
  ASSERT_EQ(owned_a.size(), 2u);
  ASSERT_EQ(owned_b.size(), 2u);
  std::set<TopicPartition> all(owned_a.begin(), owned_a.end());
  all.insert(owned_b.begin(), owned_b.end());
  EXPECT_EQ(all.size(), 4u);
  // The callbacks reported what each member was given (at least its current partitions).
  for (const auto& tp : owned_a)
    EXPECT_NE(std::find(assigned_a.begin(), assigned_a.end(), tp), assigned_a.end());
  for (const auto& tp : owned_b)
    EXPECT_NE(std::find(assigned_b.begin(), assigned_b.end(), tp), assigned_b.end());

  auto desc = client_->DescribeGroup("split");
  ASSERT_TRUE(desc.ok()) << desc.status();
  EXPECT_EQ(desc->members.size(), 2u);
  // Reset is refused while members are active, as Kafka's tool refuses it.
  Status reset = client_->ResetGroupOffsets("split", {{{"clicks", PartitionId(0)}, Offset(0)}});
  EXPECT_EQ(reset.code(), StatusCode::kUnavailable) << reset;
  EXPECT_NE(reset.message().find("active member"), std::string::npos) << reset;

  auto producer = NewProducer();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        producer->Send("clicks", {.key = "k" + std::to_string(i), .value = std::to_string(i)})
            .ok());
  }
  ASSERT_TRUE(producer->Flush().ok());
  std::map<std::string, int> seen;  // value -> times read
  size_t from_a = 0, from_b = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (from_a + from_b < 100 && std::chrono::steady_clock::now() < deadline) {
    for (auto* c : {a.get(), b.get()}) {
      auto recs = c->Poll(milliseconds(50));
      ASSERT_TRUE(recs.ok()) << recs.status();
      const auto& owned = c == a.get() ? owned_a : owned_b;
      for (const auto& r : *recs) {
        EXPECT_NE(std::find(owned.begin(), owned.end(), *r.tp), owned.end());
        ++seen[std::string(*r.value)];
        (c == a.get() ? from_a : from_b)++;
      }
    }
  }
  EXPECT_EQ(seen.size(), 100u);
  for (const auto& [v, n] : seen) EXPECT_EQ(n, 1) << v;
  EXPECT_GT(from_a, 0u);
  EXPECT_GT(from_b, 0u);
  ASSERT_TRUE(a->Commit().ok());
  ASSERT_TRUE(b->Commit().ok());
  a->Close();
  b->Close();
  ASSERT_TRUE(client_->ResetGroupOffsets("split", {{{"clicks", PartitionId(0)}, Offset(0)}}).ok());
}

TEST_P(LogClientTest, WhenAMemberLeavesTheOtherTakesOverItsPartitions) {
  ASSERT_TRUE(client_->CreateTopic("views", {.partitions = 4}).ok());
  std::vector<TopicPartition> revoked_a, revoked_b;
  auto a = NewConsumer({.group_id = "handover",
                        .session_timeout = milliseconds(6000),
                        .on_revoked = [&](const std::vector<TopicPartition>& tps) {
                          revoked_a.insert(revoked_a.end(), tps.begin(), tps.end());
                        }});
  auto b = NewConsumer({.group_id = "handover",
                        .session_timeout = milliseconds(6000),
                        .on_revoked = [&](const std::vector<TopicPartition>& tps) {
                          revoked_b.insert(revoked_b.end(), tps.begin(), tps.end());
                        }});
  ASSERT_TRUE(a->Subscribe({"views"}).ok());
  ASSERT_TRUE(b->Subscribe({"views"}).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !(a->assignment().size() == 2 && b->assignment().size() == 2)) {
    ASSERT_TRUE(a->Poll(milliseconds(50)).ok());
    ASSERT_TRUE(b->Poll(milliseconds(50)).ok());
  }
  auto owned_b = b->assignment();
  ASSERT_EQ(owned_b.size(), 2u);
  // Leaving reports the partitions given up, as Kafka's consumer does on close.
  b->Close();
  for (const auto& tp : owned_b) {
    EXPECT_NE(std::find(revoked_b.begin(), revoked_b.end(), tp), revoked_b.end());
  }
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && a->assignment().size() != 4) {
    ASSERT_TRUE(a->Poll(milliseconds(50)).ok());
  }
  ASSERT_EQ(a->assignment().size(), 4u);
  auto producer = NewProducer();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(
        producer->Send("views", {.key = "k" + std::to_string(i), .value = std::to_string(i)}).ok());
  }
  ASSERT_TRUE(producer->Flush().ok());
  auto got = ReadN(*a, 40);
  EXPECT_EQ(got.size(), 40u);
  std::set<PartitionId> partitions;
  for (const auto& r : got) partitions.insert(r.tp.partition);
  EXPECT_GT(partitions.size(), 1u);  // it reads what b owned too
}

TEST_P(LogClientTest, IdempotentProducersStampBatchesAndOthersDoNot) {
  ASSERT_TRUE(client_->CreateTopic("idem", {.partitions = 1}).ok());
  ASSERT_TRUE(client_->CreateTopic("plain", {.partitions = 1}).ok());
  for (const auto& [topic, idempotent] : {std::pair{"idem", true}, std::pair{"plain", false}}) {
    auto p = client_->NewProducer({.acks = Acks::kAll, .idempotent = idempotent});
    ASSERT_TRUE(p.ok()) << p.status();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*p)->Send(topic, {.value = "v"}).ok());
    ASSERT_TRUE((*p)->Flush().ok());
  }
  for (const auto& [topic, idempotent] : {std::pair{"idem", true}, std::pair{"plain", false}}) {
    auto part = log_->GetPartition(topic, PartitionId(0));
    ASSERT_TRUE(part.ok());
    auto read = (*part)->Read(Offset(0), 1 << 20);
    ASSERT_TRUE(read.ok());
    std::string_view data = read->data;
    ASSERT_GT(BatchSizeAt(data), 0);
    auto batch = RecordBatchView::Parse(data.substr(0, BatchSizeAt(data)));
    ASSERT_TRUE(batch.ok());
    if (idempotent) {
      EXPECT_GE(batch->producer_id(), 0) << topic;
      EXPECT_EQ(batch->base_sequence(), 0) << topic;
      EXPECT_EQ((*part)->LastSequence(batch->producer_id()), 4) << topic;
    } else {
      EXPECT_EQ(batch->producer_id(), -1) << topic;
    }
  }
}

TEST_P(LogClientTest, AMissingTopicOrPartitionIsNotFoundNamingIt) {
  ASSERT_TRUE(client_->CreateTopic("present", {.partitions = 2}).ok());
  auto producer = NewProducer();
  Status s = producer->Send("absent", {.value = "x"});
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("'absent'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("create"), std::string::npos) << s;
  s = producer->Send("present", {.value = "x"}, PartitionId(7));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("2 partitions"), std::string::npos) << s;
  ASSERT_TRUE(producer->Flush().ok());

  auto consumer = NewConsumer({.group_id = "g"});
  EXPECT_EQ(consumer->Assign({{"absent", PartitionId(0)}}).code(), StatusCode::kNotFound);
  EXPECT_EQ(consumer->Subscribe({"absent"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(client_->DescribeTopic("absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client_->PartitionCount("absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      client_->ListOffsets({{"absent", PartitionId(0)}}, OffsetSpec::Latest()).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(
      client_->ListOffsets({{"present", PartitionId(5)}}, OffsetSpec::Latest()).status().code(),
      StatusCode::kNotFound);
  // Nothing was created by asking.
  auto topics = client_->ListTopics();
  ASSERT_TRUE(topics.ok());
  EXPECT_EQ(*topics, (std::vector<std::string>{"present"}));
}

// The build compiles this file twice: CLIENT_TEST_KIND "embedded" (label unit) and "kafka" (label
// integration: it starts a server).
INSTANTIATE_TEST_SUITE_P(Conformance, LogClientTest, ::testing::Values(CLIENT_TEST_KIND),
                         [](const auto& info) { return info.param; });

// Tests that start no server: built into the embedded binary only.
#if defined(CLIENT_TEST_EMBEDDED_ONLY)
TEST(OpenLogClientTest, AnUnreachableBrokerIsUnavailableNamingTheAddress) {
  ClientOptions options{.bootstrap_servers = "127.0.0.1:1",
                        .request_timeout = milliseconds(1500),
                        .kafka_config = {{"log_level", "0"}}};
  auto c = OpenLogClient(options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable) << c.status();
  EXPECT_NE(c.status().message().find("127.0.0.1:1"), std::string::npos) << c.status();
}

TEST(OpenLogClientTest, ADataDirectoryIsOpenedAsTheWriterAndASecondWriterIsToldWhoHoldsIt) {
  std::string dir = FreshDir();
  auto first = OpenLogClient({.data_dir = dir, .client_id = "first writer"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->CreateTopic("t", {}).ok());
  auto second = OpenLogClient({.data_dir = dir});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("first writer"), std::string::npos) << second.status();
  first->reset();
  auto again = OpenLogClient({.data_dir = dir});
  ASSERT_TRUE(again.ok()) << again.status();
  auto topics = (*again)->ListTopics();
  ASSERT_TRUE(topics.ok());
  EXPECT_EQ(*topics, std::vector<std::string>{"t"});
  again->reset();
  std::filesystem::remove_all(dir);
}

TEST(OpenLogClientTest, AReadOnlyClientReadsBesideTheWriterAndRefusesWrites) {
  std::string dir = FreshDir();
  auto writer = OpenLogClient({.data_dir = dir});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->CreateTopic("t", {.partitions = 2}).ok());
  auto reader = OpenLogClient({.data_dir = dir, .read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto before = (*reader)->ListOffsets({{"t", PartitionId(1)}}, OffsetSpec::Latest());
  ASSERT_TRUE(before.ok()) << before.status();  // opens the reader's view of the partition
  EXPECT_EQ(before->at({"t", PartitionId(1)}), Offset(0));
  {
    auto producer = (*writer)->NewProducer({});
    ASSERT_TRUE(producer.ok());
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE((*producer)->Send("t", {.value = std::to_string(i)}, PartitionId(1)).ok());
    }
    ASSERT_TRUE((*producer)->Flush().ok());
  }
  // The reader's offsets and descriptions follow the writer's appends.
  auto latest = (*reader)->ListOffsets({{"t", PartitionId(1)}}, OffsetSpec::Latest());
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->at({"t", PartitionId(1)}), Offset(10));
  auto described = (*reader)->DescribeTopic("t");
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->partitions[1].end_offset, Offset(10));
  auto consumer = (*reader)->NewConsumer({});
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->Assign({{"t", PartitionId(1)}}).ok());
  size_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (got < 10 && std::chrono::steady_clock::now() < deadline) {
    auto recs = (*consumer)->Poll(milliseconds(100));
    ASSERT_TRUE(recs.ok()) << recs.status();
    got += recs->size();
  }
  EXPECT_EQ(got, 10u);
  EXPECT_EQ((*reader)->CreateTopic("u", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE((*reader)->NewProducer({}).ok());
  consumer->reset();
  reader->reset();
  writer->reset();
  std::filesystem::remove_all(dir);
}

TEST(OpenLogClientTest, ExactlyOneKindOfLogMustBeGiven) {
  EXPECT_EQ(OpenLogClient({}).status().code(), StatusCode::kInvalidArgument);
  auto both = OpenLogClient({.data_dir = FreshDir(), .bootstrap_servers = "127.0.0.1:9092"});
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
}
#endif

}  // namespace
}  // namespace sluice::client
