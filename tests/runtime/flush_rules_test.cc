// The flushed-through rules across runs (operators/README.md, "Event time rules", rule 2) for
// sessions, windowed joins, dedup and top-N: a bounded run's end emits everything as final, and a
// later run must treat as late what would change or repeat one of those results, even where the
// watermark alone would still accept it. Each test has a record of that kind (accepted without
// the rule) and one after the flushed bound that the next run handles as usual.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "core/log.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "core/varint.h"
#include "operators/dedup.h"
#include "operators/joins.h"
#include "operators/top_n.h"
#include "operators/topology_builder.h"
#include "operators/windows.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

using testing::ReadTopic;

class FlushRulesTest : public ::testing::Test {
 protected:
  void SetUp() override { log_ = testing::OpenLogOrDie(dir_.path() + "/data"); }

  // (key, value, timestamp) appended to one partition.
  using Rec = std::tuple<std::string, std::string, int64_t>;
  void Append(const std::string& topic, int32_t partition, const std::vector<Rec>& recs) {
    RecordBatchBuilder b;
    for (const auto& [k, v, ts] : recs) b.Add(Timestamp(ts), k, v);
    auto part = log_->GetPartition(topic, PartitionId(partition));
    ASSERT_TRUE(part.ok()) << part.status();
    ASSERT_TRUE((*part)->Append(b.Finish(), Acks::kAll).ok());
  }

  // Runs `add`'s topology to the end of its inputs (a bounded run) and returns its late count.
  template <typename Add>
  int64_t RunToEnd(Add add) {
    TopologyBuilder b;
    add(b);
    auto t = b.Build();
    EXPECT_TRUE(t.ok()) << t.status();
    JobOptions o;
    o.application_id = "flush";
    o.log = log_.get();
    o.state_dir = dir_.path() + "/state";
    o.until_end = true;
    o.commit_interval = std::chrono::milliseconds(20);
    auto job = Job::Start(o, std::move(t).value());
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return -1;
    Status s = (*job)->Wait();
    EXPECT_TRUE(s.ok()) << s;
    return (*job)->metrics().late_records;
  }

  // The values written to `topic` since the last call, in partition order.
  std::vector<std::string> NewValues(const std::string& topic) {
    std::vector<std::string> all, fresh;
    for (const auto& part : ReadTopic(log_.get(), topic)) {
      for (const auto& kv : part) all.push_back(kv.key + "=" + kv.value);
    }
    size_t& seen = seen_[topic];
    for (size_t i = seen; i < all.size(); ++i) fresh.push_back(all[i]);
    seen = all.size();
    return fresh;
  }

  testing::TempDir dir_;
  std::unique_ptr<Log> log_;
  std::map<std::string, size_t> seen_;
};

// Session u [10000, 10500] is emitted by run 1's end (F = 10500). A click at 10800 lies within
// the gap of it: with the state of an unbounded run it would have extended the session, so here
// it is late (the watermark, 10500, alone would accept it and open a second, overlapping session).
TEST_F(FlushRulesTest, SessionAfterABoundedRunIsNotReopened) {
  testing::CreateTopicOrDie(log_.get(), "in", 1);
  testing::CreateTopicOrDie(log_.get(), "out", 1);
  auto add = [](TopologyBuilder& b) {
    b.Stream<std::string, std::string>("in")
        .GroupByKey()
        .WindowedBy(Windows::Session(std::chrono::milliseconds(1000)))
        .Count("sessions")
        .MapValues([](const WindowResult<int64_t>& r) {
          return fmt::format("[{},{}]:{}", r.start, r.end, r.value);
        })
        .To("out", "out-sink");
  };
  Append("in", 0, {{"u", "a", 10000}, {"u", "b", 10500}});
  EXPECT_EQ(RunToEnd(add), 0);
  EXPECT_EQ(NewValues("out"), (std::vector<std::string>{"u=[10000,10500]:2"}));

  Append("in", 0, {{"u", "c", 10800}, {"u", "d", 20000}});
  EXPECT_EQ(RunToEnd(add), 1);
  EXPECT_EQ(NewValues("out"), (std::vector<std::string>{"u=[20000,20000]:1"}));
}

// Outer join within 100 ms. Run 1's end emits L1 (1000) and R0 (500) unmatched. R1 at 1050 could
// have met L1: joining it now is impossible (L1 is gone) and emitting it unmatched would contradict
// "L1 unmatched", so it is late, although its partition's watermark (500) would accept it.
TEST_F(FlushRulesTest, WindowedJoinAfterABoundedRunDoesNotContradictFlushedResults) {
  for (const char* t : {"left", "right", "out"}) testing::CreateTopicOrDie(log_.get(), t, 1);
  auto add = [](TopologyBuilder& b) {
    JoinWindowed(
        b.Stream<std::string, std::string>("left"), b.Stream<std::string, std::string>("right"),
        "lr", std::chrono::milliseconds(100), JoinKind::kOuter,
        [](const std::string&, const std::optional<std::string>& l,
           const std::optional<std::string>& r) { return l.value_or("-") + "+" + r.value_or("-"); })
        .To("out", "out-sink");
  };
  Append("left", 0, {{"k", "L1", 1000}});
  Append("right", 0, {{"k", "R0", 500}});
  EXPECT_EQ(RunToEnd(add), 0);
  auto first = NewValues("out");
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, (std::vector<std::string>{"k=-+R0", "k=L1+-"}));

  Append("right", 0, {{"k", "R1", 1050}, {"k", "R2", 3050}});
  Append("left", 0, {{"k", "L2", 3000}});
  EXPECT_EQ(RunToEnd(add), 1);
  EXPECT_EQ(NewValues("out"), (std::vector<std::string>{"k=L2+R2"}));
}

