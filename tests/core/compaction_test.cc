// Log compaction (core/README.md "Compaction"): a property test of the cleaner against a model
// (random keys, values, tombstones, transactions, cleanings, reopens and crashes at random), and
// a power-loss sweep that cuts a cleaning at every one of its file operations.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/batch_cursor.h"
#include "core/log.h"
#include "core/partition.h"
#include "core/record_batch.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

#ifndef SLUICE_COMPACT_CHILD
#error "SLUICE_COMPACT_CHILD must name the compact_child binary"
#endif

namespace sluice {
namespace {

using testing::FaultInjectionFileSystem;

// A record as the log returns it.
struct LogRecord {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  bool control = false;
};

// A record as the test wrote it.
struct ModelRecord {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp;
  bool control = false;
  enum State { kPlain, kOpen, kCommitted, kAborted } state = kPlain;
};

// Reads [from, HW) batch by batch, checking every CRC and that offsets strictly increase.
Result<std::vector<LogRecord>> ReadLog(const Partition& p, int64_t from) {
  std::vector<LogRecord> out;
  int64_t next = from;
  const int64_t hw = p.high_watermark().value();
  int64_t last = -1;
  while (next < hw) {
    SLUICE_ASSIGN_OR_RETURN(ReadResult r, p.Read(Offset(next), 4096));
    if (r.data.empty()) return Internal("read at {} below the HW {} returned nothing", next, hw);
    BatchCursor cursor(r.data);
    RecordBatchView b;
    while (cursor.Next(&b)) {
      if (!b.CrcMatches()) return Corruption("CRC mismatch at {}", b.base_offset());
      if (b.last_offset().value() < next) continue;
      Status st = b.ForEachRecord([&](const RecordView& rec) {
        if (rec.offset.value() < next) return;
        if (rec.offset.value() <= last) {
          out.push_back({-1, std::nullopt, std::nullopt, false});  // flagged below
          return;
        }
        last = rec.offset.value();
        out.push_back(
            {rec.offset.value(), rec.has_key ? std::optional<std::string>(rec.key) : std::nullopt,
             rec.has_value ? std::optional<std::string>(rec.value) : std::nullopt, b.is_control()});
      });
      SLUICE_RETURN_IF_ERROR(st);
      if (!out.empty() && out.back().offset == -1) {
        return Corruption("offsets do not strictly increase after {}", last);
      }
      next = b.last_offset().value() + 1;
    }
  }
  return out;
}

class CompactionTest : public ::testing::Test {
 protected:
  CompactionTest() {
    config_.segment_bytes = 1024;
    config_.cleanup_policy = CleanupPolicy::kCompact;
    config_.delete_retention_ms = 5000;
    config_.min_cleanable_dirty_ratio = 0.3;
  }

  Result<std::unique_ptr<Partition>> Open(FileSystem* fs = nullptr) {
    PartitionOptions o;
    o.fs = fs;
    o.index_interval_bytes = 256;
    return Partition::Open(dir_, "t", PartitionId(0), config_, o);
  }

  // Appends one batch of `records` (keys and values as given) stamped `ts`.
  void AppendPlain(
      Partition* p,
      const std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>>& records,
      int64_t ts, ModelRecord::State state = ModelRecord::kPlain) {
    RecordBatchBuilder b;
    for (const auto& [k, v] : records) {
      b.Add(Timestamp(ts), k ? std::optional<std::string_view>(*k) : std::nullopt,
            v ? std::optional<std::string_view>(*v) : std::nullopt);
    }
    if (state == ModelRecord::kOpen) {
      b.SetProducer(kPid, 0, txn_sequence_);
      b.SetTransactional();
      txn_sequence_ += static_cast<int32_t>(records.size());
    }
    auto r = p->Append(b.Finish(), Acks::kLeader);
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < records.size(); ++i) {
      model_.push_back({r->base_offset.value() + static_cast<int64_t>(i), records[i].first,
                        records[i].second, ts, false, state});
    }
  }

