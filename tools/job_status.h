// How `sluice status` finds running jobs: every job that `sluice run` (or `serve --run`) runs on
// a data directory keeps a small status file, <data>/jobs/<app>.status, rewritten atomically
// (temporary file + rename) once a second and a last time when the job stops.
//
// The file is text, one `key=value` per line after the header line `sluice-job-status 1`:
//   app, job        the application id and the job's name
//   pid             the process running it
//   state           running | stopped | failed
//   started_ms      when it started (epoch ms); updated_ms: when the file was last written
//   records_in, records_out, lag, late   the job's totals (JobMetrics)
//   rate_in, rate_out                    records per second over the last refresh
//   metrics         HOST:PORT of its --metrics-listen, empty if none
//   error           why it failed (state failed), else empty
// Unknown keys are ignored when read, so fields can be added. A file saying `running` whose pid
// is not alive belongs to a job that died without its last write (kill -9): `sluice status`
// shows it as stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "runtime/job.h"

namespace sluice::tools {

struct JobStatusRecord {
  std::string app;
  std::string job;
  int64_t pid = 0;
  std::string state = "running";
  int64_t started_ms = 0;
  int64_t updated_ms = 0;
  int64_t records_in = 0;
  int64_t records_out = 0;
  int64_t lag = 0;
  int64_t late = 0;
  double rate_in = 0;
  double rate_out = 0;
  std::string metrics;
  std::string error;
};

// <data_dir>/jobs
std::string JobStatusDir(const std::string& data_dir);
// Writes <data_dir>/jobs/<record.app>.status atomically (creating jobs/).
Status WriteJobStatus(const std::string& data_dir, const JobStatusRecord& record);
// Every status file under <data_dir>/jobs, by app; a missing directory is no jobs. A file that
// does not parse is skipped (a writer's rename is atomic, so only a foreign file can be one).
Result<std::vector<JobStatusRecord>> ReadJobStatuses(const std::string& data_dir);
// Whether process `pid` exists (kill(pid, 0)).
bool ProcessAlive(int64_t pid);

// Keeps a running job's status file fresh: writes it at once, then once a second on a thread of
// its own, and a last time (stopped or failed) in Finish.
class JobStatusReporter {
 public:
  // `job` (not owned) must outlive Finish. Starts writing at once.
  JobStatusReporter(std::string data_dir, std::string app, std::string job_name, const Job* job,
                    std::string metrics_address);
  ~JobStatusReporter();  // Finish(Ok) if not called
  JobStatusReporter(const JobStatusReporter&) = delete;
  JobStatusReporter& operator=(const JobStatusReporter&) = delete;

  // Stops the refreshes and writes the final record: stopped, or failed with `result`.
  void Finish(const Status& result);

 private:
  void Refresh(const char* state, const std::string& error);

  std::string data_dir_;
  JobStatusRecord record_;
  const Job* job_;
  int64_t last_refresh_ns_ = 0;  // steady clock
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace sluice::tools
