#include "tools/job_status.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::tools {
namespace {

constexpr std::string_view kHeader = "sluice-job-status 1";
constexpr std::string_view kSuffix = ".status";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Values are one line: a newline in an error message becomes a space.
std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::string Serialize(const JobStatusRecord& r) {
  return fmt::format(
      "{}\napp={}\njob={}\npid={}\nstate={}\nstarted_ms={}\nupdated_ms={}\nrecords_in={}\n"
      "records_out={}\nlag={}\nlate={}\nrate_in={:.1f}\nrate_out={:.1f}\nmetrics={}\nerror={}\n",
      kHeader, r.app, r.job, r.pid, r.state, r.started_ms, r.updated_ms, r.records_in,
      r.records_out, r.lag, r.late, r.rate_in, r.rate_out, r.metrics, OneLine(r.error));
}

bool Parse(const std::string& text, JobStatusRecord* r) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) return false;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string v = line.substr(eq + 1);
    auto num = [&] { return static_cast<int64_t>(std::strtoll(v.c_str(), nullptr, 10)); };
    if (key == "app") r->app = v;
    if (key == "job") r->job = v;
    if (key == "pid") r->pid = num();
    if (key == "state") r->state = v;
    if (key == "started_ms") r->started_ms = num();
    if (key == "updated_ms") r->updated_ms = num();
    if (key == "records_in") r->records_in = num();
    if (key == "records_out") r->records_out = num();
    if (key == "lag") r->lag = num();
    if (key == "late") r->late = num();
    if (key == "rate_in") r->rate_in = std::strtod(v.c_str(), nullptr);
    if (key == "rate_out") r->rate_out = std::strtod(v.c_str(), nullptr);
    if (key == "metrics") r->metrics = v;
    if (key == "error") r->error = v;
  }
  return !r->app.empty();
}

}  // namespace

std::string JobStatusDir(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "jobs").string();
}

Status WriteJobStatus(const std::string& data_dir, const JobStatusRecord& record) {
  const std::filesystem::path dir = JobStatusDir(data_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("creating {}: {}", dir.string(), ec.message());
  const std::filesystem::path path = dir / (record.app + std::string(kSuffix));
  const std::filesystem::path tmp = dir / fmt::format(".{}{}.tmp", record.app, kSuffix);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << Serialize(record);
    out.flush();
    if (!out) return IOError("writing {}: {}", tmp.string(), std::strerror(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return IOError("renaming {} to {}: {}", tmp.string(), path.string(), ec.message());
  return Status::Ok();
}

Result<std::vector<JobStatusRecord>> ReadJobStatuses(const std::string& data_dir) {
  std::vector<JobStatusRecord> out;
  const std::filesystem::path dir = JobStatusDir(data_dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") || !name.ends_with(kSuffix)) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    JobStatusRecord r;
    if (in && Parse(text.str(), &r)) out.push_back(std::move(r));
  }
  if (ec) return IOError("listing {}: {}", dir.string(), ec.message());
  std::sort(out.begin(), out.end(),
            [](const JobStatusRecord& a, const JobStatusRecord& b) { return a.app < b.app; });
  return out;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

JobStatusReporter::JobStatusReporter(std::string data_dir, std::string app, std::string job_name,
                                     const Job* job, std::string metrics_address)
    : data_dir_(std::move(data_dir)), job_(job) {
  record_.app = std::move(app);
  record_.job = std::move(job_name);
  record_.pid = static_cast<int64_t>(getpid());
  record_.started_ms = NowMs();
  record_.metrics = std::move(metrics_address);
  last_refresh_ns_ = SteadyNs();
  Refresh("running", "");
  thread_ = std::thread([this] {
    while (!done_.load()) {
      // Short sleeps, so Finish does not wait a whole second for the thread.
      for (int i = 0; i < 20 && !done_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!done_.load()) Refresh("running", "");
    }
  });
}

JobStatusReporter::~JobStatusReporter() { Finish(Status::Ok()); }

void JobStatusReporter::Finish(const Status& result) {
  if (done_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  Refresh(result.ok() ? "stopped" : "failed", result.ok() ? "" : result.ToString());
}

void JobStatusReporter::Refresh(const char* state, const std::string& error) {
  const JobMetrics m = job_->metrics();
  const int64_t now = SteadyNs();
  const double secs = static_cast<double>(now - last_refresh_ns_) / 1e9;
  if (secs > 0.01) {
    record_.rate_in = static_cast<double>(m.records_in - record_.records_in) / secs;
    record_.rate_out = static_cast<double>(m.records_out - record_.records_out) / secs;
    last_refresh_ns_ = now;
  }
  if (std::string_view(state) != "running") record_.rate_in = record_.rate_out = 0;
  record_.records_in = m.records_in;
  record_.records_out = m.records_out;
  record_.lag = m.lag;
  record_.late = m.late_records;
  record_.state = state;
  record_.error = error;
  record_.updated_ms = NowMs();
  // A status file that cannot be written must not stop the job; `sluice status` then shows the
  // last one written.
  WriteJobStatus(data_dir_, record_).IgnoreError();
}

}  // namespace sluice::tools
