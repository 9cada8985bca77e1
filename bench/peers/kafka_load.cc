// kafka_load: one librdkafka load tool that bench/peers/run.sh points at any Kafka-protocol
// broker (Apache Kafka or `sluice serve`), so both brokers are measured with the same client and
// the same settings. It prints one row per figure, fields separated by spaces:
//   peer=P workload=broker size=100 acks=1 metric=produce_throughput value=812345 unit=records/s
//
//   kafka_load --broker HOST:PORT --topic T --peer NAME --mode produce --records N --size B --acks
//   1|all kafka_load --broker HOST:PORT --topic T --peer NAME --mode consume --records N --size B
//   --acks A kafka_load --broker HOST:PORT --topic T --peer NAME --mode latency --rate R --seconds
//   S
//              --size B --acks A [--warmup-seconds W]
//   (every mode: [--linger-ms L], the producer's linger.ms; default 5 for produce, 1 for latency)
//
// produce: N records of B bytes into partition 0 (linger.ms 5, batch.size 1 MB, no compression,
// values copied into librdkafka as an application would),
// then waits for every delivery report; fails unless all N were delivered.
// consume: reads partition 0 from the beginning until N records came back (batches of up to
// 10000 through rd_kafka_consume_batch_queue); fails unless exactly N records of B bytes came.
// latency: a producer thread sends R records/s for S seconds (linger.ms 1), each value starting
// with its send time (steady clock, ns); a consumer in this process (assigned before the first
// send) takes each record as soon as it arrives (rd_kafka_consumer_poll) and records receive
// time minus send time. Records sent in the first W seconds (default 1) are not counted. Fails
// unless every record sent came back once. Prints p50, p99, p99.9 and max in milliseconds.
//
// The topic must exist with at least one partition (run.sh creates it); every mode also prints
// client_cpu_s, this process's CPU seconds (user + system) for the timed part.
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string broker, topic, peer = "unknown", mode;
  int64_t records = 0;
  size_t size = 100;
  std::string acks = "1";
  double rate = 10000;
  double seconds = 5;
  double warmup_seconds = 1;
  std::string linger_ms;  // empty: 5 for produce, 1 for latency
};

[[noreturn]] void Fail(const std::string& what) {
  fmt::print(stderr, "kafka_load: {}\n", what);
  std::exit(1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void Row(const Args& a, const std::string& metric, double value, const std::string& unit) {
  fmt::print("peer={} workload=broker size={} acks={} metric={} value={:.{}f} unit={}\n", a.peer,
             a.size, a.acks, metric, value, unit == "ms" ? 3 : (value < 100 ? 3 : 0), unit);
  std::fflush(stdout);
}

rd_kafka_conf_t* Conf(const Args& a,
                      std::initializer_list<std::pair<const char*, std::string>> kv) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  std::vector<std::pair<const char*, std::string>> all = {{"bootstrap.servers", a.broker}};
  all.insert(all.end(), kv.begin(), kv.end());
  for (const auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      Fail(fmt::format("{}={}: {}", k, v, err));
    }
  }
  return conf;
}

std::atomic<int64_t> g_delivered{0}, g_failed{0};
std::string g_first_error;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    if (g_failed.fetch_add(1) == 0) g_first_error = rd_kafka_err2str(m->err);
  } else {
    ++g_delivered;
  }
}

rd_kafka_t* NewProducer(const Args& a, const char* linger_ms) {
  rd_kafka_conf_t* conf = Conf(a, {{"acks", a.acks},
                                   {"linger.ms", linger_ms},
                                   {"batch.size", "1000000"},
                                   {"queue.buffering.max.messages", "1000000"},
                                   {"queue.buffering.max.kbytes", "1048576"},
                                   {"compression.codec", "none"}});
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) Fail(fmt::format("producer: {}", err));
  return rk;
}

rd_kafka_t* NewConsumer(const Args& a, int64_t offset) {
  rd_kafka_conf_t* conf = Conf(a, {{"group.id", "kafka-load-" + a.topic},
                                   {"enable.auto.commit", "false"},
                                   {"enable.partition.eof", "false"},
                                   {"fetch.max.bytes", "52428800"},
                                   {"max.partition.fetch.bytes", "10485760"},
                                   {"fetch.wait.max.ms", "100"},
                                   {"check.crcs", "false"}});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) Fail(fmt::format("consumer: {}", err));
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, a.topic.c_str(), 0)->offset = offset;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (e) Fail(fmt::format("assign {}[0]: {}", a.topic, rd_kafka_err2str(e)));
  return rk;
}

