// Transactional producers through LogClient against an in-process `sluice serve` (KafkaServer on
// an ephemeral loopback port): committed transactions are visible to read_committed consumers
// with their offsets committed to the group, aborted ones are not, and a second producer with the
// same transactional id fences the first (a zombie) so that nothing of the zombie's open
// transaction is ever visible. The embedded client refuses a transactional id.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/log_client.h"
#include "server/kafka_server.h"

namespace sluice::client {
namespace {

using std::chrono::milliseconds;

class TransactionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        (std::filesystem::temp_directory_path() / ("sluice-txn-test-" + std::to_string(::getpid())))
            .string();
    std::filesystem::remove_all(dir_);
    LogOptions lo;
    lo.data_dir = dir_;
    auto log = Log::Open(lo);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(log).value();
    kafka::ServerOptions so;
    so.listen_port = 0;
    so.log_line = [](std::string_view) {};
    auto server = kafka::KafkaServer::Start(log_.get(), so);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    ClientOptions options;
    options.bootstrap_servers = "127.0.0.1:" + std::to_string(server_->port());
    options.kafka_config = {{"log_level", "3"}};
    auto client = OpenLogClient(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(client).value();
    options.kafka_config["isolation.level"] = "read_committed";
    auto committed = OpenLogClient(options);
    ASSERT_TRUE(committed.ok()) << committed.status();
    committed_reader_ = std::move(committed).value();
    ASSERT_TRUE(client_->CreateTopic("out", {.partitions = 2}).ok());
    ASSERT_TRUE(client_->CreateTopic("in", {.partitions = 1}).ok());
  }
  void TearDown() override {
    committed_reader_.reset();
    client_.reset();
    if (server_) server_->Stop();
    if (log_) log_->Close().IgnoreError();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<LogProducer> Transactional(const std::string& id) {
    auto p = client_->NewProducer({.linger = milliseconds(1), .transactional_id = id});
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // Values of "out" read with read_committed, up to and including the record "end" (produced
  // last, outside any transaction, to partition 0), from both partitions.
  std::vector<std::string> ReadCommittedUntilEnd() {
    auto plain = client_->NewProducer({.linger = milliseconds(1)});
    EXPECT_TRUE(plain.ok());
    for (int p = 0; p < 2; ++p) {
      EXPECT_TRUE((*plain)->Send("out", Record{.value = std::string("end")}, PartitionId(p)).ok());
    }
    EXPECT_TRUE((*plain)->Flush().ok());
    auto c = committed_reader_->NewConsumer({});
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE((*c)->Assign({{"out", PartitionId(0)}, {"out", PartitionId(1)}}).ok());
    EXPECT_TRUE((*c)->SeekToBeginning({{"out", PartitionId(0)}, {"out", PartitionId(1)}}).ok());
    std::vector<std::string> out;
    int ends = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ends < 2 && std::chrono::steady_clock::now() < deadline) {
      auto recs = (*c)->Poll(milliseconds(200));
      EXPECT_TRUE(recs.ok()) << recs.status();
      if (!recs.ok()) break;
      for (const auto& r : *recs) {
        std::string v(r.value.value_or(""));
        if (v == "end") {
          ++ends;
        } else {
          out.push_back(v);
        }
      }
    }
    EXPECT_EQ(ends, 2) << "the trailing records never arrived";
    std::sort(out.begin(), out.end());
    return out;
  }

  std::map<TopicPartition, Offset> GroupOffsets(const std::string& group) {
    auto d = client_->DescribeGroup(group);
    if (!d.ok()) return {};
    return d->committed;
  }

  std::string dir_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<kafka::KafkaServer> server_;
  std::unique_ptr<LogClient> client_;
  std::unique_ptr<LogClient> committed_reader_;
};

TEST_F(TransactionsTest, CommittedRecordsAndOffsetsBecomeVisibleTogether) {
  auto p = Transactional("app-0");
  ASSERT_TRUE(p->InitTransactions().ok());
  ASSERT_TRUE(p->BeginTransaction().ok());
  ASSERT_TRUE(p->Send("out", Record{.key = std::string("k"), .value = std::string("a")}).ok());
  ASSERT_TRUE(p->Send("out", Record{.value = std::string("b")}, PartitionId(1)).ok());
  ASSERT_TRUE(p->SendOffsetsToTransaction({{{"in", PartitionId(0)}, Offset(7)}}, "app").ok());
  Status s = p->CommitTransaction();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadCommittedUntilEnd(), (std::vector<std::string>{"a", "b"}));
  auto offsets = GroupOffsets("app");
  const TopicPartition in{"in", PartitionId(0)};
  ASSERT_TRUE(offsets.contains(in));
  EXPECT_EQ(offsets[in], Offset(7));
}

TEST_F(TransactionsTest, AbortedRecordsAndOffsetsNeverBecomeVisible) {
  auto p = Transactional("app-0");
  ASSERT_TRUE(p->InitTransactions().ok());
  ASSERT_TRUE(p->BeginTransaction().ok());
  ASSERT_TRUE(p->Send("out", Record{.value = std::string("aborted")}, PartitionId(0)).ok());
  ASSERT_TRUE(p->SendOffsetsToTransaction({{{"in", PartitionId(0)}, Offset(3)}}, "app").ok());
  ASSERT_TRUE(p->Flush().ok());
  ASSERT_TRUE(p->AbortTransaction().ok());
  ASSERT_TRUE(p->BeginTransaction().ok());
  ASSERT_TRUE(p->Send("out", Record{.value = std::string("kept")}, PartitionId(0)).ok());
  ASSERT_TRUE(p->CommitTransaction().ok());
  EXPECT_EQ(ReadCommittedUntilEnd(), (std::vector<std::string>{"kept"}));
  EXPECT_FALSE(GroupOffsets("app").contains(TopicPartition{"in", PartitionId(0)}));
}

TEST_F(TransactionsTest, ANewProducerFencesTheZombieAndAbortsItsOpenTransaction) {
  auto zombie = Transactional("app-0");
  ASSERT_TRUE(zombie->InitTransactions().ok());
  ASSERT_TRUE(zombie->BeginTransaction().ok());
  ASSERT_TRUE(zombie->Send("out", Record{.value = std::string("zombie")}, PartitionId(0)).ok());
  ASSERT_TRUE(zombie->SendOffsetsToTransaction({{{"in", PartitionId(0)}, Offset(5)}}, "app").ok());
  ASSERT_TRUE(zombie->Flush().ok());  // the zombie's record is in the log, uncommitted

  auto successor = Transactional("app-0");
  Status init = successor->InitTransactions();  // fences the zombie, aborts its transaction
  ASSERT_TRUE(init.ok()) << init;
  ASSERT_TRUE(successor->BeginTransaction().ok());
  ASSERT_TRUE(
      successor->Send("out", Record{.value = std::string("successor")}, PartitionId(1)).ok());
  ASSERT_TRUE(
      successor->SendOffsetsToTransaction({{{"in", PartitionId(0)}, Offset(9)}}, "app").ok());
  ASSERT_TRUE(successor->CommitTransaction().ok());

  Status late = zombie->CommitTransaction();
  EXPECT_EQ(late.code(), StatusCode::kAborted) << late;
  EXPECT_NE(late.message().find("another instance with transactional id 'app-0'"),
            std::string::npos)
      << late;
  EXPECT_EQ(ReadCommittedUntilEnd(), (std::vector<std::string>{"successor"}));
  const TopicPartition in{"in", PartitionId(0)};
  EXPECT_EQ(GroupOffsets("app")[in], Offset(9));
}

TEST_F(TransactionsTest, AProducerWithoutATransactionalIdRefusesTransactions) {
  auto p = client_->NewProducer({});
  ASSERT_TRUE(p.ok());
  Status s = (*p)->BeginTransaction();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("transactional_id"), std::string::npos) << s;
}

TEST(EmbeddedTransactionsTest, TheEmbeddedLogRefusesATransactionalIdAndSaysWhy) {
  auto dir = (std::filesystem::temp_directory_path() /
              ("sluice-txn-embedded-" + std::to_string(::getpid())))
                 .string();
  std::filesystem::remove_all(dir);
  auto client = OpenLogClient({.data_dir = dir});
  ASSERT_TRUE(client.ok()) << client.status();
  auto p = (*client)->NewProducer({.transactional_id = "app-0"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("transactions need a broker"), std::string::npos)
      << p.status();
  auto plain = (*client)->NewProducer({});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->BeginTransaction().code(), StatusCode::kInvalidArgument);
  client->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::client
