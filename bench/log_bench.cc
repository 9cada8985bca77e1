// log_bench: throughput of the log, one machine-readable row per case:
//   name=append_100B_leader_1thr records=... seconds=... records_per_s=... MB_per_s=...
//
// Cases: in-process append of 100 B and 1 KiB records through a Producer with Acks::kLeader
// (written to the OS, no fsync) and Acks::kAll (fsync, group commit), from 1 and 4 threads;
// sequential read of a topic from the page cache through a Consumer and through Partition::Read
// alone (the storage without the Consumer); and `sluice produce` /
// `sluice consume` of 1M lines as whole processes. MB_per_s counts record values only.
//
// Usage: log_bench [--dir DIR] [--scale F] [--filter SUBSTRING] [--sluice PATH]
//   --dir     where to put the data (default: a new directory under $TMPDIR or /var/tmp; it must
//             be on a real disk for the fsync cases to mean anything)
//   --scale   multiplies every record count (default 1; 0.01 for a smoke run)
//   --filter  runs only cases whose name contains this
//   --sluice  the sluice binary for the whole-process cases (default: the one built with this)
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/batch_cursor.h"
#include "core/consumer.h"
#include "core/file_system.h"
#include "core/log.h"
#include "core/producer.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string dir;
  double scale = 1.0;
  std::string filter;
  std::string sluice = SLUICE_BINARY;
};

void Row(const std::string& name, int64_t records, double seconds, double bytes) {
  fmt::print("name={} records={} seconds={:.3f} records_per_s={:.0f} MB_per_s={:.1f}\n", name,
             records, seconds, records / seconds, bytes / 1e6 / seconds);
  std::fflush(stdout);
}

[[noreturn]] void Die(const Status& s, const char* what) {
  fmt::print(stderr, "log_bench: {}: {}\n", what, s.ToString());
  std::exit(1);
}

std::unique_ptr<Log> OpenLog(const std::string& dir) {
  LogOptions options;
  options.data_dir = dir;
  auto log = Log::Open(options);
  if (!log.ok()) Die(log.status(), "open log");
  return std::move(log).value();
}

// Appends `records` values of `size` bytes to a fresh 1-partition topic from `threads` threads.
void AppendCase(Log& log, const std::string& name, size_t size, Acks acks, int threads,
                int64_t records, bool print) {
  TopicConfig tc;
  tc.partitions = 1;
  tc.segment_bytes = 256ll << 20;
  Status s = log.CreateTopic(name, tc);
  if (!s.ok()) Die(s, "create topic");
  ProducerOptions po;
  po.acks = acks;
  auto producer = Producer::Create(&log, po);
  if (!producer.ok()) Die(producer.status(), "create producer");
  std::string value(size, 'v');
  int64_t per_thread = records / threads;
  auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Record r;
      r.value = value;
      r.timestamp = Timestamp(1700000000000 + t);
      for (int64_t i = 0; i < per_thread; ++i) {
        Status st = (*producer)->Send(name, r, PartitionId(0));
        if (!st.ok()) Die(st, "send");
      }
    });
  }
  for (auto& w : workers) w.join();
  s = (*producer)->Flush();
  if (!s.ok()) Die(s, "flush");
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (print)
    Row(name, per_thread * threads, secs, static_cast<double>(per_thread * threads * size));
}

