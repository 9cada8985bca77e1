#include "tools/analytics_run.h"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <thread>

#include "core/log.h"
#include "core/partition_reader.h"
#include "core/record_batch.h"
#include "examples/enrich.h"
#include "examples/nexmark_queries.h"
#include "examples/pageviews.h"
#include "examples/sessions.h"
#include "operators/topology_builder.h"
#include "runtime/job.h"
#include "tools/job_observer.h"
#include "tools/job_runner.h"
#include "tools/owner.h"
#include "tools/run_job.h"

namespace sluice::tools {
namespace {

using examples::KeyValueText;
using Outputs = std::map<std::string, std::vector<KeyValueText>>;

// What `sluice run <example>` needs to know about an example.
struct JobSpec {
  Topology topology;
  std::vector<std::string> inputs;   // must exist
  std::vector<std::string> outputs;  // created with the first input's partition count
  // The summary from this run's records of each output topic and the late-record count.
  std::function<std::string(const Outputs&, int64_t late)> summarize;
};

Result<JobSpec> MakeSpec(const CommonRunArgs& r, const AnalyticsArgs& a) {
  JobSpec spec;
  TopologyBuilder b;
  const std::string& p = a.prefix;
  if (r.job == "pageviews") {
    examples::PageviewsOptions o;
    if (!r.input.empty()) o.input = r.input;
    o.counts_output = p + o.counts_output;
    o.top_output = p + o.top_output;
    o.late_topic = p + o.late_topic;
    o.dead_letter_topic = p + o.dead_letter_topic;
    if (a.out_of_order_ms >= 0) o.out_of_order_ms = a.out_of_order_ms;
    examples::AddPageviews(b, o);
    spec.inputs = {o.input};
    spec.outputs = {o.counts_output, o.top_output, o.late_topic, o.dead_letter_topic};
    spec.summarize = [o](const Outputs& out, int64_t late) {
      return examples::SummarizePageviews(out.at(o.counts_output), out.at(o.top_output), late,
                                          static_cast<int64_t>(out.at(o.dead_letter_topic).size()));
    };
  } else if (r.job == "sessions") {
    examples::SessionsOptions o;
    if (!r.input.empty()) o.input = r.input;
    o.output = p + o.output;
    o.late_topic = p + o.late_topic;
    o.dead_letter_topic = p + o.dead_letter_topic;
    if (a.out_of_order_ms >= 0) o.out_of_order_ms = a.out_of_order_ms;
    examples::AddSessions(b, o);
    spec.inputs = {o.input};
    spec.outputs = {o.output, o.late_topic, o.dead_letter_topic};
    spec.summarize = [o](const Outputs& out, int64_t late) {
      return examples::SummarizeSessions(out.at(o.output), late,
                                         static_cast<int64_t>(out.at(o.dead_letter_topic).size()));
    };
  } else if (r.job == "enrich") {
    examples::EnrichOptions o;
    if (!r.input.empty()) o.input = r.input;
    o.users = a.users;
    o.enriched_output = p + o.enriched_output;
    o.counts_output = p + o.counts_output;
    o.late_topic = p + o.late_topic;
    o.dead_letter_topic = p + o.dead_letter_topic;
    if (a.out_of_order_ms >= 0) o.out_of_order_ms = a.out_of_order_ms;
    examples::AddEnrich(b, o);
    spec.inputs = {o.input, o.users};
    spec.outputs = {o.enriched_output, o.counts_output, o.late_topic, o.dead_letter_topic};
    spec.summarize = [o](const Outputs& out, int64_t late) {
      return examples::SummarizeEnrich(out.at(o.counts_output), out.at(o.enriched_output), late,
                                       static_cast<int64_t>(out.at(o.dead_letter_topic).size()));
    };
  } else if (r.job == "nexmark") {
    if (a.query.empty()) {
      return UsageError(fmt::format("nexmark needs --query, one of {}",
                                    fmt::join(examples::NexmarkQueries(), ", ")));
    }
    examples::NexmarkQueryOptions o;
    o.query = a.query;
    o.output = p + examples::NexmarkOutput(o);
    o.dead_letter_topic = p + o.dead_letter_topic;
    Status s = examples::AddNexmarkQuery(b, o);
    if (!s.ok()) return UsageError(s.message());
    spec.inputs = examples::NexmarkInputs(o);
    spec.outputs = {o.output, o.dead_letter_topic};
    spec.summarize = [o](const Outputs& out, int64_t late) {
      const auto& rows = out.at(o.output);
      std::string s = fmt::format("nexmark {} summary\n", o.query);
      s += fmt::format("  results              {}\n", rows.size());
      s += fmt::format("  late records         {}\n", late);
      s += fmt::format("  dead letters         {}\n", out.at(o.dead_letter_topic).size());
      s += "  last results:\n";
      for (size_t i = rows.size() > 5 ? rows.size() - 5 : 0; i < rows.size(); ++i) {
        s += fmt::format("    {}\n", rows[i].value);
      }
      return s;
    };
  } else {
    return UsageError(fmt::format("unknown analytics job '{}'", r.job));
  }
  SLUICE_ASSIGN_OR_RETURN(spec.topology, b.Build());
  return spec;
}

// The high watermark of every partition of `topic`.
Result<std::vector<int64_t>> EndOffsets(Log& log, const std::string& topic) {
  SLUICE_ASSIGN_OR_RETURN(TopicConfig c, log.DescribeTopic(topic));
  std::vector<int64_t> out;
  for (int32_t i = 0; i < c.partitions; ++i) {
    SLUICE_ASSIGN_OR_RETURN(Partition * part, log.GetPartition(topic, PartitionId(i)));
    out.push_back(part->high_watermark().value());
  }
  return out;
}

// The records of `topic` from `from` (per partition) to the current end.
Result<std::vector<KeyValueText>> ReadSince(Log& log, const std::string& topic,
                                            const std::vector<int64_t>& from) {
  std::vector<KeyValueText> out;
  for (size_t i = 0; i < from.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(Partition * part,
                            log.GetPartition(topic, PartitionId(static_cast<int32_t>(i))));
    PartitionReader reader(part, Offset(from[i]));
    RecordView rec;
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(bool got, reader.Next(&rec));
      if (!got) break;
      out.push_back(KeyValueText{std::string(rec.key), std::string(rec.value)});
    }
  }
  return out;
}

}  // namespace

