// JobObserver: what `sluice run` (and `serve --run`) shows of a running job — its Prometheus
// metrics over HTTP (--metrics-listen, metrics_http.h) and its status file for `sluice status`
// (job_status.h).
//
//   SLUICE_ASSIGN_OR_RETURN(auto observer, JobObserver::Start(args.metrics_listen));  // first
//   ... open the log, start the job and the server ...
//   observer->Attach({.job = job.get(), .app = app, ...});
//   Status s = WaitWithProgress(*job, ...);
//   observer->Finish(s);  // before the job, the server or the log go away
//
// Start binds the metrics address before the caller starts anything, so a bad address is an
// error with nothing to undo. Thread safety: one thread calls Attach and Finish.
#pragma once

#include <memory>
#include <string>

#include "core/log.h"
#include "core/status.h"
#include "runtime/job.h"
#include "server/kafka_server.h"
#include "tools/job_status.h"
#include "tools/metrics_http.h"

namespace sluice::tools {

class JobObserver {
 public:
  // `metrics_listen` "HOST:PORT", or empty for no metrics server.
  static Result<std::unique_ptr<JobObserver>> Start(const std::string& metrics_listen);
  ~JobObserver();  // Finish(Ok) if attached and not finished

  struct Target {
    const Job* job = nullptr;  // required; must outlive Finish
    std::string app;
    std::string job_name;
    // The log the job runs on (embedded runs); its partitions and end offsets are scraped
    // unless `server` is given (whose metrics include them). Null over a broker.
    Log* log = nullptr;
    // The server serving the data directory meanwhile, if any (its request metrics too).
    const kafka::KafkaServer* server = nullptr;
    // Where to keep <data_dir>/jobs/<app>.status; empty: no status file (a run over a broker).
    std::string data_dir;
    // Print "metrics at http://HOST:PORT/metrics" on stderr (with a metrics server).
    bool announce = true;
  };
  // Starts serving `target`'s metrics and writing its status file.
  void Attach(Target target);
  // Stops the metrics server and writes the final status file (stopped, or failed: `result`).
  void Finish(const Status& result);

  // The metrics server's "HOST:PORT", empty without one.
  std::string metrics_address() const { return metrics_ ? metrics_->address() : std::string(); }

 private:
  JobObserver() = default;
  std::unique_ptr<MetricsHttpServer> metrics_;
  std::unique_ptr<JobStatusReporter> status_;
  bool finished_ = false;
};

}  // namespace sluice::tools