void ReadCase(Log& log, const std::string& name, const std::string& topic) {
  auto consumer = Consumer::Create(&log, ConsumerOptions{});
  if (!consumer.ok()) Die(consumer.status(), "create consumer");
  std::vector<TopicPartition> tps{{topic, PartitionId(0)}};
  Status s = (*consumer)->Assign(tps);
  if (s.ok()) s = (*consumer)->SeekToBeginning(tps);
  if (!s.ok()) Die(s, "assign");
  int64_t count = 0;
  uint64_t bytes = 0;
  auto t0 = Clock::now();
  while (!(*consumer)->AtEnd()) {
    auto records = (*consumer)->Poll(std::chrono::milliseconds(100));
    if (!records.ok()) Die(records.status(), "poll");
    for (const ConsumerRecord& r : *records) bytes += r.record.value.size();
    count += static_cast<int64_t>(records->size());
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Row(name, count, secs, static_cast<double>(bytes));
}

// The cleaner: `records` 100-byte values over 10,000 keys (a tenth of them tombstones) in 8 MiB
// segments of a compacted topic, then one forced cleaning. MB/s is of segment bytes cleaned.
void CompactCase(Log& log, const std::string& name, int64_t records) {
  TopicConfig tc;
  tc.segment_bytes = 8ll << 20;
  tc.cleanup_policy = CleanupPolicy::kCompact;
  Status s = log.CreateTopic(name, tc);
  if (!s.ok()) Die(s, "create topic");
  auto producer = Producer::Create(&log, ProducerOptions{});
  if (!producer.ok()) Die(producer.status(), "create producer");
  std::string value(100, 'v');
  for (int64_t i = 0; i < records; ++i) {
    Record r;
    r.key = fmt::format("key-{}", (i * 7919) % 10000);
    if (i % 10 != 0) r.value = value;
    r.timestamp = Timestamp(1700000000000 + i);
    s = (*producer)->Send(name, r, PartitionId(0));
    if (!s.ok()) Die(s, "send");
  }
  s = (*producer)->Flush();
  if (!s.ok()) Die(s, "flush");
  auto t0 = Clock::now();
  auto result = log.CompactTopic(name, /*force=*/true, Timestamp(1700000000000 + records));
  if (!result.ok()) Die(result.status(), "compact");
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const CompactionResult& r = result->front();
  Row(name, r.records_in, secs, static_cast<double>(r.bytes_in));
}

// The storage alone: Partition::Read of whole batches and decoding every record, no Consumer.
void ScanCase(Log& log, const std::string& name, const std::string& topic) {
  auto partition = log.GetPartition(topic, PartitionId(0));
  if (!partition.ok()) Die(partition.status(), "partition");
  Partition& p = **partition;
  int64_t count = 0;
  uint64_t bytes = 0;
  auto t0 = Clock::now();
  Offset offset = p.log_start_offset();
  while (offset < p.high_watermark()) {
    auto read = p.Read(offset, 1 << 20);
    if (!read.ok()) Die(read.status(), "read");
    BatchCursor cursor(read->data);
    RecordBatchView batch;
    while (cursor.Next(&batch)) {
      Status s = batch.ForEachRecord([&](const RecordView& r) {
        bytes += r.value.size();
        ++count;
      });
      if (!s.ok()) Die(s, "decode");
      offset = batch.last_offset() + 1;
    }
    if (!cursor.status().ok()) Die(cursor.status(), "scan");
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Row(name, count, secs, static_cast<double>(bytes));
}

// Runs a shell command; returns its wall time in seconds; exits if it fails.
double TimeShell(const std::string& cmd) {
  auto t0 = Clock::now();
  int rc = std::system(cmd.c_str());
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (rc != 0) {
    fmt::print(stderr, "log_bench: '{}' failed (status {})\n", cmd, rc);
    std::exit(1);
  }
  return secs;
}

void ProcessCases(const Config& cfg, int64_t lines) {
  std::string dir = cfg.dir + "/cli";
  std::string input = cfg.dir + "/lines.txt";
  // ~100-byte lines: "user-N,{json}".
  {
    FILE* f = std::fopen(input.c_str(), "w");
    if (f == nullptr) Die(ErrnoToStatus(errno, "create", input), "input file");
    for (int64_t i = 0; i < lines; ++i) {
      fmt::print(f, "user-{},{{\"seq\":{},\"page\":\"/products/{}\",\"pad\":\"{:>40}\"}}\n",
                 i % 1000, i, i % 50, "x");
    }
    std::fclose(f);
  }
  uint64_t input_bytes = FileSystem::Default()->FileSize(input).value();
  std::string base = fmt::format("'{}' --data '{}'", cfg.sluice, dir);
  TimeShell(fmt::format("{} topic create cli-bench --partitions 1 > /dev/null", base));
  double secs = TimeShell(
      fmt::format("{} produce cli-bench --key-separator , < '{}' 2> /dev/null", base, input));
  Row("sluice_produce_1M_lines_process", lines, secs, static_cast<double>(input_bytes));
  secs = TimeShell(fmt::format("{} consume cli-bench --from-beginning > '{}.out'", base, input));
  uint64_t out_bytes = FileSystem::Default()->FileSize(input + ".out").value();
  Row("sluice_consume_1M_lines_process", lines, secs, static_cast<double>(out_bytes));
}

bool Wanted(const Config& cfg, const std::string& name) {
  return cfg.filter.empty() || name.find(cfg.filter) != std::string::npos;
}

int Main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "log_bench: {} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      cfg.dir = next();
    } else if (a == "--scale") {
      cfg.scale = std::atof(next().c_str());
    } else if (a == "--filter") {
      cfg.filter = next();
    } else if (a == "--sluice") {
      cfg.sluice = next();
    } else {
      fmt::print(stderr,
                 "usage: log_bench [--dir DIR] [--scale F] [--filter SUBSTRING] [--sluice PATH]\n");
      return 2;
    }
  }
  if (cfg.scale <= 0) {
    fmt::print(stderr, "log_bench: --scale must be a positive number\n");
    return 2;
  }
  bool temporary = cfg.dir.empty();
  if (temporary) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = fmt::format("{}/sluice-bench-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
    if (::mkdtemp(pattern.data()) == nullptr) Die(ErrnoToStatus(errno, "mkdtemp", pattern), "dir");
    cfg.dir = pattern;
  }
  auto n = [&](int64_t base) {
    return std::max<int64_t>(1000, static_cast<int64_t>(base * cfg.scale));
  };
  {
    std::unique_ptr<Log> log = OpenLog(cfg.dir + "/inproc");
    struct Case {
      const char* size_name;
      size_t size;
      Acks acks;
      const char* acks_name;
      int threads;
      int64_t records;
    };
    const Case cases[] = {
        {"100B", 100, Acks::kLeader, "leader", 1, 4'000'000},
        {"100B", 100, Acks::kLeader, "leader", 4, 4'000'000},
        {"1KiB", 1024, Acks::kLeader, "leader", 1, 1'000'000},
        {"1KiB", 1024, Acks::kLeader, "leader", 4, 1'000'000},
        {"100B", 100, Acks::kAll, "all", 1, 2'000'000},
        {"100B", 100, Acks::kAll, "all", 4, 2'000'000},
        {"1KiB", 1024, Acks::kAll, "all", 1, 500'000},
        {"1KiB", 1024, Acks::kAll, "all", 4, 500'000},
    };
    std::string first_100b;  // a topic of 100-byte records for the read case
    for (const Case& c : cases) {
      std::string name = fmt::format("append_{}_{}_{}thr", c.size_name, c.acks_name, c.threads);
      if (!Wanted(cfg, name)) continue;
      AppendCase(*log, name, c.size, c.acks, c.threads, n(c.records), /*print=*/true);
      if (first_100b.empty() && c.size == 100) first_100b = name;
    }
    if (Wanted(cfg, "read_100B_page_cache") || Wanted(cfg, "scan_100B_partition_read")) {
      if (first_100b.empty()) {
        first_100b = "read_source";
        AppendCase(*log, first_100b, 100, Acks::kLeader, 1, n(4'000'000), /*print=*/false);
      }
      if (Wanted(cfg, "read_100B_page_cache")) {
        ReadCase(*log, "read_100B_page_cache", first_100b);
      }
      if (Wanted(cfg, "scan_100B_partition_read")) {
        ScanCase(*log, "scan_100B_partition_read", first_100b);
      }
    }
    if (Wanted(cfg, "compact_100B")) CompactCase(*log, "compact_100B", n(2'000'000));
    Status s = log->Close();
    if (!s.ok()) Die(s, "close");
  }
  if (Wanted(cfg, "sluice_")) ProcessCases(cfg, n(1'000'000));
  if (temporary) {
    Status s = FileSystem::Default()->RemoveAll(cfg.dir);
    if (!s.ok()) Die(s, "remove bench dir");
  }
  return 0;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) { return sluice::Main(argc, argv); }
