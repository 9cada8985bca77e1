// Concurrent load on one partition: reliability scenarios G1 (many writers and tailing readers
// across frequent rolls) and G2 (reads racing rolls and retention).
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "core/partition.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::DecodeBatches;
using testing::FaultInjectionFileSystem;
using testing::ReadAll;
using testing::ReadRecord;
using testing::TempDir;

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

class StorageConcurrencyTest : public ::testing::Test {
 protected:
  std::unique_ptr<Partition> Open(bool read_only = false) {
    auto p = Partition::Open(tmp_.Sub("p"), "t", PartitionId(0), config_,
                             PartitionOptions{.read_only = read_only, .index_interval_bytes = 256});
    SLUICE_CHECK(p.ok());
    return std::move(p).value();
  }
  TempDir tmp_{/*in_memory=*/true};
  TopicConfig config_;
};

// G1: 8 writers and 4 tailing readers; offsets dense and unique, every reader sees every record
// once and in order, never a partial batch or anything at or above the high watermark.
TEST_F(StorageConcurrencyTest, WritersGetDenseOffsetsAndTailingReadersSeeEveryRecordOnce) {
  config_.segment_bytes = 2048;
  auto p = Open();
  constexpr int kWriters = 8, kBatches = 150, kReaders = 4;
  int64_t total = 0;
  for (int i = 0; i < kBatches; ++i) total += i % 3 + 1;
  total *= kWriters;

  std::vector<std::map<int64_t, std::string>> acked(kWriters);
  std::vector<std::vector<ReadRecord>> seen(kReaders);
  std::vector<std::string> reader_errors(kReaders);
  std::vector<std::thread> threads;
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      int64_t next = 0;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (next < total) {
        if (!p->WaitForData(Offset(next), deadline)) {
          reader_errors[r] = "timed out at offset " + std::to_string(next);
          return;
        }
        auto res = p->Read(Offset(next), 700);
        if (!res.ok()) {
          reader_errors[r] = res.status().ToString();
          return;
        }
        std::vector<ReadRecord> recs;
        Status s = DecodeBatches(res->data, &recs);  // fails on a partial or damaged batch
        if (!s.ok()) {
          reader_errors[r] = s.ToString();
          return;
        }
        for (ReadRecord& rec : recs) {
          if (rec.offset >= res->high_watermark.value()) {
            reader_errors[r] = "saw offset " + std::to_string(rec.offset) + " at/above the HW";
            return;
          }
          if (rec.offset < next) continue;  // the first batch may start before `next`
          if (rec.offset != next) {
            reader_errors[r] = "skipped from " + std::to_string(next);
            return;
          }
          seen[r].push_back(std::move(rec));
          ++next;
        }
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kBatches; ++i) {
        std::vector<std::string> values;
        for (int k = 0; k < i % 3 + 1; ++k) {
          values.push_back("w" + std::to_string(w) + "-" + std::to_string(i) + "-" +
                           std::to_string(k));
        }
        auto res = p->Append(testing::MakeBatch(values), i % 10 == 0 ? Acks::kAll : Acks::kLeader);
        ASSERT_TRUE(res.ok()) << res.status();
        ASSERT_EQ(res->last_offset - res->base_offset, static_cast<int64_t>(values.size()) - 1);
        for (size_t k = 0; k < values.size(); ++k) {
          acked[w][res->base_offset.value() + static_cast<int64_t>(k)] = values[k];
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_GT(p->Stats().segments, 20);
  auto all = ReadAll(*p);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(static_cast<int64_t>(all->size()), total);
  std::map<int64_t, std::string> by_offset;
  for (const auto& w : acked) {
    for (const auto& [o, v] : w) ASSERT_TRUE(by_offset.emplace(o, v).second) << "offset " << o;
  }
  ASSERT_EQ(static_cast<int64_t>(by_offset.size()), total);  // unique and, with the size, dense
  for (const ReadRecord& rec : *all) ASSERT_EQ(rec.value, by_offset[rec.offset]);
  for (int r = 0; r < kReaders; ++r) {
    EXPECT_EQ(reader_errors[r], "") << "reader " << r;
    EXPECT_EQ(seen[r], *all) << "reader " << r;
  }
}

// G2: readers near the log start while rolls and retention delete segments under them get data
// or a clean out-of-range error, never garbage; deleted segments leave no open descriptors.
TEST_F(StorageConcurrencyTest, ReadsRacingRollsAndRetentionGetDataOrOutOfRange) {
  config_.segment_bytes = 1024;
  config_.retention_bytes = 3000;
  const int fds_before = OpenFds();
  {
    auto p = Open();
    auto follower = Open(/*read_only=*/true);  // like a reader in another process
    std::atomic<bool> done{false};
    std::atomic<int64_t> ok_reads{0}, out_of_range{0};
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        ASSERT_TRUE(p->Append(testing::MakeBatch({"v" + std::to_string(i)}), Acks::kLeader).ok());
      }
      done = true;
    });
    threads.emplace_back([&] {
      while (!done) {
        auto n = p->ApplyRetention(Now());
        ASSERT_TRUE(n.ok()) << n.status();
      }
    });
    for (int r = 0; r < 4; ++r) {
      threads.emplace_back([&, r] {
        const Partition& reader = r == 3 ? *follower : *p;
        std::mt19937 rng(r);
        int64_t stale = 0;  // a log start seen a while ago: retention may have passed it
        for (int i = 0; !done; ++i) {
          int64_t start = reader.log_start_offset().value();
          int64_t at = i % 2 == 0 ? start + rng() % 8 : stale;
          if (i % 64 == 0) stale = start;
          auto res = reader.Read(Offset(at), 300);
          if (!res.ok()) {
            if (res.status().code() == StatusCode::kOutOfRange) {
              ++out_of_range;
              continue;
            }
            errors[r] = res.status().ToString();
            return;
          }
          std::vector<ReadRecord> recs;
          Status s = DecodeBatches(res->data, &recs);
          if (!s.ok()) {
            errors[r] = s.ToString();
            return;
          }
          for (const ReadRecord& rec : recs) {
            if (rec.value != "v" + std::to_string(rec.offset)) {
              errors[r] = "offset " + std::to_string(rec.offset) + " holds " + rec.value;
              return;
            }
          }
          ++ok_reads;
        }
      });
    }
    for (auto& t : threads) t.join();
    for (int r = 0; r < 4; ++r) EXPECT_EQ(errors[r], "") << "reader " << r;
    EXPECT_GT(ok_reads.load(), 0);
    ASSERT_TRUE(p->ApplyRetention(Now()).ok());  // the writer may have outrun the last pass
    EXPECT_GT(p->log_start_offset(), Offset(2000));
    EXPECT_LE(p->Stats().bytes, 3000u + 1024u);
  }
  EXPECT_EQ(OpenFds(), fds_before) << "descriptors of deleted segments leaked";
}

