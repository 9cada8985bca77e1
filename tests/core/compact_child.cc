// A writer process for the compaction kill -9 test (compaction_test.cc): appends batches of
// keyed records (tombstones among them) to one compacted partition with Acks::kLeader, prints one
// line per acknowledged record, "<offset> <key> <value or -null->", flushing each batch's lines,
// and runs a forced cleaning after every 4 appends, until killed.
//
// Directory operations (renames, removals, directory fsyncs) sleep 3 ms first, like a slow
// disk, so that random kills land between the steps of a swap, not only around them.
//
// usage: compact_child PARTITION_DIR TAG SEED
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/partition.h"
#include "core/record_batch.h"

namespace {

using namespace sluice;

class SlowDirectoryFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override {
    return base_->OpenWritable(path);
  }
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) override {
    return base_->OpenReadable(path);
  }
  Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Status SyncDir(const std::string& path) override {
    Pause();
    return base_->SyncDir(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    Pause();
    return base_->Rename(from, to);
  }
  Status RemoveFile(const std::string& path) override {
    Pause();
    return base_->RemoveFile(path);
  }
  Status RemoveAll(const std::string& path) override { return base_->RemoveAll(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }

 private:
  static void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }
  FileSystem* base_ = FileSystem::Default();
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s PARTITION_DIR TAG SEED\n", argv[0]);
    return 2;
  }
  TopicConfig config;
  config.segment_bytes = 1024;
  config.cleanup_policy = CleanupPolicy::kCompact;
  config.delete_retention_ms = int64_t{1} << 50;  // tombstones stay: every key's latest is kept
  std::string tag = argv[2];
  std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
  SlowDirectoryFileSystem fs;
  PartitionOptions options;
  options.fs = &fs;
  auto opened = Partition::Open(argv[1], "crash", PartitionId(0), config, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "compact_child: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Partition> p = std::move(opened).value();
  for (int64_t i = 0;; ++i) {
    RecordBatchBuilder b;
    std::vector<std::pair<std::string, std::optional<std::string>>> recs;
    int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      std::string key = "k" + std::to_string(rng() % 60);
      std::optional<std::string> value;
      if (rng() % 8 != 0) value = tag + "-" + std::to_string(i) + "-" + std::to_string(k);
      recs.emplace_back(key, value);
      b.Add(Now(), std::string_view(recs.back().first),
            value ? std::optional<std::string_view>(*recs.back().second) : std::nullopt);
    }
    auto r = p->Append(b.Finish(), Acks::kLeader);
    if (!r.ok()) {
      std::fprintf(stderr, "compact_child: %s\n", r.status().ToString().c_str());
      return 1;
    }
    for (size_t k = 0; k < recs.size(); ++k) {
      std::printf("%lld %s %s\n", static_cast<long long>(r->base_offset.value() + k),
                  recs[k].first.c_str(), recs[k].second ? recs[k].second->c_str() : "-null-");
    }
    std::fflush(stdout);
    if (i % 4 == 3) {
      auto c = p->Compact({.now = Now(), .force = true});
      if (!c.ok()) {
        std::fprintf(stderr, "compact_child: %s\n", c.status().ToString().c_str());
        return 1;
      }
    }
  }
}