  void EndTxn(Partition* p, bool commit, int64_t ts) {
    auto r = p->AppendTxnMarker(kPid, 0, commit, Acks::kLeader);
    ASSERT_TRUE(r.ok()) << r.status();
    for (ModelRecord& m : model_) {
      if (m.state == ModelRecord::kOpen) {
        m.state = commit ? ModelRecord::kCommitted : ModelRecord::kAborted;
      }
    }
    model_.push_back({r->base_offset.value(), std::nullopt, std::nullopt, ts, true});
  }

  // The log against the model: nothing invented or moved, the latest record of every key kept
  // (a tombstone only dropped once expired), reads from any offset start at the next record.
  void Verify(const Partition& p, const std::string& when) {
    SCOPED_TRACE(when);
    auto log = ReadLog(p, p.log_start_offset().value());
    ASSERT_TRUE(log.ok()) << log.status();
    std::map<int64_t, const ModelRecord*> by_offset;
    for (const ModelRecord& m : model_) by_offset[m.offset] = &m;
    std::map<std::string, const LogRecord*> log_latest;
    for (const LogRecord& r : *log) {
      auto it = by_offset.find(r.offset);
      ASSERT_NE(it, by_offset.end())
          << "the log has a record at " << r.offset << " that was never written";
      const ModelRecord& m = *it->second;
      ASSERT_EQ(r.control, m.control) << "at " << r.offset;
      if (m.control) continue;
      ASSERT_EQ(r.key, m.key) << "at " << r.offset;
      ASSERT_EQ(r.value, m.value) << "at " << r.offset;
      if (r.key && m.state != ModelRecord::kAborted) log_latest[*r.key] = &r;
    }
    std::map<std::string, const ModelRecord*> model_latest;
    for (const ModelRecord& m : model_) {
      if (!m.control && m.key && m.state != ModelRecord::kAborted) model_latest[*m.key] = &m;
    }
    for (const auto& [key, m] : model_latest) {
      auto it = log_latest.find(key);
      if (m->value) {
        ASSERT_NE(it, log_latest.end())
            << "key " << key << " lost its latest value at " << m->offset;
        ASSERT_EQ(it->second->offset, m->offset) << "key " << key;
      } else if (it == log_latest.end()) {
        ASSERT_LT(m->timestamp, last_clean_now_ - config_.delete_retention_ms)
            << "the tombstone of key " << key << " at " << m->offset
            << " went before delete.retention.ms";
      } else {
        ASSERT_EQ(it->second->offset, m->offset) << "key " << key;
      }
    }
    // Reads from offsets inside gaps return the next surviving record.
    std::mt19937_64 rng(p.high_watermark().value());
    const int64_t start = p.log_start_offset().value(), hw = p.high_watermark().value();
    for (int i = 0; i < 10 && hw > start; ++i) {
      int64_t at = start + static_cast<int64_t>(rng() % static_cast<uint64_t>(hw - start));
      auto from = ReadLog(p, at);
      ASSERT_TRUE(from.ok()) << from.status();
      auto expect = std::lower_bound(log->begin(), log->end(), at,
                                     [](const LogRecord& r, int64_t o) { return r.offset < o; });
      ASSERT_EQ(from->size(), static_cast<size_t>(log->end() - expect)) << "read from " << at;
      if (!from->empty()) ASSERT_EQ(from->front().offset, expect->offset) << "read from " << at;
    }
  }

