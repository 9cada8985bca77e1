#include "tools/job_runner.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "examples/balances.h"
#include "examples/word_count.h"
#include "tools/commands.h"
#include "tools/time_parse.h"

namespace sluice::tools {

Result<JobOptions> MakeJobOptions(const CommonRunArgs& r, const std::string& app) {
  if (r.threads < 1) return UsageError("--threads must be 1 or more");
  if (r.commit_interval_ms < 1) return UsageError("--commit-interval-ms must be 1 or more");
  if (r.batch_records < 1) return UsageError("--batch-records must be 1 or more");
  JobOptions o;
  o.application_id = app;
  o.state_dir = r.state_dir;
  o.threads = r.threads;
  o.commit_interval = std::chrono::milliseconds(r.commit_interval_ms);
  o.batch_records = static_cast<size_t>(r.batch_records);
  o.until_end = r.until_end;
  o.guarantee =
      r.at_least_once ? ProcessingGuarantee::kAtLeastOnce : ProcessingGuarantee::kExactlyOnce;
  if (r.exchange == "local") {
    o.exchange = Exchange::kLocal;
  } else if (r.exchange == "log") {
    o.exchange = Exchange::kLog;
  } else {
    return UsageError(
        fmt::format("--exchange must be 'local' (stages pass records in memory) or 'log' (through "
                    "repartition topics), not '{}'",
                    r.exchange));
  }
  if (r.from == "earliest" || r.from.empty()) {
    o.start = StartPosition::kEarliest;
  } else if (r.from == "latest") {
    o.start = StartPosition::kLatest;
  } else {
    Result<Timestamp> t = ParseTime(r.from);
    if (!t.ok()) return UsageError("--from: " + t.status().message());
    o.start = StartPosition::kTimestamp;
    o.start_time = *t;
  }
  return o;
}

void PrintDescription(const Topology& topology, const JobOptions& options) {
  fmt::print("{}", topology.Describe(options.application_id));
  bool repartitions = false;
  for (const auto& t : topology.topics()) repartitions = repartitions || t.internal;
  if (!repartitions) return;
  if (options.exchange == Exchange::kLocal) {
    fmt::print(
        "Exchange: local (--exchange local): the repartition topics above are passed in "
        "memory and never created; all tasks commit together\n");
  } else {
    fmt::print(
        "Exchange: log: the repartition topics above are created in the log; consumed "
        "segments are deleted as the job commits\n");
  }
}

bool AddSimpleJob(TopologyBuilder& builder, const std::string& job, const std::string& input,
                  const std::string& output) {
  if (job == "wordcount") {
    examples::AddWordCount(builder, {.input = input, .output = output});
  } else if (job == "balances") {
    examples::AddBalances(builder, {.input = input, .output = output});
  } else {
    return false;
  }
  return true;
}

std::function<std::string(std::string_view)> TopicsOfSimpleJob(std::string job, std::string app,
                                                               std::string input,
                                                               std::string output,
                                                               std::string where) {
  return [job = std::move(job), app = std::move(app), input = std::move(input),
          output = std::move(output), where = std::move(where)](std::string_view topic) {
    if (topic == input || topic == output ||
        (topic.starts_with(app + "-") && topic.ends_with("-repartition"))) {
      return fmt::format("job {} (application '{}'), running in {}", job, app, where);
    }
    return std::string();
  };
}

Status EnsureOutputTopic(Log& log, const std::string& output, int32_t partitions, bool quiet) {
  if (log.HasTopic(output)) return Status::Ok();
  TopicConfig config;
  config.partitions = partitions;
  SLUICE_RETURN_IF_ERROR(log.CreateTopic(output, config));
  if (!quiet) {
    fmt::print(stderr, "created output topic '{}' with {} partitions\n", output, partitions);
  }
  return Status::Ok();
}

Status WaitWithProgress(Job& job, const std::string& app, bool quiet, bool show_late,
                        JobMetrics* final) {
  auto progress = [&] {
    JobMetrics m = job.metrics();
    fmt::print(stderr, "{}: in {}, out {}, lag {}{}{}\n", app, m.records_in, m.records_out, m.lag,
               show_late ? fmt::format(", late {}", m.late_records) : "",
               m.changelogs
                   ? fmt::format(", restored {} in {} ms", m.restored_records, m.restore_ms)
                   : "");
  };
  auto last = std::chrono::steady_clock::now();
  bool stopping = false;
  while (job.metrics().running) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (Interrupted() && !stopping) {
      job.Stop();
      stopping = true;
    }
    auto now = std::chrono::steady_clock::now();
    if (!quiet && now - last >= std::chrono::seconds(1)) {
      progress();
      last = now;
    }
  }
  Status s = job.Wait();
  if (final) *final = job.metrics();
  if (!quiet) progress();
  return s;
}

}  // namespace sluice::tools
