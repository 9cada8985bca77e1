// A writer process for the kill -9 test (storage_crash_test.cc, scenario A5): 4 threads append
// unique values to 3 partitions with Acks::kLeader and print one line per acknowledged record,
// "<partition> <offset> <value>", flushing each line, until killed.
//
// usage: append_child DATA_DIR SEGMENT_BYTES TAG
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/partition.h"
#include "core/record_batch.h"

int main(int argc, char** argv) {
  using namespace sluice;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DATA_DIR SEGMENT_BYTES TAG\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  TopicConfig config;
  config.segment_bytes = std::atoll(argv[2]);
  std::string tag = argv[3];
  constexpr int kPartitions = 3, kThreads = 4;
  std::vector<std::unique_ptr<Partition>> parts;
  for (int p = 0; p < kPartitions; ++p) {
    auto r = Partition::Open(JoinPath(dir, "p" + std::to_string(p)), "crash", PartitionId(p),
                             config, PartitionOptions{});
    if (!r.ok()) {
      std::fprintf(stderr, "append_child: %s\n", r.status().ToString().c_str());
      return 1;
    }
    parts.push_back(std::move(r).value());
  }
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0; i < 1'000'000; ++i) {
        int p = static_cast<int>((i + t) % kPartitions);
        RecordBatchBuilder b;
        std::vector<std::string> values;
        for (int k = 0; k < i % 3 + 1; ++k) {
          values.push_back(tag + "-t" + std::to_string(t) + "-" + std::to_string(i) + "-" +
                           std::to_string(k));
          b.Add(Now(), std::nullopt, std::string_view(values.back()));
        }
        auto r = parts[p]->Append(b.Finish(), Acks::kLeader);
        if (!r.ok()) {
          std::fprintf(stderr, "append_child: %s\n", r.status().ToString().c_str());
          std::_Exit(1);
        }
        std::lock_guard<std::mutex> l(out_mu);
        for (size_t k = 0; k < values.size(); ++k) {
          std::printf("%d %lld %s\n", p, static_cast<long long>(r->base_offset.value() + k),
                      values[k].c_str());
        }
        std::fflush(stdout);
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}