void CheckDelivered(int64_t n) {
  if (g_failed > 0 || g_delivered != n) {
    Fail(fmt::format("{} of {} records delivered, {} failed (first error: {})", g_delivered.load(),
                     n, g_failed.load(), g_first_error));
  }
}

int Produce(const Args& a) {
  rd_kafka_t* rk = NewProducer(a, a.linger_ms.empty() ? "5" : a.linger_ms.c_str());
  std::string value(a.size, 'v');
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  for (int64_t i = 0; i < a.records; ++i) {
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(a.topic.c_str()), RD_KAFKA_V_PARTITION(0),
                             RD_KAFKA_V_VALUE(value.data(), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 10);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 300000);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  rd_kafka_destroy(rk);
  if (fe) Fail(fmt::format("flush: {}", rd_kafka_err2str(fe)));
  CheckDelivered(a.records);
  Row(a, "produce_throughput", a.records / secs, "records/s");
  Row(a, "produce_MBps", a.records * static_cast<double>(a.size) / 1e6 / secs, "MB/s");
  Row(a, "produce_client_cpu", cpu, "s");
  return 0;
}

int Consume(const Args& a) {
  rd_kafka_t* rk = NewConsumer(a, RD_KAFKA_OFFSET_BEGINNING);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(10000);
  int64_t got = 0, wrong_size = 0;
  std::string first_error;
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::minutes(5);
  while (got < a.records && Clock::now() < deadline) {
    ssize_t k = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < k; ++i) {
      if (!batch[i]->err) {
        ++got;
        if (batch[i]->len != a.size) ++wrong_size;
      } else if (first_error.empty()) {
        first_error = rd_kafka_message_errstr(batch[i]);
      }
      rd_kafka_message_destroy(batch[i]);
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (got != a.records || wrong_size != 0) {
    Fail(fmt::format("consumed {} of {} records ({} of the wrong size){}", got, a.records,
                     wrong_size, first_error.empty() ? "" : "; first error: " + first_error));
  }
  Row(a, "consume_throughput", a.records / secs, "records/s");
  Row(a, "consume_MBps", a.records * static_cast<double>(a.size) / 1e6 / secs, "MB/s");
  Row(a, "consume_client_cpu", cpu, "s");
  return 0;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

int Latency(const Args& a) {
  if (a.size < sizeof(int64_t) + sizeof(int64_t)) Fail("--size must be at least 16 for latency");
  const int64_t total = static_cast<int64_t>(a.rate * a.seconds);
  const int64_t warmup = static_cast<int64_t>(a.rate * a.warmup_seconds);
  if (total <= warmup) Fail("--seconds must be longer than --warmup-seconds");
  // The consumer starts at the partition's end offset, asked for before the first send (which
  // also connects it to the broker), so it reads exactly the records sent below.
  int64_t low = 0, high = 0;
  {
    rd_kafka_t* probe = NewConsumer(a, RD_KAFKA_OFFSET_BEGINNING);
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(probe, a.topic.c_str(), 0, &low, &high, 30000);
    rd_kafka_consumer_close(probe);
    rd_kafka_destroy(probe);
    if (e) Fail(fmt::format("end offset of {}[0]: {}", a.topic, rd_kafka_err2str(e)));
  }
  rd_kafka_t* consumer = NewConsumer(a, high);
  // Wait for the consumer's first (empty) fetch so its connection is up before the clock starts.
  for (int i = 0; i < 10; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m) {
      if (!m->err) Fail("a record arrived before the first send: is someone else producing?");
      rd_kafka_message_destroy(m);
    }
  }
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(static_cast<size_t>(total));
  std::vector<uint8_t> seen(static_cast<size_t>(total), 0);
  int64_t duplicates = 0, foreign = 0;
  std::atomic<bool> producer_done{false};
  rd_kafka_t* producer = NewProducer(a, a.linger_ms.empty() ? "1" : a.linger_ms.c_str());
  const double cpu0 = CpuSeconds();
  std::thread sender([&] {
    std::string value(a.size, 'v');
    const auto start = Clock::now();
    for (int64_t i = 0; i < total; ++i) {
      const auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / a.rate));
      while (Clock::now() < due) {
        rd_kafka_poll(producer, 0);
        std::this_thread::sleep_until(due);
      }
      const int64_t sent = NowNs();
      std::memcpy(value.data(), &sent, sizeof(sent));
      std::memcpy(value.data() + sizeof(sent), &i, sizeof(i));
      while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(a.topic.c_str()), RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_VALUE(value.data(), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer, 1);
      }
      rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 300000);
    producer_done = true;
  });
  int64_t got = 0;
  const auto give_up_after_done = std::chrono::seconds(30);
  Clock::time_point done_at{};
  while (got < total) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 10);
    const int64_t now = NowNs();
    if (m == nullptr) {
      if (producer_done) {
        if (done_at == Clock::time_point{}) done_at = Clock::now();
        if (Clock::now() - done_at > give_up_after_done) break;
      }
      continue;
    }
    if (!m->err && m->len == a.size) {
      int64_t sent, i;
      std::memcpy(&sent, m->payload, sizeof(sent));
      std::memcpy(&i, static_cast<const char*>(m->payload) + sizeof(sent), sizeof(i));
      if (i < 0 || i >= total) {
        ++foreign;
      } else if (seen[static_cast<size_t>(i)]++) {
        ++duplicates;
      } else {
        ++got;
        if (i >= warmup) latencies_ns.push_back(now - sent);
      }
    } else if (!m->err) {
      ++foreign;
    }
    rd_kafka_message_destroy(m);
  }
  sender.join();
  const double cpu = CpuSeconds() - cpu0;
  rd_kafka_destroy(producer);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  CheckDelivered(total);
  if (got != total || duplicates != 0 || foreign != 0) {
    Fail(fmt::format("latency: {} of {} records came back ({} duplicates, {} not ours)", got, total,
                     duplicates, foreign));
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto pct = [&](double p) {
    size_t idx = static_cast<size_t>(p * static_cast<double>(latencies_ns.size() - 1));
    return latencies_ns[idx] / 1e6;
  };
  if (pct(0.50) > 1000) {
    // Not an error (every record came back), but not the figure asked for either.
    fmt::print(
        "# warning: {} acks={}: p50 {:.0f} ms at {:.0f} records/s: the broker or this "
        "machine did not keep up with the rate, so these latencies measure a growing queue\n",
        a.peer, a.acks, pct(0.50), a.rate);
  }
  Row(a, "latency_rate", a.rate, "records/s");
  Row(a, "latency_p50", pct(0.50), "ms");
  Row(a, "latency_p99", pct(0.99), "ms");
  Row(a, "latency_p999", pct(0.999), "ms");
  Row(a, "latency_max", latencies_ns.back() / 1e6, "ms");
  Row(a, "latency_client_cpu", cpu, "s");
  return 0;
}