  static constexpr int64_t kPid = 77;
  testing::TempDir tmp_;
  std::string dir_ = tmp_.Sub("p");
  TopicConfig config_;
  std::vector<ModelRecord> model_;
  int32_t txn_sequence_ = 0;
  int64_t last_clean_now_ = 0;
};

// Random appends (keys from a small pool, tombstones, keyless records, transactions committed
// and aborted), cleanings at random (forced or by dirty ratio), clean reopens and crashes; the
// log is checked against the model after every cleaning and reopen.
TEST_F(CompactionTest, PropertyAgainstAModel) {
  const char* env = std::getenv("SLUICE_COMPACTION_SEED");
  const uint64_t first_seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 1;
  const int seeds = env != nullptr ? 1 : 4;
  for (uint64_t seed = first_seed; seed < first_seed + seeds; ++seed) {
    SCOPED_TRACE(::testing::Message() << "SLUICE_COMPACTION_SEED=" << seed);
    std::filesystem::remove_all(dir_);
    model_.clear();
    txn_sequence_ = 0;
    last_clean_now_ = 0;
    std::mt19937_64 rng(seed);
    FaultInjectionFileSystem fs;
    auto opened = Open(&fs);
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<Partition> p = std::move(opened).value();
    // Record time runs ahead of the wall clock (markers are stamped with the wall clock).
    int64_t clock = Now().value();
    bool txn_open = false;
    int cleanings = 0;
    for (int op = 0; op < 300; ++op) {
      clock += 100;
      int dice = static_cast<int>(rng() % 100);
      if (dice < 65) {
        std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> recs;
        int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) {
          std::optional<std::string> key;
          if (rng() % 20 != 0) key = "k" + std::to_string(rng() % 12);
          std::optional<std::string> value;
          if (rng() % 6 != 0) value = "v" + std::to_string(op) + "-" + std::to_string(i);
          recs.emplace_back(key, value);
        }
        bool in_txn = txn_open && rng() % 2 == 0;
        ASSERT_NO_FATAL_FAILURE(
            AppendPlain(p.get(), recs, clock, in_txn ? ModelRecord::kOpen : ModelRecord::kPlain));
      } else if (dice < 75) {
        if (!txn_open) {
          ASSERT_NO_FATAL_FAILURE(
              AppendPlain(p.get(), {{"k" + std::to_string(rng() % 12), "t" + std::to_string(op)}},
                          clock, ModelRecord::kOpen));
          txn_open = true;
        } else {
          ASSERT_NO_FATAL_FAILURE(EndTxn(p.get(), rng() % 2 == 0, clock));
          txn_open = false;
        }
      } else if (dice < 90) {
        bool force = rng() % 2 == 0;
        auto r = p->Compact({.now = Timestamp(clock), .force = force});
        ASSERT_TRUE(r.ok()) << r.status();
        if (r->cleaned) {
          ++cleanings;
          last_clean_now_ = clock;
        }
        ASSERT_NO_FATAL_FAILURE(Verify(*p, "after cleaning at op " + std::to_string(op)));
      } else if (dice < 95) {
        if (rng() % 2 == 0) {
          ASSERT_TRUE(p->Close().ok());
        } else {
          testing::CrashPartition(&p, &fs);  // kill -9: no checkpoint, no clean marker
        }
        p.reset();
        opened = Open(&fs);
        ASSERT_TRUE(opened.ok()) << opened.status();
        p = std::move(opened).value();
        ASSERT_NO_FATAL_FAILURE(Verify(*p, "after reopening at op " + std::to_string(op)));
      }
    }
    if (txn_open) ASSERT_NO_FATAL_FAILURE(EndTxn(p.get(), true, clock));
    clock += 100'000;  // every tombstone expired
    auto r = p->Compact({.now = Timestamp(clock), .force = true});
    ASSERT_TRUE(r.ok()) << r.status();
    last_clean_now_ = clock;
    ASSERT_NO_FATAL_FAILURE(Verify(*p, "after the last cleaning"));
    EXPECT_GT(cleanings, 3);
    // The cleaning did shrink the log: far fewer records than were written survive.
    auto log = ReadLog(*p, p->log_start_offset().value());
    ASSERT_TRUE(log.ok());
    EXPECT_LT(log->size() * 3, model_.size()) << "the cleaner kept too much";
  }
}

