// kafka_bench: `sluice serve` throughput over loopback with librdkafka, one machine-readable row
// per case:
//   name=kafka_produce_100B_acks1 records=... seconds=... records_per_s=... MB_per_s=...
//
// Cases: produce 100 B and 1 KiB records with acks=1 and acks=all (librdkafka batching:
// linger.ms=5, batch.size 1 MiB, one partition), then consume them back from the beginning.
// The server runs in this process (KafkaServer over a fresh data directory); client and server
// share the machine's cores. MB_per_s counts record values only.
//
// Usage: kafka_bench [--dir DIR] [--scale F] [--filter SUBSTRING]
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "server/kafka_server.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

void Row(const std::string& name, int64_t records, double seconds, double bytes) {
  fmt::print("name={} records={} seconds={:.3f} records_per_s={:.0f} MB_per_s={:.1f}\n", name,
             records, seconds, records / seconds, bytes / 1e6 / seconds);
  std::fflush(stdout);
}

rd_kafka_conf_t* Conf(const std::string& broker,
                      std::initializer_list<std::pair<const char*, std::string>> kv) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", broker.c_str(), err, sizeof(err));
  for (const auto& [k, v] : kv) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      fmt::print(stderr, "kafka_bench: {}={}: {}\n", k, v, err);
      std::exit(1);
    }
  }
  return conf;
}

std::atomic<int64_t> g_delivered{0}, g_failed{0};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    ++g_failed;
  } else {
    ++g_delivered;
  }
}

// Produces `n` records of `size` bytes to partition 0 of `topic`; returns seconds.
double Produce(const std::string& broker, const std::string& topic, int64_t n, size_t size,
               const char* acks) {
  rd_kafka_conf_t* conf = Conf(broker, {{"acks", acks},
                                        {"linger.ms", "5"},
                                        {"batch.size", "1000000"},
                                        {"queue.buffering.max.messages", "1000000"},
                                        {"queue.buffering.max.kbytes", "1048576"},
                                        {"compression.codec", "none"}});
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) {
    fmt::print(stderr, "kafka_bench: producer: {}\n", err);
    std::exit(1);
  }
  std::string value(size, 'v');
  g_delivered = 0;
  g_failed = 0;
  auto start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                             RD_KAFKA_V_VALUE(value.data(), value.size()),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 10);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120000);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  rd_kafka_destroy(rk);
  if (g_failed > 0 || g_delivered != n) {
    fmt::print(stderr, "kafka_bench: {} of {} records delivered, {} failed\n", g_delivered.load(),
               n, g_failed.load());
    std::exit(1);
  }
  return secs;
}

// Consumes `n` records of partition 0 from the beginning; returns seconds.
double Consume(const std::string& broker, const std::string& topic, int64_t n) {
  rd_kafka_conf_t* conf = Conf(broker, {{"group.id", "kafka-bench-" + topic},
                                        {"enable.auto.commit", "false"},
                                        {"fetch.max.bytes", "52428800"},
                                        {"max.partition.fetch.bytes", "10485760"},
                                        {"check.crcs", "false"}});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t got = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::minutes(2);
  // Batch consumption: per-message polling would measure librdkafka's queue, not the server.
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(10000);
  while (got < n && Clock::now() < deadline) {
    ssize_t k = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < k; ++i) {
      if (!batch[i]->err) ++got;
      rd_kafka_message_destroy(batch[i]);
    }
  }
  rd_kafka_queue_destroy(queue);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (got != n) {
    fmt::print(stderr, "kafka_bench: consumed {} of {} records\n", got, n);
    std::exit(1);
  }
  return secs;
}

int Main(int argc, char** argv) {
  std::string dir, filter;
  double scale = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--scale" && i + 1 < argc) {
      scale = std::atof(argv[++i]);
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else {
      fmt::print(stderr, "usage: kafka_bench [--dir DIR] [--scale F] [--filter SUBSTRING]\n");
      return 2;
    }
  }
  if (dir.empty()) dir = fmt::format("/var/tmp/sluice-kafka-bench-{}", ::getpid());
  std::filesystem::remove_all(dir);
  LogOptions lo;
  lo.data_dir = dir;
  lo.lock_holder_label = "kafka_bench";
  auto log = Log::Open(lo);
  if (!log.ok()) {
    fmt::print(stderr, "kafka_bench: {}\n", log.status());
    return 1;
  }
  kafka::ServerOptions so;
  so.listen_port = 0;
  so.log_line = [](std::string_view) {};
  auto server = kafka::KafkaServer::Start(log->get(), so);
  if (!server.ok()) {
    fmt::print(stderr, "kafka_bench: {}\n", server.status());
    return 1;
  }
  std::string broker = fmt::format("127.0.0.1:{}", (*server)->port());
  struct Case {
    size_t size;
    const char* acks;
    int64_t records;
  } cases[] = {
      {100, "1", 2000000}, {100, "all", 1000000}, {1024, "1", 500000}, {1024, "all", 300000}};
  for (const auto& c : cases) {
    int64_t n = std::max<int64_t>(1000, static_cast<int64_t>(c.records * scale));
    std::string size = c.size == 100 ? "100B" : "1KiB";
    std::string acks = std::strcmp(c.acks, "1") == 0 ? "acks1" : "acksall";
    std::string topic = fmt::format("bench-{}-{}", size, acks);
    std::string produce = fmt::format("kafka_produce_{}_{}", size, acks);
    std::string consume = fmt::format("kafka_consume_{}_{}", size, acks);
    if (!filter.empty() && produce.find(filter) == std::string::npos &&
        consume.find(filter) == std::string::npos) {
      continue;
    }
    double ps = Produce(broker, topic, n, c.size, c.acks);
    Row(produce, n, ps, static_cast<double>(n) * c.size);
    double cs = Consume(broker, topic, n);
    Row(consume, n, cs, static_cast<double>(n) * c.size);
  }
  (*server)->Stop();
  (*log)->Close().IgnoreError();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) { return sluice::Main(argc, argv); }
