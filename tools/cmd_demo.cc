// sluice demo: the log end to end, with counts and timings, through a LogClient: the embedded
// log of --data (a temporary directory without it), or a broker (-b, or the server owning --data).
//
// Creates a topic, produces generated page-view events (JSON values keyed by user, timestamps
// spread over the last hour), reads them back from the beginning, from an offset and from a
// time, commits a consumer group's progress and shows its lag. Every step checks its count
// against what was generated; the command fails (exit 1) if one does not match.
#include <fmt/format.h>
#include <stdlib.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "client/log_client.h"
#include "core/partitioner.h"
#include "tools/commands.h"
#include "tools/time_parse.h"

namespace sluice::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct DemoArgs {
  int64_t events = 100000;
  int32_t partitions = 4;
  bool keep = false;
};

constexpr const char* kTopic = "page-views";
constexpr const char* kGroup = "demo-dashboard";
constexpr int64_t kHourMs = 3600 * 1000;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Rate(double count, double seconds) {
  double r = seconds > 0 ? count / seconds : 0;
  if (r >= 1e6) return fmt::format("{:.2f}M", r / 1e6);
  if (r >= 1e3) return fmt::format("{:.1f}k", r / 1e3);
  return fmt::format("{:.0f}", r);
}

struct Event {
  std::string key;
  std::string value;
  Timestamp ts;
};

// Deterministic page views: 1000 users, 50 pages, timestamps evenly over the hour before `end`.
std::vector<Event> GenerateEvents(int64_t n, Timestamp end) {
  static const char* kActions[] = {"view", "view", "view", "click", "scroll", "purchase"};
  static const char* kReferrers[] = {"search", "direct", "social", "email"};
  std::mt19937_64 rng(42);
  std::vector<Event> events;
  events.reserve(n);
  Timestamp start = end - kHourMs;
  for (int64_t i = 0; i < n; ++i) {
    Event e;
    e.ts = start + i * kHourMs / n;
    e.key = fmt::format("user-{}", rng() % 1000);
    e.value = fmt::format(
        R"({{"ts":{},"user":"{}","page":"/products/{}","action":"{}","referrer":"{}","ms":{}}})",
        e.ts.value(), e.key, rng() % 50, kActions[rng() % 6], kReferrers[rng() % 4],
        20 + rng() % 2000);
    events.push_back(std::move(e));
  }
  return events;
}

Status Check(bool ok, std::string what) {
  if (ok) return Status::Ok();
  return Internal(
      "demo check failed: {}; the log returned something other than what was "
      "written, please report this with the demo output",
      what);
}

// Whether the consumer's position has reached `ends` in every partition it is assigned.
Result<bool> AtEnd(client::LogConsumer& consumer, const std::map<TopicPartition, Offset>& ends) {
  std::vector<TopicPartition> assigned = consumer.assignment();
  if (assigned.empty()) return false;
  for (const TopicPartition& tp : assigned) {
    SLUICE_ASSIGN_OR_RETURN(Offset position, consumer.Position(tp));
    auto it = ends.find(tp);
    if (it == ends.end() || position < it->second) return false;
  }
  return true;
}

// Polls until every assigned partition is at its end offset in `ends`; calls fn for each record.
template <typename Fn>
Status Drain(client::LogConsumer& consumer, const std::map<TopicPartition, Offset>& ends, Fn&& fn) {
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(bool at_end, AtEnd(consumer, ends));
    if (at_end) return Status::Ok();
    if (Interrupted()) return Aborted("interrupted");
    SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords records,
                            consumer.Poll(std::chrono::milliseconds(100)));
    for (const client::ConsumedRecord& r : records) fn(r);
  }
}

std::string_view View(const std::optional<std::string_view>& v) { return v ? *v : ""; }

