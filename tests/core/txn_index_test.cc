// The partition's transaction index (core/txn_index.h): the last stable offset, the aborted
// transactions, their survival of kill -9, a torn marker and retention, and read_committed in
// PartitionReader and Consumer.
#include "core/txn_index.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/consumer.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "core/partition.h"
#include "core/partition_reader.h"
#include "core/record_batch.h"
#include "core/varint.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using testing::CrashPartition;
using testing::FaultInjectionFileSystem;
using testing::TempDir;

// A batch of `values`; transactional for producer `pid` >= 0, plain otherwise.
std::string Batch(int64_t pid, int32_t seq, std::vector<std::string> values) {
  RecordBatchBuilder b;
  for (const std::string& v : values) b.Add(Timestamp(1000), std::nullopt, v);
  if (pid >= 0) {
    b.SetProducer(pid, 0, seq);
    b.SetTransactional();
  }
  return b.Finish();
}

std::vector<std::string> ReadValues(const Partition* p, Isolation isolation, Offset from = {}) {
  PartitionReader reader(p, from, PartitionReader::kDefaultReadBytes, isolation);
  std::vector<std::string> out;
  RecordView rec;
  while (true) {
    auto got = reader.Next(&rec);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || !*got) return out;
    out.emplace_back(rec.value);
  }
}

class TxnIndexTest : public ::testing::Test {
 protected:
  std::unique_ptr<Partition> Open(FileSystem* fs, TopicConfig config = {}) {
    PartitionOptions o{.fs = fs};
    auto p = Partition::Open(dir_.path(), "t", PartitionId(0), config, o);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(p).value() : nullptr;
  }
  void Append(Partition* p, const std::string& batch) {
    auto r = p->Append(batch, Acks::kLeader);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  void Marker(Partition* p, int64_t pid, bool commit, Acks acks = Acks::kLeader) {
    auto r = p->AppendTxnMarker(pid, 0, commit, acks);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Producer 1 aborts a transaction at 1-2 (marker 4), producer 2 commits one at 3 (marker 5),
  // plain records at 0 and 6, and producer 3's transaction is open from offset 7.
  void WriteHistory(Partition* p) {
    Append(p, Batch(-1, 0, {"plain0"}));
    Append(p, Batch(1, 0, {"aborted1", "aborted2"}));
    Append(p, Batch(2, 0, {"committed3"}));
    Marker(p, 1, /*commit=*/false);
    Marker(p, 2, /*commit=*/true);
    Append(p, Batch(-1, 0, {"plain6"}));
    Append(p, Batch(3, 0, {"open7"}));
    Append(p, Batch(-1, 0, {"plain8"}));
  }
  void ExpectHistory(const Partition& p) {
    EXPECT_EQ(p.high_watermark(), Offset(9));
    EXPECT_EQ(p.last_stable_offset(), Offset(7));
    EXPECT_EQ(p.AbortedTransactions(Offset(0), Offset(9)),
              (std::vector<AbortedTxn>{{1, Offset(1), Offset(4)}}));
    EXPECT_EQ(ReadValues(&p, Isolation::kReadCommitted),
              (std::vector<std::string>{"plain0", "committed3", "plain6"}));
  }

  TempDir dir_{/*in_memory=*/true};
};

TEST(TxnIndexUnitTest, FollowsTransactionsAndListsTheAbortedOnesOfARange) {
  TxnIndex index;
  auto view = [](const std::string& bytes) { return RecordBatchView::Parse(bytes).value(); };
  std::string a = Batch(5, 0, {"x"}), b = Batch(6, 0, {"y"});
  SetBaseOffset(a.data(), Offset(10));
  SetBaseOffset(b.data(), Offset(11));
  index.Update(view(a));
  index.Update(view(b));
  index.Update(view(Batch(-1, 0, {"plain"})));  // not transactional: ignored
  EXPECT_EQ(index.FirstUnstableOffset(), Offset(10));
  std::string abort5 = BuildTxnMarker(5, 0, false, 0, Timestamp(1));
  SetBaseOffset(abort5.data(), Offset(12));
  index.Update(view(abort5));
  EXPECT_EQ(index.FirstUnstableOffset(), Offset(11));
  std::string commit7 = BuildTxnMarker(7, 0, true, 0, Timestamp(1));  // nothing of 7 here
  index.Update(view(commit7));
  std::string commit6 = BuildTxnMarker(6, 0, true, 0, Timestamp(1));
  SetBaseOffset(commit6.data(), Offset(13));
  index.Update(view(commit6));
  EXPECT_FALSE(index.FirstUnstableOffset().has_value());
  const std::vector<AbortedTxn> five{{5, Offset(10), Offset(12)}};
  EXPECT_EQ(index.AbortedIn(Offset(0), Offset(11)), five);
  EXPECT_EQ(index.AbortedIn(Offset(12), Offset(20)), five);  // began before the range
  EXPECT_TRUE(index.AbortedIn(Offset(13), Offset(20)).empty());
  EXPECT_TRUE(index.AbortedIn(Offset(0), Offset(10)).empty());

  std::string snapshot;
  index.EncodeTo(&snapshot);
  std::string_view in = snapshot;
  auto back = TxnIndex::DecodeFrom(&in);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(back->AbortedIn(Offset(0), Offset(20)), five);
  std::string_view cut = std::string_view(snapshot).substr(0, snapshot.size() - 1);
  EXPECT_EQ(TxnIndex::DecodeFrom(&cut).status().code(), StatusCode::kCorruption);

  index.DropBefore(Offset(13));
  EXPECT_TRUE(index.AbortedIn(Offset(0), Offset(20)).empty());
}

TEST_F(TxnIndexTest, LastStableOffsetStopsAtTheOldestOpenTransaction) {
  FaultInjectionFileSystem fs;
  auto p = Open(&fs);
  ASSERT_NE(p, nullptr);
  Append(p.get(), Batch(-1, 0, {"a"}));
  EXPECT_EQ(p->last_stable_offset(), Offset(1));  // no transaction: the high watermark
  Append(p.get(), Batch(1, 0, {"t1"}));
  Append(p.get(), Batch(-1, 0, {"b"}));
  Append(p.get(), Batch(2, 0, {"t2"}));
  EXPECT_EQ(p->last_stable_offset(), Offset(1));
  EXPECT_EQ(ReadValues(p.get(), Isolation::kReadCommitted), std::vector<std::string>{"a"});
  EXPECT_EQ(ReadValues(p.get(), Isolation::kReadUncommitted),
            (std::vector<std::string>{"a", "t1", "b", "t2"}));
  Marker(p.get(), 1, /*commit=*/true);
  EXPECT_EQ(p->last_stable_offset(), Offset(3));  // producer 2's transaction is still open
  Marker(p.get(), 2, /*commit=*/false);
  EXPECT_EQ(p->last_stable_offset(), p->high_watermark());
  EXPECT_EQ(ReadValues(p.get(), Isolation::kReadCommitted),
            (std::vector<std::string>{"a", "t1", "b"}));
}

TEST_F(TxnIndexTest, SurvivesKillNineAndACleanRestart) {
  FaultInjectionFileSystem fs;
  TopicConfig small;
  small.segment_bytes = 200;  // rolls: part of the index comes from the checkpoint, part replayed
  auto p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  WriteHistory(p.get());
  ExpectHistory(*p);
  ASSERT_GT(p->Stats().segments, 2);
  CrashPartition(&p, &fs);
  p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->recovery_report().clean_shutdown);
  ExpectHistory(*p);
  ASSERT_TRUE(p->Close().ok());
  p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->recovery_report().clean_shutdown);
  ExpectHistory(*p);
  // The open transaction aborts after the restart, as the coordinator's recovery does.
  Marker(p.get(), 3, /*commit=*/false);
  EXPECT_EQ(p->last_stable_offset(), Offset(10));
  EXPECT_EQ(ReadValues(p.get(), Isolation::kReadCommitted),
            (std::vector<std::string>{"plain0", "committed3", "plain6", "plain8"}));
}