// A transaction still open holds back everything from its first batch on.
TEST_F(CompactionTest, NothingAtOrAboveAnOpenTransactionIsCleaned) {
  auto opened = Open();
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Partition> p = std::move(opened).value();
  std::string big(200, 'x');
  for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(AppendPlain(p.get(), {{"a", big}}, 1000));
  ASSERT_NO_FATAL_FAILURE(AppendPlain(p.get(), {{"a", "in-txn"}}, 1000, ModelRecord::kOpen));
  const int64_t txn_offset = model_.back().offset;
  for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(AppendPlain(p.get(), {{"a", big}}, 1000));
  auto r = p->Compact({.now = Timestamp(Now().value() + 1000), .force = true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->cleaned);
  auto log = ReadLog(*p, 0);
  ASSERT_TRUE(log.ok());
  // Below the transaction only the latest "a" survives; from it on, everything.
  int64_t below = 0, above = 0;
  for (const LogRecord& rec : *log) (rec.offset < txn_offset ? below : above) += 1;
  EXPECT_LT(below, 5);  // the segment holding the transaction's start keeps its records
  EXPECT_EQ(above, 11);
}

// A power cut at every file operation of a cleaning: reopening leaves the old or the new
// segments, never a mix that loses or repeats a record, and a second cleaning finishes the job.
TEST_F(CompactionTest, PowerLossAtEveryStepOfACleaning) {
  {
    auto opened = Open();
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<Partition> p = std::move(opened).value();
    std::mt19937_64 rng(7);
    for (int i = 0; i < 40; ++i) {
      std::optional<std::string> value;
      if (i % 9 != 0) value = std::string(40, 'a' + i % 26) + std::to_string(i);
      ASSERT_NO_FATAL_FAILURE(
          AppendPlain(p.get(), {{"k" + std::to_string(rng() % 15), value}}, 1000 + i));
    }
    ASSERT_TRUE(p->Close().ok());
  }
  // Cleaned with larger segments, so that each cleaning merges several into one.
  config_.segment_bytes = 4096;
  const std::string pristine = tmp_.Sub("pristine");
  testing::CopyDir(dir_, pristine);
  auto reset = [&] {
    std::filesystem::remove_all(dir_);
    testing::CopyDir(pristine, dir_);
  };
  // A clean run counts the operations.
  int64_t ops = 0;
  last_clean_now_ = 10'000'000;
  {
    FaultInjectionFileSystem fs;
    auto opened = Open(&fs);
    ASSERT_TRUE(opened.ok());
    fs.ClearFaults();
    auto before = fs.op_count();
    auto r = (*opened)->Compact({.now = Timestamp(10'000'000), .force = true});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_GE(r->segments_in, 3);
    ops = fs.op_count() - before;
    ASSERT_NO_FATAL_FAILURE(Verify(**opened, "clean run"));
  }
  ASSERT_GT(ops, 5);
  last_clean_now_ = 10'000'000;
  for (int64_t n = 1; n <= ops; ++n) {
    SCOPED_TRACE(::testing::Message() << "power cut at operation " << n << " of " << ops);
    reset();
    FaultInjectionFileSystem fs;
    auto opened = Open(&fs);
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<Partition> p = std::move(opened).value();
    fs.FailNth(n, {.persistent = true});
    // Fails from operation n on; the cleaning stops there.
    p->Compact({.now = Timestamp(10'000'000), .force = true}).status().IgnoreError();
    fs.Freeze();
    p.reset();
    ASSERT_TRUE(fs.DropUnsyncedData().ok());
    fs.Unfreeze();
    fs.ClearFaults();
    opened = Open(&fs);
    ASSERT_TRUE(opened.ok()) << opened.status();
    p = std::move(opened).value();
    ASSERT_NO_FATAL_FAILURE(Verify(*p, "reopened"));
    auto r = p->Compact({.now = Timestamp(10'000'000), .force = true});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_NO_FATAL_FAILURE(Verify(*p, "cleaned again"));
    ASSERT_TRUE(p->Close().ok());
    opened = Open(&fs);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ASSERT_NO_FATAL_FAILURE(Verify(**opened, "reopened after the second cleaning"));
  }
}

// Runs compact_child on `dir` for `run_for`, then SIGKILLs it; returns what it printed.
std::string RunChildAndKill(const std::string& dir, const std::string& tag, uint64_t seed,
                            std::chrono::milliseconds run_for) {
  testing::KilledChild c =
      testing::RunAndKill({SLUICE_COMPACT_CHILD, dir, tag, std::to_string(seed)}, run_for);
  EXPECT_TRUE(c.killed_by_sigkill) << "the child exited by itself with status " << c.status;
  return c.out;
}

// kill -9 of a real process that appends and cleans in a loop, at random moments, twenty times
// over the same partition (sixteen times): after each kill the reopened log holds, for every key,
// its latest acknowledged record (or a later one), every record is one that was written at its
// offset, and offsets strictly increase (no record twice).
TEST_F(CompactionTest, KillNineDuringCleaningLosesNothingCompactionKeeps) {
  const char* env = std::getenv("SLUICE_CRASH_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 42;
  SCOPED_TRACE(::testing::Message() << "SLUICE_CRASH_SEED=" << seed);
  std::mt19937_64 rng(seed);
  config_.segment_bytes = 1024;
  config_.delete_retention_ms = int64_t{1} << 50;
  struct Written {
    std::string key;
    std::string value;
  };
  std::map<int64_t, Written> ledger;
  int caught_mid_cleaning = 0;
  constexpr int kRounds = 16;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    std::string out =
        RunChildAndKill(dir_, "r" + std::to_string(round), rng(),
                        std::chrono::milliseconds(100 + static_cast<int64_t>(rng() % 500)));
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream f(line);
      int64_t offset = 0;
      Written w;
      if (!(f >> offset >> w.key >> w.value)) continue;  // the kill cut the last line
      auto [it, fresh] = ledger.emplace(offset, w);
      ASSERT_TRUE(fresh) << "offset " << offset << " acknowledged twice";
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::string name = entry.path().filename().string();
      if (name.ends_with(".cleaned") || name.ends_with(".swap")) {
        ++caught_mid_cleaning;
        break;
      }
    }
    auto opened = Open();
    ASSERT_TRUE(opened.ok()) << opened.status();
    auto log = ReadLog(**opened, (*opened)->log_start_offset().value());
    ASSERT_TRUE(log.ok()) << log.status();
    const int64_t acked_end = ledger.empty() ? 0 : ledger.rbegin()->first + 1;
    std::map<std::string, int64_t> log_latest;
    for (const LogRecord& r : *log) {
      ASSERT_TRUE(r.key.has_value()) << "at " << r.offset;
      auto it = ledger.find(r.offset);
      if (it == ledger.end()) {
        // Only the batch the kill cut before its acknowledgement was printed.
        ASSERT_GE(r.offset, acked_end) << "record at " << r.offset << " was never written";
        continue;
      }
      ASSERT_EQ(*r.key, it->second.key) << "at " << r.offset;
      ASSERT_EQ(r.value.value_or("-null-"), it->second.value) << "at " << r.offset;
      log_latest[*r.key] = r.offset;
    }
    std::map<std::string, int64_t> acked_latest;
    for (const auto& [offset, w] : ledger) acked_latest[w.key] = offset;
    for (const auto& [key, offset] : acked_latest) {
      auto it = log_latest.find(key);
      ASSERT_TRUE(it != log_latest.end() && it->second >= offset)
          << "key " << key << " lost its latest acknowledged record at " << offset;
    }
    opened->reset();
  }
  ASSERT_GT(ledger.size(), 100u);
  std::printf("%d of %d kills caught a cleaning between its output and its swap\n",
              caught_mid_cleaning, kRounds);
}