bool IsAnalyticsJob(std::string_view job) {
  return job == "pageviews" || job == "sessions" || job == "enrich" || job == "nexmark";
}

void AddAnalyticsOptions(CLI::App* run, AnalyticsArgs* a) {
  run->add_option("--query", a->query, "nexmark: the query to run (q0 q1 q2 q3 q4 q5 q6 q7 q8)");
  run->add_option("--users", a->users, "enrich: the users table topic (default users)");
  run->add_option("--output-prefix", a->prefix,
                  "analytics jobs: prefix for their output topic names (default none)");
  run->add_option("--out-of-order-ms", a->out_of_order_ms,
                  "analytics jobs: allowed event-time disorder in ms (default: the job's)");
}

Status RunAnalytics(CliContext& ctx, const CommonRunArgs& r, const AnalyticsArgs& a) {
  SLUICE_ASSIGN_OR_RETURN(JobSpec spec, MakeSpec(r, a));
  // Each NEXMark query is its own application (its own state and offsets).
  std::string app = !r.app.empty() ? r.app : r.job == "nexmark" ? "nexmark-" + a.query : r.job;
  SLUICE_ASSIGN_OR_RETURN(JobOptions o, MakeJobOptions(r, app));
  if (r.describe) {
    PrintDescription(spec.topology, o);
    return Status::Ok();
  }

  SLUICE_ASSIGN_OR_RETURN(auto observer, JobObserver::Start(r.metrics_listen));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenWriter(ctx));
  for (const auto& in : spec.inputs) {
    if (!log->HasTopic(in)) {
      return NotFound(
          "input topic '{}' does not exist; create and fill it, e.g. `sluice gen "
          "clickstream --topic {} --events 100000 --users 500 --pages 100`",
          in, in);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(TopicConfig in_cfg, log->DescribeTopic(spec.inputs.front()));
  std::map<std::string, std::vector<int64_t>> start;
  for (const auto& out : spec.outputs) {
    SLUICE_RETURN_IF_ERROR(EnsureOutputTopic(*log, out, in_cfg.partitions, r.quiet));
    SLUICE_ASSIGN_OR_RETURN(start[out], EndOffsets(*log, out));
  }
  o.log = log.get();
  // The job's topics are protected from deletion while it runs.
  auto in_use = TopicsInUse(spec.topology, app, "job " + r.job);
  InstallInterruptHandler();
  auto t0 = std::chrono::steady_clock::now();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Job> job, Job::Start(o, std::move(spec.topology)));
  JobMetrics m;
  Status s = WaitServingDirectory(ctx, log.get(), *job, *observer,
                                  {.app = app,
                                   .job_name = r.job,
                                   .topics_in_use = std::move(in_use),
                                   .quiet = r.quiet,
                                   .show_late = true,
                                   .until_end = r.until_end,
                                   .metrics = &m});
  SLUICE_RETURN_IF_ERROR(s);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  job.reset();
  Outputs outs;
  for (const auto& out : spec.outputs) {
    SLUICE_ASSIGN_OR_RETURN(outs[out], ReadSince(*log, out, start[out]));
  }
  fmt::print("{}", spec.summarize(outs, m.late_records));
  fmt::print("  records processed     {} (all stages) in {:.2f} s\n", m.records_in, secs);
  return log->Close();
}

}  // namespace sluice::tools