// Runs the tour on `ctx`'s log: the broker of ctx.bootstrap_servers or the data directory.
Status RunDemoOn(const CliContext& ctx, const DemoArgs& args) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kCreate));

  // 1. Topic.
  client::TopicSpec spec;
  spec.partitions = args.partitions;
  spec.segment_bytes = 4 << 20;  // small segments so the demo shows several
  if (Status s = log->CreateTopic(kTopic, spec); !s.ok()) {
    if (s.code() != StatusCode::kAlreadyExists) return s;
    if (!ctx.bootstrap_servers.empty()) {
      return AlreadyExists(
          "topic '{}' already exists at {}; delete it with 'sluice -b {} topic delete {}' or "
          "run 'sluice demo' without -b and --data to use a fresh temporary directory",
          kTopic, LogLocation(ctx), ctx.bootstrap_servers, kTopic);
    }
    return AlreadyExists(
        "topic '{}' already exists in {}; delete it with 'sluice --data {} topic delete {}' or "
        "run 'sluice demo' without --data to use a fresh temporary directory",
        kTopic, ctx.data_dir, ctx.data_dir, kTopic);
  }
  fmt::print("1. created topic '{}' with {} partitions (segments roll at 4 MiB)\n", kTopic,
             args.partitions);

  // 2. Produce.
  Timestamp end_ts = Now();
  std::vector<Event> events = GenerateEvents(args.events, end_ts);
  uint64_t value_bytes = 0;
  std::vector<int64_t> expected_per_partition(args.partitions, 0);
  for (const Event& e : events) {
    value_bytes += e.key.size() + e.value.size();
    ++expected_per_partition[PartitionForKey(e.key, args.partitions).value()];
  }
  auto t0 = Clock::now();
  {
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogProducer> producer,
                            log->NewProducer(client::ProducerConfig{}));
    Record r;
    for (const Event& e : events) {
      r.key = e.key;
      r.value = e.value;
      r.timestamp = e.ts;
      SLUICE_RETURN_IF_ERROR(producer->Send(kTopic, r));
    }
    SLUICE_RETURN_IF_ERROR(producer->Flush());
  }
  double secs = Seconds(t0);
  fmt::print("2. produced {} page views keyed by user in {:.0f} ms ({} records/s, {:.1f} MB/s)\n",
             args.events, secs * 1000, Rate(args.events, secs), value_bytes / 1e6 / secs);
  SLUICE_ASSIGN_OR_RETURN(client::TopicDescription desc, log->DescribeTopic(kTopic));
  SLUICE_RETURN_IF_ERROR(Check(desc.partitions.size() == static_cast<size_t>(args.partitions),
                               fmt::format("the topic has {} partitions, {} were created",
                                           desc.partitions.size(), args.partitions)));
  std::map<TopicPartition, Offset> ends;
  std::vector<TopicPartition> all;
  for (const client::PartitionInfo& info : desc.partitions) {
    int32_t p = info.partition.value();
    TopicPartition tp{kTopic, info.partition};
    ends[tp] = info.end_offset;
    all.push_back(tp);
    // A broker does not report bytes and segments; the embedded log does.
    std::string size;
    if (info.bytes && info.segments) {
      size = fmt::format(", {:.1f} MB in {} segment{}", *info.bytes / 1e6, *info.segments,
                         *info.segments == 1 ? "" : "s");
    }
    fmt::print("   partition {}: offsets {}..{}{}\n", p, info.start_offset.value(),
               info.end_offset.value(), size);
    SLUICE_RETURN_IF_ERROR(
        Check(p >= 0 && p < args.partitions && info.end_offset.value() == expected_per_partition[p],
              fmt::format("partition {} holds {} records, murmur2 of the keys "
                          "puts {} there",
                          p, info.end_offset.value(),
                          p >= 0 && p < args.partitions ? expected_per_partition[p] : 0)));
  }

  // 3. Read everything back.
  {
    SLUICE_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(client::ConsumerConfig{}));
    SLUICE_RETURN_IF_ERROR(consumer->Assign(all));
    SLUICE_RETURN_IF_ERROR(consumer->SeekToBeginning(all));
    int64_t count = 0;
    t0 = Clock::now();
    SLUICE_RETURN_IF_ERROR(Drain(*consumer, ends, [&](const client::ConsumedRecord&) { ++count; }));
    secs = Seconds(t0);
    fmt::print("3. read all {} records from the beginning in {:.0f} ms ({} records/s)\n", count,
               secs * 1000, Rate(count, secs));
    SLUICE_RETURN_IF_ERROR(Check(count == args.events, "read-back count"));
  }

  // 4. From an offset: the second half of partition 0.
  {
    TopicPartition tp{kTopic, PartitionId(0)};
    Offset from(ends[tp].value() / 2);
    SLUICE_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(client::ConsumerConfig{}));
    SLUICE_RETURN_IF_ERROR(consumer->Assign({tp}));
    SLUICE_RETURN_IF_ERROR(consumer->Seek(tp, from));
    int64_t count = 0;
    std::string first;
    SLUICE_RETURN_IF_ERROR(Drain(*consumer, ends, [&](const client::ConsumedRecord& r) {
      if (count++ == 0)
        first = fmt::format("offset {} key {} {}", r.offset.value(), View(r.key), View(r.value));
    }));
    fmt::print("4. read partition 0 from offset {}: {} records; first: {}\n", from.value(), count,
               first);
    SLUICE_RETURN_IF_ERROR(Check(count == ends[tp] - from, "read-from-offset count"));
  }

  // 5. From a time: the last quarter of the hour.
  {
    Timestamp from = end_ts - kHourMs / 4;
    int64_t expected = 0;
    for (const Event& e : events) expected += e.ts >= from;
    SLUICE_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(client::ConsumerConfig{}));
    SLUICE_RETURN_IF_ERROR(consumer->Assign(all));
    SLUICE_RETURN_IF_ERROR(consumer->SeekToTime(all, from));
    int64_t count = 0, earlier = 0;
    SLUICE_RETURN_IF_ERROR(Drain(*consumer, ends, [&](const client::ConsumedRecord& r) {
      if (r.timestamp >= from) {
        ++count;
      } else {
        ++earlier;
      }
    }));
    fmt::print(
        "5. read from time {} (the last 15 minutes): {} records at or after it "
        "(generated: {}){}\n",
        FormatTime(from), count, expected,
        earlier > 0 ? fmt::format(", plus {} earlier ones from the first batch", earlier)
                    : std::string());
    SLUICE_RETURN_IF_ERROR(Check(count == expected, "read-from-time count"));
  }

  // 6. A consumer group reads about half, commits, and shows its lag.
  {
    client::ConsumerConfig config;
    config.group_id = kGroup;
    config.max_poll_records = 1000;
    SLUICE_ASSIGN_OR_RETURN(auto consumer, log->NewConsumer(config));
    SLUICE_RETURN_IF_ERROR(consumer->Subscribe({kTopic}));
    int64_t count = 0;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (count < args.events / 2) {
      if (Interrupted()) return Aborted("interrupted");
      if (Clock::now() > deadline) return Check(false, "the group consumer stopped receiving");
      SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords records,
                              consumer->Poll(std::chrono::milliseconds(100)));
      count += static_cast<int64_t>(records.size());
      SLUICE_ASSIGN_OR_RETURN(bool at_end, AtEnd(*consumer, ends));
      if (records.empty() && at_end) break;
    }
    SLUICE_RETURN_IF_ERROR(consumer->Commit());
    consumer->Close();
    consumer.reset();
    SLUICE_ASSIGN_OR_RETURN(client::GroupDescription group, log->DescribeGroup(kGroup));
    int64_t committed_total = 0, lag = 0;
    for (const auto& [tp, offset] : group.committed) {
      committed_total += offset.value();
      lag += ends[tp] - offset;
    }
    fmt::print("6. group '{}' read {} records and committed them; its lag is now {}\n", kGroup,
               count, lag);
    SLUICE_RETURN_IF_ERROR(
        Check(committed_total == count && lag == args.events - count, "committed offsets and lag"));
  }
  SLUICE_RETURN_IF_ERROR(log->Close());
  fmt::print("ok: every count matched what was generated\n");
  return Status::Ok();
}