TEST_F(TxnIndexTest, ATornAbortMarkerLeavesTheTransactionOpen) {
  FaultInjectionFileSystem fs;
  auto p = Open(&fs);
  ASSERT_NE(p, nullptr);
  Append(p.get(), Batch(-1, 0, {"plain0"}));
  Append(p.get(), Batch(1, 0, {"t1", "t2"}));
  ASSERT_TRUE(p->Flush().ok());
  Marker(p.get(), 1, /*commit=*/false);
  EXPECT_EQ(p->last_stable_offset(), Offset(4));
  CrashPartition(&p, &fs);
  // The marker's write was cut short by the crash.
  const std::string log = dir_.Sub(testing::SegmentLogs(dir_.path()).back());
  std::filesystem::resize_file(log, std::filesystem::file_size(log) - 5);
  p = Open(&fs);
  ASSERT_NE(p, nullptr);
  EXPECT_GT(p->recovery_report().truncated_bytes, 0);
  EXPECT_EQ(p->high_watermark(), Offset(3));
  // Neither committed nor aborted: invisible to read_committed until its marker is written again.
  EXPECT_EQ(p->last_stable_offset(), Offset(1));
  EXPECT_TRUE(p->AbortedTransactions(Offset(0), Offset(3)).empty());
  EXPECT_EQ(ReadValues(p.get(), Isolation::kReadCommitted), std::vector<std::string>{"plain0"});
  Marker(p.get(), 1, /*commit=*/false);
  EXPECT_EQ(p->AbortedTransactions(Offset(0), Offset(4)),
            (std::vector<AbortedTxn>{{1, Offset(1), Offset(3)}}));
  EXPECT_EQ(ReadValues(p.get(), Isolation::kReadCommitted), std::vector<std::string>{"plain0"});
}

