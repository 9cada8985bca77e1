// pipeline_bench: throughput of pipeline jobs over input already in the log, one row per case:
//   name=wordcount_eos_1thr records=... seconds=... records_per_s=...
//
// Cases: wordcount and balances, at-least-once (alo) and exactly-once (eos), 1 and 2 threads,
// each as a Job with until_end over the same input; wordcount (two stages) also with the
// in-memory exchange between its stages ("wordcount_local_eos_1thr", JobOptions::exchange); plus a
// hand-written single-threaded loop per job that reads the same log, computes the same outputs with
// a hash map, and appends them to an output topic (the ceiling). records = input records (lines for
// wordcount, transactions for balances). Input: 2 partitions; wordcount lines have 5 words from a
// 10k-word vocabulary; balances has 10k accounts. Commit interval 100 ms (the default). Each row
// also gives the CPU seconds the case used (user + system, all threads), steadier than wall time on
// a busy machine.
//
// Usage: pipeline_bench [--dir DIR] [--scale F] [--filter SUBSTRING]
//   --scale multiplies the 10M input records (default 1; 0.1 for 1M)
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_map>

#include "bench/bench_util.h"
#include "core/log.h"
#include "core/partition_reader.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "examples/balances.h"
#include "examples/word_count.h"
#include "runtime/job.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;
using bench::CpuSeconds;
using bench::CreateTopic;
using bench::Die;

// Wall time and CPU time: on a shared machine the CPU figure is the steadier one.
void Row(const std::string& name, int64_t records, double seconds, double cpu) {
  fmt::print(
      "name={} records={} seconds={:.3f} records_per_s={:.0f} cpu_seconds={:.3f} "
      "records_per_cpu_s={:.0f}\n",
      name, records, seconds, records / seconds, cpu, records / cpu);
  std::fflush(stdout);
}

// Appends n records to `topic` (2 partitions) with values from `make(i)` and keys from key(i).
template <typename KeyFn, typename ValueFn>
void Fill(Log* log, const std::string& topic, int64_t n, KeyFn key, ValueFn value) {
  CreateTopic(log, topic, 2);
  RecordBatchBuilder b[2];
  for (int64_t i = 0; i < n; ++i) {
    std::string k = key(i);
    int32_t p = k.empty() ? static_cast<int32_t>(i % 2) : PartitionForKey(k, 2).value();
    std::string v = value(i);
    b[p].Add(Timestamp(i), k.empty() ? std::nullopt : std::optional<std::string_view>(k), v);
    if (b[p].size_bytes() >= (512 << 10)) {
      auto part = log->GetPartition(topic, PartitionId(p));
      if (!part.ok()) Die(part.status(), "partition");
      auto r = (*part)->Append(b[p].Finish(), Acks::kNone);
      if (!r.ok()) Die(r.status(), "append");
    }
  }
  for (int p = 0; p < 2; ++p) {
    if (b[p].empty()) continue;
    auto part = log->GetPartition(topic, PartitionId(p));
    auto r = (*part)->Append(b[p].Finish(), Acks::kNone);
    if (!r.ok()) Die(r.status(), "append");
  }
}

// Runs `fn(key, value)` over every record of `topic`, partition by partition.
template <typename Fn>
void Scan(Log* log, const std::string& topic, Fn fn) {
  for (int p = 0; p < 2; ++p) {
    PartitionReader reader(*log->GetPartition(topic, PartitionId(p)), Offset(0));
    RecordView rec;
    while (true) {
      Result<bool> got = reader.Next(&rec);
      if (!got.ok()) Die(got.status(), "read");
      if (!*got) break;
      fn(rec.key, rec.value);
    }
  }
}

