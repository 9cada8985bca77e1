#include "tools/job_observer.h"

#include <fmt/format.h>

namespace sluice::tools {

Result<std::unique_ptr<JobObserver>> JobObserver::Start(const std::string& metrics_listen) {
  std::unique_ptr<JobObserver> o(new JobObserver());
  if (!metrics_listen.empty()) {
    SLUICE_ASSIGN_OR_RETURN(o->metrics_, MetricsHttpServer::Start(metrics_listen));
  }
  return o;
}

JobObserver::~JobObserver() { Finish(Status::Ok()); }

void JobObserver::Attach(Target t) {
  if (metrics_) {
    const Job* job = t.job;
    metrics_->AddSource([job](PrometheusText& out) { job->AppendMetrics(out); });
    if (t.server != nullptr) {
      metrics_->AddSource([server = t.server](PrometheusText& out) { server->AppendMetrics(out); });
    } else if (t.log != nullptr) {
      metrics_->AddSource([log = t.log](PrometheusText& out) { AppendLogMetrics(*log, out); });
    }
    if (t.announce) {
      fmt::print(stderr, "{}: metrics at http://{}/metrics\n", t.app, metrics_->address());
    }
  }
  if (!t.data_dir.empty()) {
    status_ = std::make_unique<JobStatusReporter>(t.data_dir, t.app, t.job_name, t.job,
                                                  metrics_address());
  }
}

void JobObserver::Finish(const Status& result) {
  if (finished_) return;
  finished_ = true;
  if (metrics_) metrics_->Stop();
  if (status_) status_->Finish(result);
}

}  // namespace sluice::tools