// The config table: Kafka's names in, topic.conf round trip, errors that say what a key takes.
TEST(CompactionConfigTest, KafkaNamesRoundTripThroughTopicConf) {
  TopicConfig c;
  EXPECT_EQ(c.Serialize().find("cleanup_policy"), std::string::npos)
      << "defaults keep the topic.conf older readers understand";
  ASSERT_TRUE(c.Set("cleanup.policy", "compact,delete").ok());
  ASSERT_TRUE(c.Set("delete.retention.ms", "1000").ok());
  ASSERT_TRUE(c.Set("min.cleanable.dirty.ratio", "0.25").ok());
  ASSERT_TRUE(c.Set("min.compaction.lag.ms", "7").ok());
  ASSERT_TRUE(c.Set("segment.bytes", "4096").ok());
  ASSERT_TRUE(c.Validate().ok());
  auto back = TopicConfig::Parse(c.Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->KafkaConfigs(), c.KafkaConfigs());
  EXPECT_TRUE(back->compacted() && back->deletes());
  EXPECT_EQ(back->min_cleanable_dirty_ratio, 0.25);
  Status bad = c.Set("cleanup.policy", "shred");
  EXPECT_NE(bad.message().find("delete, compact or compact,delete"), std::string::npos);
  bad = c.Set("min.insync.replicas", "2");
  EXPECT_NE(bad.message().find("supported: cleanup.policy"), std::string::npos);
  ASSERT_TRUE(c.Set("min.cleanable.dirty.ratio", "1.5").ok());
  EXPECT_FALSE(c.Validate().ok());
}