// The ceiling: a single-threaded loop computing the same outputs, appended to `out`.
void HandWritten(Log* log, const std::string& job, const std::string& in, const std::string& out,
                 int64_t n) {
  CreateTopic(log, out, 2);
  Partition* parts[2] = {*log->GetPartition(out, PartitionId(0)),
                         *log->GetPartition(out, PartitionId(1))};
  RecordBatchBuilder b[2];
  auto emit = [&](std::string_view k, std::string_view v) {
    int32_t p = PartitionForKey(k, 2).value();
    b[p].Add(Timestamp(0), k, v);
    if (b[p].size_bytes() >= (256 << 10)) (void)parts[p]->Append(b[p].Finish(), Acks::kLeader);
  };
  std::unordered_map<std::string, int64_t> table;
  auto start = Clock::now();
  double cpu0 = CpuSeconds();
  if (job == "wordcount") {
    Scan(log, in, [&](std::string_view, std::string_view line) {
      for (const std::string& w : examples::SplitWords(line)) {
        int64_t c = ++table[w];
        emit(w, std::to_string(c));
      }
    });
  } else {
    Scan(log, in, [&](std::string_view k, std::string_view v) {
      int64_t amount = std::strtoll(std::string(v).c_str(), nullptr, 10);
      int64_t bal = (table[std::string(k)] += amount);
      emit(k, std::to_string(bal));
    });
  }
  for (int p = 0; p < 2; ++p) {
    if (!b[p].empty()) (void)parts[p]->Append(b[p].Finish(), Acks::kLeader);
  }
  Row(job + "_handwritten_1thr", n, std::chrono::duration<double>(Clock::now() - start).count(),
      CpuSeconds() - cpu0);
}

void RunJob(Log* log, const std::string& dir, const std::string& job, const std::string& in,
            Exchange exchange, bool eos, int threads, int64_t n) {
  std::string name = bench::CaseName(job, exchange, eos, threads);
  TopologyBuilder b;
  if (job == "wordcount") {
    examples::AddWordCount(b, {.input = in, .output = name + "-out"});
  } else {
    examples::AddBalances(b, {.input = in, .output = name + "-out"});
  }
  CreateTopic(log, name + "-out", 2);
  auto t = b.Build();
  if (!t.ok()) Die(t.status(), "build");
  JobOptions o;
  o.application_id = name;
  o.log = log;
  o.state_dir = dir + "/state";
  o.threads = threads;
  o.exchange = exchange;
  o.guarantee = eos ? ProcessingGuarantee::kExactlyOnce : ProcessingGuarantee::kAtLeastOnce;
  const bench::Timing time = bench::RunToEnd(o, std::move(t).value());
  Row(name, n, time.seconds, time.cpu_seconds);
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  using namespace sluice;
  bench::Args args = bench::ParseArgs(argc, argv);
  const std::string& dir = args.dir;
  const double scale = args.scale;
  int64_t n = static_cast<int64_t>(10'000'000 * scale);
  auto log = bench::OpenLog(dir + "/data");
  std::mt19937 rng(1);
  for (std::string job : {"wordcount", "balances"}) {
    // The job cases this run wants; the input is generated only if some case does.
    struct Case {
      Exchange exchange;
      bool eos;
      int threads;
    };
    std::vector<Case> cases;
    for (Exchange ex : {Exchange::kLog, Exchange::kLocal}) {
      if (ex == Exchange::kLocal && job != "wordcount") continue;  // one stage: no exchange
      for (bool eos : {false, true}) {
        for (int threads : {1, 2}) {
          if (args.Wants(bench::CaseName(job, ex, eos, threads)))
            cases.push_back({ex, eos, threads});
        }
      }
    }
    const bool hand = args.Wants(job + "_handwritten_1thr");
    if (cases.empty() && !hand) continue;
    std::string in = job + "-in";
    if (job == "wordcount") {
      Fill(
          log.get(), in, n, [](int64_t) { return std::string(); },
          [&](int64_t) {
            std::string line;
            for (int w = 0; w < 5; ++w) line += "w" + std::to_string(rng() % 10000) + " ";
            return line;
          });
    } else {
      Fill(
          log.get(), in, n, [&](int64_t) { return "acct-" + std::to_string(rng() % 10000); },
          [&](int64_t) { return std::to_string(static_cast<int64_t>(rng() % 2001) - 1000); });
    }
    if (hand) HandWritten(log.get(), job, in, job + "-hand-out", n);
    for (const Case& c : cases) RunJob(log.get(), dir, job, in, c.exchange, c.eos, c.threads, n);
  }
  (void)log->Close();
  std::error_code ec;
  if (args.own_dir) std::filesystem::remove_all(dir, ec);
  return 0;
}
