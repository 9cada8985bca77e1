// Event time across runs and inputs (issue 15, "wrong results, silently"), with the real
// examples in process: a bounded run must not poison the next run, and a table must not drive a
// stream's watermark.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "core/log.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "examples/clickstream.h"
#include "examples/pageviews.h"
#include "operators/joins.h"
#include "operators/windows.h"
#include "runtime/job.h"
#include "runtime/job_reset.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

using testing::ReadTopic;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kT0 = 1700000000000 / kHour * kHour;  // an hour boundary

class EventTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenLogOrDie(dir_.path() + "/data");
    for (const char* t : {"clicks", "pageviews-counts", "pageviews-top", "pageviews-late",
                          "pageviews-dead-letters"}) {
      testing::CreateTopicOrDie(log_.get(), t, 2);
    }
  }

  JobOptions Options() {
    JobOptions o;
    o.application_id = "pv";
    o.log = log_.get();
    o.state_dir = dir_.path() + "/state";
    o.until_end = true;
    o.commit_interval = std::chrono::milliseconds(20);
    o.batch_records = 300;
    return o;
  }

  Status RunPageviews() {
    TopologyBuilder b;
    examples::AddPageviews(b);
    auto t = b.Build();
    if (!t.ok()) return t.status();
    auto job = Job::Start(Options(), std::move(t).value());
    if (!job.ok()) return job.status();
    return (*job)->Wait();
  }

  // `n` clicks spread evenly over [from, from + span) on pages /page/0../page/9, in order.
  void Clicks(int64_t from, int64_t span, int n) {
    std::vector<RecordBatchBuilder> builders(2);
    for (int i = 0; i < n; ++i) {
      examples::PageView v{.user = fmt::format("u{}", i % 37),
                           .page = fmt::format("/page/{}", i % 10),
                           .referrer = "",
                           .ts = from + span * i / n};
      builders[i % 2].Add(Timestamp(v.ts), v.user, examples::ToJson(v));
    }
    for (int32_t p = 0; p < 2; ++p) {
      auto part = log_->GetPartition("clicks", PartitionId(p));
      ASSERT_TRUE(part.ok());
      ASSERT_TRUE((*part)->Append(builders[p].Finish(), Acks::kAll).ok());
    }
  }

  size_t Count(const std::string& topic) {
    size_t n = 0;
    for (const auto& part : ReadTopic(log_.get(), topic)) n += part.size();
    return n;
  }

  // (page, window_start) -> every views value emitted for it, in order.
  std::map<std::pair<std::string, int64_t>, std::vector<int64_t>> Windows() {
    std::map<std::pair<std::string, int64_t>, std::vector<int64_t>> out;
    for (const auto& part : ReadTopic(log_.get(), "pageviews-counts")) {
      for (const auto& kv : part) {
        auto num = [&](const std::string& field) {
          size_t at = kv.value.find("\"" + field + "\":");
          EXPECT_NE(at, std::string::npos) << kv.value;
          return std::stoll(kv.value.substr(at + field.size() + 3));
        };
        out[{kv.key, num("window_start")}].push_back(num("views"));
      }
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Log> log_;
};

// A bounded run ends its inputs, which closes every window (they are final). The next run over
// appended clicks must emit the new hour's windows normally, and count as late only the clicks
// that fall into windows the first run already emitted — never emit such a window again.
TEST_F(EventTimeTest, BoundedRunDoesNotPoisonTheNextRun) {
  Clicks(kT0, kHour, 4000);
  ASSERT_TRUE(RunPageviews().ok());
  const size_t first_windows = Windows().size();
  EXPECT_EQ(first_windows, 600u);  // 60 one-minute windows x 10 pages
  EXPECT_EQ(Count("pageviews-late"), 0u);

  // Into the last minute, which the first run emitted: late, although the watermark the first
  // run's clicks give (the hour's end minus the out-of-orderness) would still accept them.
  Clicks(kT0 + kHour - 30000, 20000, 10);
  Clicks(kT0 + kHour, kHour, 4000);  // the next hour
  ASSERT_TRUE(RunPageviews().ok());

  auto windows = Windows();
  int64_t views_second_hour = 0;
  for (const auto& [k, values] : windows) {
    EXPECT_EQ(values.size(), 1u) << k.first << " window " << k.second << " emitted "
                                 << values.size() << " times";
    if (k.second >= kT0 + kHour) views_second_hour += values.front();
  }
  EXPECT_EQ(windows.size(), 1200u);
  EXPECT_EQ(views_second_hour, 4000);
  EXPECT_EQ(Count("pageviews-late"), 10u);
}

// `sluice job reset --to-time T` with T inside a window, then a rerun (issue 15: "/page/0 128 ->
// 22", 20 conflicting windows). The rerun must refill the window straddling T completely and must
// not emit a window before it again (partially): every window in the output holds one value,
// however often it was emitted, and so does every top-N list.
TEST_F(EventTimeTest, ResetToTimeEmitsNoPartialOrConflictingWindow) {
  Clicks(kT0, kHour, 4000);
  ASSERT_TRUE(RunPageviews().ok());
  ASSERT_EQ(Windows().size(), 600u);
  const int64_t t = kT0 + 30 * 60000 + 30000;  // in the middle of the window [30 min, 31 min)
  auto lines = ResetJob(log_.get(), {.application_id = "pv",
                                     .state_dir = dir_.path() + "/state",
                                     .to_earliest = false,
                                     .time = Timestamp(t)});
  ASSERT_TRUE(lines.ok()) << lines.status();
  std::string text;
  for (const auto& l : *lines) text += l + "\n";
  // It says what it did: per input partition old -> new offset, and the time it rewound to
  // (the window's start minus grace 10 s and out-of-orderness 5 s).
  EXPECT_NE(text.find("input clicks partition 0: offset 2000 -> "), std::string::npos) << text;
  EXPECT_NE(
      text.find(fmt::format("at or after 2023-11-14T22:29:45.000Z ({})", kT0 + 30 * 60000 - 15000)),
      std::string::npos)
      << text;
  ASSERT_TRUE(RunPageviews().ok());

  auto windows = Windows();
  EXPECT_EQ(windows.size(), 600u);
  for (const auto& [k, values] : windows) {
    for (int64_t v : values) {
      EXPECT_EQ(v, values.front())
          << k.first << " window " << k.second << " emitted " << v << " after " << values.front();
    }
    // Windows from the straddling one on were emitted again (complete), none before it.
    EXPECT_EQ(values.size(), k.second >= kT0 + 30 * 60000 ? 2u : 1u)
        << k.first << " window " << k.second;
  }
  std::map<std::string, std::vector<std::string>> top;
  for (const auto& part : ReadTopic(log_.get(), "pageviews-top")) {
    for (const auto& kv : part) top[kv.key].push_back(kv.value);
  }
  EXPECT_EQ(top.size(), 60u);
  for (const auto& [k, values] : top) {
    for (const auto& v : values) EXPECT_EQ(v, values.front()) << "top list of window " << k;
  }
  EXPECT_EQ(Count("pageviews-late"), 0u);
}

// A reset to a time that cannot be made consistent is refused and changes nothing: session
// windows (the session open at T may have begun at any time before it), and --keep-state with
// windows (the kept windows already hold the records after T).
TEST_F(EventTimeTest, ResetToTimeRefusesWhatItCannotMakeConsistent) {
  testing::CreateTopicOrDie(log_.get(), "sessions-out", 2);
  Clicks(kT0, kHour, 400);
  TopologyBuilder b;
  b.Stream<std::string, std::string>("clicks")
      .GroupByKey()
      .WindowedBy(Windows::Session(std::chrono::minutes(5)))
      .Count("sessions")
      .MapValues([](const WindowResult<int64_t>& r) { return std::to_string(r.value); })
      .To("sessions-out", "sessions-sink");
  auto topology = b.Build();
  ASSERT_TRUE(topology.ok()) << topology.status();
  JobOptions o = Options();
  o.application_id = "sess";
  auto job = Job::Start(o, std::move(topology).value());
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE((*job)->Wait().ok());
  job->reset();
  auto before = log_->offsets().Fetch("sess");
  ASSERT_TRUE(before.ok());
  auto r = ResetJob(log_.get(), {.application_id = "sess",
                                 .state_dir = o.state_dir,
                                 .to_earliest = false,
                                 .time = Timestamp(kT0 + 1000)});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("session windows"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("--to-earliest"), std::string::npos) << r.status();
  auto after = log_->offsets().Fetch("sess");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->begin()->second.offset, before->begin()->second.offset);
  EXPECT_EQ(after->begin()->second.metadata, before->begin()->second.metadata);

  ASSERT_TRUE(RunPageviews().ok());
  r = ResetJob(log_.get(), {.application_id = "pv",
                            .state_dir = o.state_dir,
                            .to_earliest = false,
                            .time = Timestamp(kT0 + 1000),
                            .keep_state = true});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("--keep-state"), std::string::npos) << r.status();
}