TEST_F(TxnIndexTest, AVersionOneCheckpointRebuildsTheIndexFromTheWholeLog) {
  FaultInjectionFileSystem fs;
  TopicConfig small;
  small.segment_bytes = 200;
  auto p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  WriteHistory(p.get());
  Marker(p.get(), 3, /*commit=*/false);  // nothing open: the snapshot is one aborted list
  ASSERT_TRUE(p->Close().ok());
  p.reset();
  // Rewrite recovery-point as the version before the index: version byte 1, no index section
  // (open count 0, aborted count 2 and two entries), a new CRC.
  const std::string path = dir_.Sub("recovery-point");
  std::string bytes = testing::ReadFileOrDie(path);
  std::string body = bytes.substr(0, bytes.size() - 4 - (4 + 4 + 2 * 24));
  body[4] = 1;
  char crc[4];
  varint::PutBE32(crc, crc32c::Value(body));
  testing::WriteFileOrDie(path, body + std::string(crc, 4));
  p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->recovery_report().notes.find("transaction index was rebuilt"), std::string::npos)
      << p->recovery_report().ToString();
  EXPECT_EQ(p->AbortedTransactions(Offset(0), Offset(10)),
            (std::vector<AbortedTxn>{{1, Offset(1), Offset(4)}, {3, Offset(7), Offset(9)}}));
  EXPECT_EQ(p->last_stable_offset(), Offset(10));
}

TEST_F(TxnIndexTest, RetentionDropsTheAbortedTransactionsItDeletes) {
  FaultInjectionFileSystem fs;
  TopicConfig small;
  small.segment_bytes = 200;
  auto p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  WriteHistory(p.get());
  auto deleted = p->DeleteSegmentsBefore(Offset(5));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_GT(*deleted, 0);
  ASSERT_GT(p->log_start_offset(), Offset(4));
  EXPECT_TRUE(p->AbortedTransactions(Offset(0), Offset(9)).empty());
  CrashPartition(&p, &fs);
  p = Open(&fs, small);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->AbortedTransactions(Offset(0), Offset(9)).empty());
  EXPECT_EQ(p->last_stable_offset(), Offset(7));  // the open transaction survives retention
}

TEST_F(TxnIndexTest, ReadCommittedReaderMovesOnWhenAMarkerMovesTheLastStableOffset) {
  FaultInjectionFileSystem fs;
  auto p = Open(&fs);
  ASSERT_NE(p, nullptr);
  Append(p.get(), Batch(-1, 0, {"a"}));
  Append(p.get(), Batch(1, 0, {"t"}));
  Append(p.get(), Batch(-1, 0, {"b"}));
  PartitionReader reader(p.get(), Offset(0), PartitionReader::kDefaultReadBytes,
                         Isolation::kReadCommitted);
  RecordView rec;
  auto got = reader.Next(&rec);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(rec.value, "a");
  got = reader.Next(&rec);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);  // stopped at the open transaction, with "t" and "b" read ahead
  EXPECT_EQ(reader.position(), Offset(1));
  Marker(p.get(), 1, /*commit=*/true);
  std::vector<std::string> rest;
  while ((got = reader.Next(&rec)).ok() && *got) rest.emplace_back(rec.value);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(rest, (std::vector<std::string>{"t", "b"}));
  EXPECT_EQ(reader.position(), Offset(4));  // past the marker, which never surfaced
}

TEST_F(TxnIndexTest, ReadCommittedConsumerSkipsAbortedRecordsAndEndsAtTheLastStableOffset) {
  LogOptions o;
  o.data_dir = dir_.Sub("data");
  auto log = Log::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->CreateTopic("t", {}).ok());
  Partition* p = (*log)->GetPartition("t", PartitionId(0)).value();
  WriteHistory(p);
  auto poll_all = [&](Isolation isolation) {
    auto c = Consumer::Create(log->get(), {.isolation = isolation});
    EXPECT_TRUE((*c)->Assign({{"t", PartitionId(0)}}).ok());
    std::vector<std::string> out;
    while (!(*c)->AtEnd()) {
      auto recs = (*c)->Poll(100ms);
      EXPECT_TRUE(recs.ok()) << recs.status();
      if (!recs.ok()) break;
      for (const auto& r : *recs) out.emplace_back(r.record.value);
    }
    EXPECT_TRUE((*c)->SeekToEnd({{"t", PartitionId(0)}}).ok());
    EXPECT_EQ(*(*c)->Position({"t", PartitionId(0)}),
              isolation == Isolation::kReadCommitted ? Offset(7) : Offset(9));
    return out;
  };
  EXPECT_EQ(poll_all(Isolation::kReadCommitted),
            (std::vector<std::string>{"plain0", "committed3", "plain6"}));
  EXPECT_EQ(poll_all(Isolation::kReadUncommitted),
            (std::vector<std::string>{"plain0", "aborted1", "aborted2", "committed3", "plain6",
                                      "open7", "plain8"}));
}

}  // namespace
}  // namespace sluice
