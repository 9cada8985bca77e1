#include "tools/job_runner.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "examples/balances.h"
#include "examples/word_count.h"
#include "tools/commands.h"

namespace sluice::tools {

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
    fmt::print(stderr, "{}: in {}, out {}, lag {}{}\n", app, m.records_in, m.records_out, m.lag,
               show_late ? fmt::format(", late {}", m.late_records) : "");
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