// Dedup within 1000 ms. Run 1 passes a@1000 and its end forgets it (F = 1000). a@1500 could be its
// duplicate: late, not passed again. a@2500 is a new first.
TEST_F(FlushRulesTest, DedupAfterABoundedRunDoesNotPassADuplicateOfAForgottenKey) {
  testing::CreateTopicOrDie(log_.get(), "in", 1);
  testing::CreateTopicOrDie(log_.get(), "out", 1);
  auto add = [](TopologyBuilder& b) {
    DedupByKey(b.Stream<std::string, std::string>("in"), "dedup", std::chrono::milliseconds(1000))
        .To("out", "out-sink");
  };
  Append("in", 0, {{"a", "1", 1000}});
  EXPECT_EQ(RunToEnd(add), 0);
  EXPECT_EQ(NewValues("out"), (std::vector<std::string>{"a=1"}));

  Append("in", 0, {{"a", "2", 1500}, {"a", "3", 2500}});
  EXPECT_EQ(RunToEnd(add), 1);
  EXPECT_EQ(NewValues("out"), (std::vector<std::string>{"a=3"}));
}

// Top-2 pages per minute. Page a (partition 0) has clicks to minute 30 only, page b (partition 1)
// to minute 59; run 1's end emits every minute's list, b's alone from minute 31 on. Run 2 adds a
// click of a in minute m > 30: a's counting task has flushed only through minute 30, so it counts
// the click and emits a's window m; the top-N task has flushed through minute m's list, so the
// result is late there and the list is not emitted again as [a:1].
TEST_F(FlushRulesTest, TopNAfterABoundedRunDoesNotEmitAListAgain) {
  testing::CreateTopicOrDie(log_.get(), "clicks", 2);
  testing::CreateTopicOrDie(log_.get(), "counts", 2);
  testing::CreateTopicOrDie(log_.get(), "top", 2);
  constexpr int64_t kMin = 60000;
  auto add = [](TopologyBuilder& b) {
    auto counts = b.Stream<std::string, std::string>("clicks")
                      .GroupByKey()
                      .WindowedBy(Windows::Tumbling(std::chrono::minutes(1)))
                      .Count("per-page");
    counts
        .MapValues([](const WindowResult<int64_t>& r) {
          return fmt::format("{}:{}", r.start / 60000, r.value);
        })
        .To("counts", "counts-sink");
    TopNPerWindow(counts, "top-pages", 2,
                  [](const WindowResult<int64_t>& x, const WindowResult<int64_t>& y) {
                    return x.value > y.value;
                  })
        .MapValues([](const WindowResult<std::vector<std::pair<std::string, int64_t>>>& r) {
          std::string s = fmt::format("{}|", r.start / 60000);
          for (const auto& [page, n] : r.value) s += fmt::format("{}:{} ", page, n);
          return s;
        })
        .To("top", "top-sink");
  };
  // The top-N task of minute m must have processed a later minute's list (it has: F is the largest
  // end it saw), so m is a minute whose top-N partition also holds a later minute.
  auto top_partition = [](int64_t minute) {
    std::string k(8, '\0');
    varint::PutBE64(k.data(), static_cast<uint64_t>(minute * kMin));
    return PartitionForKey(k, 2).value();
  };
  int64_t m = 45;
  while (top_partition(m) != top_partition(59) && m < 58) ++m;
  ASSERT_EQ(top_partition(m), top_partition(59));

  std::vector<Rec> a, b;
  for (int64_t i = 0; i <= 30; ++i) a.push_back({"a", "", i * kMin + 1000});
  for (int64_t i = 0; i <= 59; ++i) b.push_back({"b", "", i * kMin + 1000});
  Append("clicks", 0, a);
  Append("clicks", 1, b);
  EXPECT_EQ(RunToEnd(add), 0);
  auto lists = [&] {
    std::map<std::string, std::vector<std::string>> by_window;
    for (const auto& kv : NewValues("top")) {  // the key is binary: split at the value's '|'
      std::string v = kv.substr(kv.rfind('=') + 1);
      by_window[v.substr(0, v.find('|'))].push_back(v);
    }
    return by_window;
  };
  auto first = lists();
  EXPECT_EQ(first.size(), 60u);
  NewValues("counts");

  Append("clicks", 0, {{"a", "", m * kMin + 1000}});
  EXPECT_EQ(RunToEnd(add), 1);
  // The counting task did count it (window m of a starts after its flushed bound) ...
  EXPECT_EQ(NewValues("counts"), (std::vector<std::string>{fmt::format("a={}:1", m)}));
  // ... but no list is emitted again.
  EXPECT_TRUE(lists().empty());
}

}  // namespace
}  // namespace sluice