// A source's own out-of-orderness reaches the job's watermark: a click 2 s out of order is late
// with the job's default (0) and counted with the source's 2.5 s.
TEST_F(EventTimeTest, PerSourceOutOfOrdernessAppliesInAJob) {
  testing::CreateTopicOrDie(log_.get(), "in", 1);
  testing::CreateTopicOrDie(log_.get(), "out", 1);
  RecordBatchBuilder records;
  for (int64_t ts : {kT0 + 5000, kT0 + 3000, kT0 + 9000}) records.Add(Timestamp(ts), "k", "v");
  ASSERT_TRUE(
      (*log_->GetPartition("in", PartitionId(0)))->Append(records.Finish(), Acks::kAll).ok());
  for (int64_t ooo : {0, 2500}) {
    TopologyBuilder b;
    SourceOptions<std::string, std::string> in;
    if (ooo > 0) in.max_out_of_orderness = std::chrono::milliseconds(ooo);
    b.Stream<std::string, std::string>("in", in)
        .GroupByKey()
        .WindowedBy(Windows::Tumbling(std::chrono::seconds(1)))
        .Count("counts")
        .MapValues([](const WindowResult<int64_t>& r) { return std::to_string(r.value); })
        .To("out", "out-sink");
    auto t = b.Build();
    ASSERT_TRUE(t.ok()) << t.status();
    JobOptions o = Options();
    o.application_id = fmt::format("ooo-{}", ooo);
    auto job = Job::Start(o, std::move(t).value());
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_TRUE((*job)->Wait().ok());
    EXPECT_EQ((*job)->metrics().late_records, ooo > 0 ? 0 : 1) << "out-of-orderness " << ooo;
  }
}

