// librdkafka (linked into C++) against an in-process server: idempotent producer,
// offsets for times, and a subscribed consumer whose commits land in the core OffsetStore.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/record_batch.h"
#include "tests/server/kafka_test_client.h"

namespace sluice::kafka::testing {
namespace {

rd_kafka_t* NewClient(rd_kafka_type_t type, uint16_t port,
                      std::vector<std::pair<std::string, std::string>> kv) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  kv.emplace_back("bootstrap.servers", "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : kv) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)), RD_KAFKA_CONF_OK)
        << k << ": " << err;
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

void Produce(rd_kafka_t* rk, const std::string& topic, const std::string& value,
             int64_t timestamp = 0) {
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_END);
  ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
}

int g_delivery_errors = 0;
void CountErrors(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) ++g_delivery_errors;
}

// Values stored in partition 0 of `topic`, in offset order.
std::vector<std::string> StoredValues(Log& log, const std::string& topic) {
  std::vector<std::string> out;
  auto p = log.GetPartition(topic, PartitionId(0));
  if (!p.ok()) return out;
  auto read = (*p)->Read(Offset(0), 64 << 20);
  if (!read.ok()) return out;
  std::string_view data = read->data;
  while (!data.empty()) {
    int64_t size = BatchSizeAt(data);
    auto view = RecordBatchView::Parse(data.substr(0, size));
    EXPECT_TRUE(view.ok());
    EXPECT_TRUE(view->ForEachRecord([&](const RecordView& r) { out.emplace_back(r.value); }).ok());
    data.remove_prefix(size);
  }
  return out;
}

TEST(LibrdkafkaTest, IdempotentProducerStoresEveryRecordOnceInOrder) {
  ServerFixture f;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_dr_msg_cb(conf, CountErrors);
  char err[512];
  std::string bootstrap = "127.0.0.1:" + std::to_string(f.port());
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
  rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  ASSERT_NE(rk, nullptr) << err;
  g_delivery_errors = 0;
  std::vector<std::string> sent;
  for (int i = 0; i < 2000; ++i) {
    sent.push_back("rec-" + std::to_string(i));
    Produce(rk, "idem", sent.back());
    if (i % 100 == 0) rd_kafka_poll(rk, 0);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(g_delivery_errors, 0);
  rd_kafka_destroy(rk);
  EXPECT_EQ(StoredValues(f.log(), "idem"), sent);
  // The batches carried a producer id and sequences, which the log tracked.
  auto p = f.log().GetPartition("idem", PartitionId(0));
  ASSERT_TRUE(p.ok());
  auto read = (*p)->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok());
  std::string_view data = read->data;
  auto first = RecordBatchView::Parse(data.substr(0, BatchSizeAt(data)));
  ASSERT_TRUE(first.ok());
  EXPECT_GE(first->producer_id(), 0);
  EXPECT_EQ(first->base_sequence(), 0);
  EXPECT_EQ((*p)->LastSequence(first->producer_id()), 1999);
}

TEST(LibrdkafkaTest, OffsetsForTimesFindsTheFirstRecordAtOrAfterATime) {
  ServerFixture f;
  rd_kafka_t* prod = NewClient(RD_KAFKA_PRODUCER, f.port(), {{"linger.ms", "0"}});
  const int64_t t0 = 1700000000000;
  for (int i = 0; i < 4; ++i) {
    Produce(prod, "times", "v" + std::to_string(i), t0 + i * 1000);
    ASSERT_EQ(rd_kafka_flush(prod, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_destroy(prod);
  rd_kafka_t* cons = NewClient(RD_KAFKA_CONSUMER, f.port(), {{"group.id", "times-g"}});
  struct Case {
    int64_t ts;
    int64_t offset;
  } cases[] = {{t0 - 5, 0}, {t0 + 1500, 2}, {t0 + 3000, 3}, {t0 + 99999, -1}};
  for (const auto& c : cases) {
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, "times", 0)->offset = c.ts;
    ASSERT_EQ(rd_kafka_offsets_for_times(cons, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(parts->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(parts->elems[0].offset, c.offset) << "time " << c.ts;
    rd_kafka_topic_partition_list_destroy(parts);
  }
  rd_kafka_destroy(cons);
}

TEST(LibrdkafkaTest, SubscribedConsumerReadsAllAndCommitsToTheOffsetStore) {
  ServerFixture f;
  rd_kafka_t* prod = NewClient(RD_KAFKA_PRODUCER, f.port(), {});
  for (int i = 0; i < 50; ++i) Produce(prod, "sub", "m" + std::to_string(i));
  ASSERT_EQ(rd_kafka_flush(prod, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(prod);

  rd_kafka_t* cons = NewClient(
      RD_KAFKA_CONSUMER, f.port(),
      {{"group.id", "subg"}, {"auto.offset.reset", "earliest"}, {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(cons);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "sub", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(cons, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (got.size() < 50 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(cons, 200);
    if (!m) continue;
    if (!m->err) got.emplace_back(static_cast<const char*>(m->payload), m->len);
    rd_kafka_message_destroy(m);
  }
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(got.front(), "m0");
  EXPECT_EQ(got.back(), "m49");
  ASSERT_EQ(rd_kafka_commit(cons, nullptr, /*async=*/0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_consumer_close(cons);
  rd_kafka_destroy(cons);
  auto committed = f.log().offsets().Fetch("subg", {"sub", PartitionId(0)});
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_TRUE(committed->has_value());
  EXPECT_EQ((*committed)->offset, Offset(50));
}

}  // namespace
}  // namespace sluice::kafka::testing