Status RunDemo(const CliContext& ctx, const DemoArgs& args) {
  if (args.events < 1 || args.events > 100'000'000) {
    return UsageError(fmt::format("--events {} is out of range; give 1..100000000", args.events));
  }
  if (args.partitions < 1 || args.partitions > 1000) {
    return UsageError(
        fmt::format("--partitions {} is out of range; give 1..1000", args.partitions));
  }
  InstallInterruptHandler();
  if (!ctx.bootstrap_servers.empty()) {
    // Through a broker (-b, or the server that owns --data): no directory of its own.
    fmt::print("sluice demo: {}\n", LogLocation(ctx));
    std::fflush(stdout);
    return RunDemoOn(ctx, args);
  }
  std::string dir = ctx.data_dir;
  bool temporary = !ctx.data_dir_given;
  if (temporary) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = fmt::format("{}/sluice-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return ErrnoToStatus(errno, "create a temporary directory (set TMPDIR or pass --data)",
                           pattern);
    }
    dir = pattern;
  }
  fmt::print("sluice demo: data directory {}{}\n", dir,
             temporary ? (args.keep ? " (kept)" : " (temporary; --keep keeps it)") : "");
  std::fflush(stdout);
  CliContext demo_ctx = ctx;
  demo_ctx.data_dir = dir;
  Status s = RunDemoOn(demo_ctx, args);
  if (temporary && !args.keep) {
    Status removed = FileSystem::Default()->RemoveAll(dir);
    if (s.ok()) s = removed;
  }
  return s;
}

}  // namespace

void RegisterDemoCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Produce generated page views into a topic and read them back from the beginning, an "
      "offset, a time and a consumer group, with counts and timings");
  cmd->add_option("--events", args->events, "How many events to produce (default 100000)");
  cmd->add_option("--partitions", args->partitions, "Partitions of the demo topic (default 4)");
  cmd->add_flag("--keep", args->keep, "Keep the temporary data directory");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunDemo(ctx, *args); }; });
}

}  // namespace sluice::tools