// The Log's background thread cleans a compacted topic once its dirty ratio is reached.
TEST(CompactionLogTest, TheBackgroundCleanerCompactsADirtyTopic) {
  testing::TempDir tmp;
  LogOptions o;
  o.data_dir = tmp.path();
  o.retention_check_interval = std::chrono::milliseconds(20);
  o.info_log = [](const std::string&) {};
  auto log = Log::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  TopicConfig c;
  c.segment_bytes = 1024;
  c.cleanup_policy = CleanupPolicy::kCompact;
  c.min_cleanable_dirty_ratio = 0.5;
  ASSERT_TRUE((*log)->CreateTopic("changelog", c).ok());
  auto p = (*log)->GetPartition("changelog", PartitionId(0));
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 200; ++i) {
    RecordBatchBuilder b;
    std::string key = "k" + std::to_string(i % 4), value = "value-" + std::to_string(i);
    b.Add(Timestamp(1000 + i), std::string_view(key), std::string_view(value));
    ASSERT_TRUE((*p)->Append(b.Finish(), Acks::kLeader).ok());
  }
  const uint64_t written = (*p)->Stats().bytes;
  // Bounded wait for the background thread (no timing is asserted: it only has to happen).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*p)->Stats().bytes * 2 > written && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_LT((*p)->Stats().bytes * 2, written) << "the background cleaner did not clean";
  auto all = ReadLog(**p, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  std::map<std::string, std::string> latest;
  for (const LogRecord& r : *all) latest[*r.key] = *r.value;
  EXPECT_EQ(
      latest,
      (std::map<std::string, std::string>{
          {"k0", "value-196"}, {"k1", "value-197"}, {"k2", "value-198"}, {"k3", "value-199"}}));
  ASSERT_TRUE((*log)->Close().ok());
}

TEST_F(CompactionTest, ATopicWithDeletePolicyIsNotCompacted) {
  config_.cleanup_policy = CleanupPolicy::kDelete;
  auto opened = Open();
  ASSERT_TRUE(opened.ok());
  auto r = (*opened)->Compact({.now = Timestamp(1), .force = true});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("cleanup.policy=delete"), std::string::npos);
}

}  // namespace
}  // namespace sluice