// G2, pinned down: retention deletes a segment after a read-only follower listed the directory
// and before it opened that segment. The follower's next read gets data or out-of-range, never
// "file not found" (a race that CI once hit under load).
TEST_F(StorageConcurrencyTest, FollowerListingRacingRetentionRetriesInsteadOfFailing) {
  config_.segment_bytes = 1024;
  config_.retention_bytes = 3000;
  FaultInjectionFileSystem fs;
  PartitionOptions opts{.fs = &fs, .index_interval_bytes = 256};
  auto writer = Partition::Open(tmp_.Sub("p"), "t", PartitionId(0), config_, opts);
  ASSERT_TRUE(writer.ok()) << writer.status();
  Partition& p = **writer;
  auto append = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(p.Append(testing::MakeBatch({"v" + std::to_string(i)}), Acks::kLeader).ok());
    }
  };
  append(0, 100);
  opts.read_only = true;
  auto follower_or = Partition::Open(tmp_.Sub("p"), "t", PartitionId(0), config_, opts);
  ASSERT_TRUE(follower_or.ok()) << follower_or.status();
  Partition& follower = **follower_or;
  const Offset seen = follower.high_watermark();
  append(100, 400);  // many new segments the follower has not listed yet
  bool fired = false;
  fs.SetBeforeOpenReadableHook([&](const std::string& path) {
    if (fired || !path.ends_with(".log")) return;
    fired = true;
    // The follower is about to open the first new segment: retention removes it first.
    auto n = p.ApplyRetention(Timestamp(0));
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_GT(*n, 0);
  });
  auto res = follower.Read(seen, 300);
  fs.SetBeforeOpenReadableHook(nullptr);
  ASSERT_TRUE(fired) << "the follower never opened a new segment: the test lost its race";
  ASSERT_TRUE(res.ok() || res.status().code() == StatusCode::kOutOfRange) << res.status();
  EXPECT_EQ(follower.log_start_offset(), p.log_start_offset());
  EXPECT_EQ(follower.high_watermark(), p.high_watermark());
  auto from_start = follower.Read(follower.log_start_offset(), 300);
  ASSERT_TRUE(from_start.ok()) << from_start.status();
  std::vector<ReadRecord> recs;
  ASSERT_TRUE(DecodeBatches(from_start->data, &recs).ok());
  ASSERT_FALSE(recs.empty());
  for (const ReadRecord& rec : recs) EXPECT_EQ(rec.value, "v" + std::to_string(rec.offset));
}

}  // namespace
}  // namespace sluice
