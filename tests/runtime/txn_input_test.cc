// A job's input partition that ends in a transaction marker (a control batch, which takes an
// offset but holds no record): an until_end run reaches the end offset and finishes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/log.h"
#include "core/record_batch.h"
#include "examples/word_count.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

using testing::ReadTopic;

TEST(TxnInputTest, UntilEndRunFinishesWhenEveryPartitionEndsWithAMarker) {
  testing::TempDir dir;
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "lines", 2);
  testing::CreateTopicOrDie(log.get(), "counts", 1);
  for (int32_t p = 0; p < 2; ++p) {
    Partition* part = log->GetPartition("lines", PartitionId(p)).value();
    RecordBatchBuilder b;
    b.Add(Timestamp(1), std::nullopt, "a b");
    b.Add(Timestamp(2), std::nullopt, "a");
    b.SetProducer(100 + p, 0, 0);
    b.SetTransactional();
    ASSERT_TRUE(part->Append(b.Finish(), Acks::kLeader).ok());
    ASSERT_TRUE(part->AppendTxnMarker(100 + p, 0, /*commit=*/true, Acks::kLeader).ok());
    ASSERT_EQ(part->high_watermark(), Offset(3));  // the marker is the last offset
  }
  for (int batch_records : {1, 300}) {  // the marker alone in a read, and behind the records
    TopologyBuilder b;
    examples::AddWordCount(b, {.input = "lines", .output = "counts"});
    auto topology = b.Build();
    ASSERT_TRUE(topology.ok()) << topology.status();
    JobOptions o;
    o.application_id = fmt::format("wc-{}", batch_records);
    o.log = log.get();
    o.state_dir = dir.path() + "/state-" + std::to_string(batch_records);
    o.until_end = true;
    o.commit_interval = std::chrono::milliseconds(20);
    o.batch_records = batch_records;
    auto job = Job::Start(o, std::move(topology).value());
    ASSERT_TRUE(job.ok()) << job.status();
    Status s = (*job)->Wait();  // returns only once every input reached its end
    ASSERT_TRUE(s.ok()) << s;
    // The committed positions are past the markers.
    auto group = log->offsets().Fetch(o.application_id);
    ASSERT_TRUE(group.ok()) << group.status();
    for (int32_t p = 0; p < 2; ++p) {
      auto it = group->find({"lines", PartitionId(p)});
      ASSERT_NE(it, group->end());
      EXPECT_EQ(it->second.offset, Offset(3)) << "partition " << p;
    }
  }
  std::map<std::string, std::string> last;
  for (const auto& part : ReadTopic(log.get(), "counts")) {
    for (const auto& kv : part) last[kv.key] = kv.value;
  }
  EXPECT_EQ(last["a"], "4");
  EXPECT_EQ(last["b"], "2");
}

}  // namespace
}  // namespace sluice