int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) Fail(fmt::format("{} needs a value", k));
    std::string v = argv[++i];
    if (k == "--broker") {
      a.broker = v;
    } else if (k == "--topic") {
      a.topic = v;
    } else if (k == "--peer") {
      a.peer = v;
    } else if (k == "--mode") {
      a.mode = v;
    } else if (k == "--records") {
      a.records = std::atoll(v.c_str());
    } else if (k == "--size") {
      a.size = static_cast<size_t>(std::atoll(v.c_str()));
    } else if (k == "--acks") {
      a.acks = v;
    } else if (k == "--rate") {
      a.rate = std::atof(v.c_str());
    } else if (k == "--seconds") {
      a.seconds = std::atof(v.c_str());
    } else if (k == "--linger-ms") {
      a.linger_ms = v;
    } else if (k == "--warmup-seconds") {
      a.warmup_seconds = std::atof(v.c_str());
    } else {
      Fail(fmt::format("unknown option {} (see the comment at the top of kafka_load.cc)", k));
    }
  }
  if (a.broker.empty() || a.topic.empty()) Fail("--broker and --topic are required");
  if (a.acks != "1" && a.acks != "all") Fail("--acks takes 1 or all");
  if (a.mode == "produce" || a.mode == "consume") {
    if (a.records <= 0) Fail("--records must be positive");
    return a.mode == "produce" ? Produce(a) : Consume(a);
  }
  if (a.mode == "latency") {
    if (a.rate <= 0 || a.seconds <= 0) Fail("--rate and --seconds must be positive");
    return Latency(a);
  }
  Fail("--mode takes produce, consume or latency");
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
