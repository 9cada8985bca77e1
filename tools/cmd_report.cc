// sluice report [--out FILE] [--counts TOPIC] [--sessions TOPIC] [--top N] [--title T]: the
// analytics demo's HTML report (html_report.h) from the pageviews and sessions jobs' output
// topics — views per minute of the top pages and session lengths, as inline SVG. Reads each
// topic from its beginning to the end offsets it had when the command started, through the
// LogClient (embedded, the serving owner, or -b). Prints the report's absolute path.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "client/log_client.h"
#include "tools/commands.h"
#include "tools/html_report.h"

namespace sluice::tools {
namespace {

struct ReportArgs {
  std::string out = "report.html";
  std::string counts = "pageviews-counts";
  std::string sessions = "sessions";
  size_t top = 5;
  std::string title = "Sluice analytics demo";
};

// Calls fn with each record value of `topic`, from the beginning to its end offsets now.
template <typename Fn>
Status ReadTopic(client::LogClient& log, const std::string& topic, Fn&& fn) {
  Result<client::TopicDescription> d = log.DescribeTopic(topic);
  if (!d.ok()) {
    if (d.status().code() != StatusCode::kNotFound) return d.status();
    return NotFound(
        "topic '{}' does not exist; run the jobs that write it first (sluice run pageviews "
        "--until-end, sluice run sessions --until-end), or name another topic",
        topic);
  }
  std::vector<TopicPartition> all;
  std::map<TopicPartition, Offset> ends;
  for (const auto& p : d->partitions) {
    TopicPartition tp{topic, p.partition};
    all.push_back(tp);
    ends[tp] = p.end_offset;
  }
  SLUICE_ASSIGN_OR_RETURN(auto consumer, log.NewConsumer(client::ConsumerConfig{}));
  SLUICE_RETURN_IF_ERROR(consumer->Assign(all));
  SLUICE_RETURN_IF_ERROR(consumer->SeekToBeginning(all));
  while (true) {
    bool done = true;
    for (const auto& tp : all) {
      SLUICE_ASSIGN_OR_RETURN(Offset pos, consumer->Position(tp));
      if (pos < ends[tp]) done = false;
    }
    if (done) return Status::Ok();
    if (Interrupted()) return Aborted("interrupted");
    SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords records,
                            consumer->Poll(std::chrono::milliseconds(100)));
    for (const client::ConsumedRecord& r : records) {
      if (r.offset < ends[*r.tp] && r.value) fn(*r.value);
    }
  }
}

Status RunReport(const CliContext& ctx, const ReportArgs& a) {
  if (a.top < 1) return UsageError("--top must be 1 or more");
  SLUICE_ASSIGN_OR_RETURN(auto log, OpenClient(ctx, Access::kRead));
  AnalyticsData data;
  int64_t skipped = 0;
  SLUICE_RETURN_IF_ERROR(ReadTopic(*log, a.counts, [&](std::string_view v) {
    if (!AddPageViews(v, &data)) ++skipped;
  }));
  SLUICE_RETURN_IF_ERROR(ReadTopic(*log, a.sessions, [&](std::string_view v) {
    if (!AddSession(v, &data)) ++skipped;
  }));
  SLUICE_RETURN_IF_ERROR(log->Close());
  const std::string html = RenderAnalyticsReport(data, a.top, a.title);
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(a.out, ec);
  {
    std::ofstream f(path, std::ios::trunc);
    f << html;
    f.flush();
    if (!f) return IOError("cannot write the report to {}; choose another --out", path.string());
  }
  if (skipped > 0) {
    fmt::print(stderr, "skipped {} records that were not the jobs' JSON\n", skipped);
  }
  fmt::print("report: {}\n", path.string());
  return Status::Ok();
}

}  // namespace

void RegisterReportCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write the analytics demo's HTML report (charts of pageviews and sessions)");
  cmd->add_option("--out", args->out, "The HTML file to write (default report.html)");
  cmd->add_option("--counts", args->counts,
                  "The pageviews job's per-page counts topic (default pageviews-counts)");
  cmd->add_option("--sessions", args->sessions,
                  "The sessions job's output topic (default sessions)");
  cmd->add_option("--top", args->top, "Pages in the views chart (default 5, at most 5 drawn)");
  cmd->add_option("--title", args->title, "The page's title");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunReport(ctx, *args); }; });
}

}  // namespace sluice::tools