// A user's job: Stream(orders) declared before Table(customers), every customer written (at
// timestamp 0) before the orders. The table must be read to its end as of the start before any
// order is joined, whatever the declaration order: no order may be enriched as "unknown".
TEST_F(EventTimeTest, StreamTableJoinBootstrapsTheTableWhateverTheDeclarationOrder) {
  testing::CreateTopicOrDie(log_.get(), "orders", 2);
  testing::CreateTopicOrDie(log_.get(), "customers", 2);
  testing::CreateTopicOrDie(log_.get(), "enriched", 2);
  auto produce = [&](const std::string& topic, int n, auto value) {
    std::vector<RecordBatchBuilder> builders(2);
    for (int i = 0; i < n; ++i) {
      std::string key = fmt::format("c{}", i % 500);
      builders[PartitionForKey(key, 2).value()].Add(Timestamp(0), key, value(i));
    }
    for (int32_t p = 0; p < 2; ++p) {
      auto part = log_->GetPartition(topic, PartitionId(p));
      ASSERT_TRUE(part.ok());
      ASSERT_TRUE((*part)->Append(builders[p].Finish(), Acks::kAll).ok());
    }
  };
  produce("customers", 500, [](int i) { return fmt::format("name-{}", i); });
  produce("orders", 5000, [](int i) { return std::to_string(i); });
  TopologyBuilder b;
  auto orders = b.Stream<std::string, std::string>("orders");
  auto customers = b.Table<std::string, std::string>("customers", "customers-store");
  JoinTable(
      orders, customers, "orders-with-customers", JoinKind::kLeft,
      [](const std::string&, const std::string& amount, const std::optional<std::string>& name) {
        return name.value_or("unknown") + ":" + amount;
      })
      .To("enriched", "enriched-sink");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  JobOptions o = Options();
  o.application_id = "orders-app";
  auto job = Job::Start(o, std::move(t).value());
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE((*job)->Wait().ok());
  size_t n = 0, unknown = 0;
  for (const auto& part : ReadTopic(log_.get(), "enriched")) {
    for (const auto& kv : part) {
      ++n;
      if (kv.value.starts_with("unknown")) ++unknown;
    }
  }
  EXPECT_EQ(n, 5000u);
  EXPECT_EQ(unknown, 0u);
}

}  // namespace
}  // namespace sluice
