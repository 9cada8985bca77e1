// client_bench: produce and consume throughput through the LogClient interface, embedded and Kafka
// (librdkafka to an in-process `sluice serve` on a loopback port). One row per case:
//   name=client_produce_embedded records=1000000 seconds=... records_per_s=... MB_per_s=...
//       cpu_seconds=...
// Usage: client_bench [--records N] [--dir DIR] [--filter SUBSTRING]
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "client/log_client.h"
#include "server/kafka_server.h"

namespace sluice::client {
namespace {

[[noreturn]] void Die(const Status& s, const char* what) {
  fmt::print(stderr, "client_bench: {}: {}\n", what, s.ToString());
  std::exit(1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Clock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
};

void Row(const std::string& name, int64_t n, const Clock& c) {
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.start).count();
  fmt::print(
      "name={} records={} seconds={:.3f} records_per_s={:.0f} MB_per_s={:.1f} "
      "cpu_seconds={:.3f}\n",
      name, n, s, n / s, n * 100.0 / s / 1e6, CpuSeconds() - c.cpu0);
}

// Produces n 100-byte unkeyed records into a 1-partition topic, flushes, then reads them back
// from the beginning through one consumer.
void RunCase(LogClient& client, const std::string& kind, int64_t n) {
  const std::string topic = "bench-" + kind;
  Status st = client.CreateTopic(topic, {.partitions = 1});
  if (!st.ok()) Die(st, "create topic");
  const std::string value(100, 'x');
  {
    auto producer =
        client.NewProducer({.batch_bytes = 1 << 20, .linger = std::chrono::milliseconds(5)});
    if (!producer.ok()) Die(producer.status(), "producer");
    Clock c;
    Record r{.value = value};
    for (int64_t i = 0; i < n; ++i) {
      st = (*producer)->Send(topic, r);
      if (!st.ok()) Die(st, "send");
    }
    st = (*producer)->Flush();
    if (!st.ok()) Die(st, "flush");
    Row("client_produce_" + kind, n, c);
  }
  auto consumer = client.NewConsumer({.max_partition_fetch_bytes = 4 << 20});
  if (!consumer.ok()) Die(consumer.status(), "consumer");
  st = (*consumer)->Assign({{topic, PartitionId(0)}});
  if (!st.ok()) Die(st, "assign");
  Clock c;
  int64_t got = 0;
  size_t bytes = 0;
  while (got < n) {
    auto recs = (*consumer)->Poll(std::chrono::milliseconds(1000));
    if (!recs.ok()) Die(recs.status(), "poll");
    if (recs->empty()) {
      fmt::print(stderr, "client_bench: no records for 1 s after {} of {}\n", got, n);
      std::exit(1);
    }
    for (const auto& rec : *recs) bytes += rec.value ? rec.value->size() : 0;
    got += static_cast<int64_t>(recs->size());
  }
  if (bytes != static_cast<size_t>(n) * 100) Die(Internal("read {} value bytes", bytes), "check");
  Row("client_consume_" + kind, n, c);
}

}  // namespace
}  // namespace sluice::client

int main(int argc, char** argv) {
  using namespace sluice;
  int64_t n = 1000000;
  std::string dir, filter;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      dir = argv[++i];
    } else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) {
      filter = argv[++i];
    } else {
      fmt::print(stderr, "usage: client_bench [--records N] [--dir DIR] [--filter SUBSTRING]\n");
      return 2;
    }
  }
  if (dir.empty()) {
    dir = (std::filesystem::temp_directory_path() / fmt::format("client-bench-{}", ::getpid()))
              .string();
  }
  std::filesystem::remove_all(dir);
  if (filter.empty() || std::string("embedded").find(filter) != std::string::npos) {
    auto client = client::OpenLogClient({.data_dir = dir + "/embedded"});
    if (!client.ok()) client::Die(client.status(), "open embedded");
    client::RunCase(**client, "embedded", n);
  }
  if (filter.empty() || std::string("kafka").find(filter) != std::string::npos) {
    LogOptions lo;
    lo.data_dir = dir + "/served";
    auto log = Log::Open(lo);
    if (!log.ok()) client::Die(log.status(), "open served log");
    kafka::ServerOptions so;
    so.listen_port = 0;
    so.log_line = [](std::string_view) {};
    auto server = kafka::KafkaServer::Start(log->get(), so);
    if (!server.ok()) client::Die(server.status(), "start server");
    {
      auto client = client::OpenLogClient(
          {.bootstrap_servers = "127.0.0.1:" + std::to_string((*server)->port())});
      if (!client.ok()) client::Die(client.status(), "open kafka");
      client::RunCase(**client, "kafka", n);
    }
    (*server)->Stop();
    (void)(*log)->Close();
  }
  std::filesystem::remove_all(dir);
  return 0;
}
