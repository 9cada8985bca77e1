// Metrics for Prometheus: a lock-free latency histogram and a writer of the Prometheus text
// exposition format (version 0.0.4). The server, the runtime and the tools fill a
// PrometheusText from their own counters when a scrape arrives; nothing here serves HTTP
// (tools/metrics_http.h does).
//
//   PrometheusText out;
//   out.Counter("sluice_requests_total", "Requests handled", {{"api", "Produce"}}, 12);
//   out.Histogram("sluice_fsync_seconds", "Log fsync latency", {}, FsyncLatency().Snapshot());
//   std::string body = out.Take();
//
// Thread safety: LatencyHistogram is thread-safe (relaxed atomics; Record never blocks).
// PrometheusText is not thread-safe (one per scrape).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class Log;

// Counts of durations in fixed buckets (upper bounds 100 µs … 10 s, roughly ×2.5 apart) plus
// their sum, for a Prometheus histogram.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   1.0,    10.0};
  struct Snapshot {
    std::array<int64_t, kBounds.size() + 1> buckets{};  // per bucket, not cumulative; last = +Inf
    int64_t count = 0;
    double sum_seconds = 0;
  };

  void Record(std::chrono::nanoseconds d);
  Snapshot Read() const;

 private:
  std::array<std::atomic<int64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<int64_t> sum_ns_{0};
};

// Records the time from construction to destruction into a histogram.
class ScopedLatency {
 public:
  explicit ScopedLatency(LatencyHistogram* h) : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~ScopedLatency() {
    if (h_) h_->Record(std::chrono::steady_clock::now() - start_);
  }
  ScopedLatency(const ScopedLatency&) = delete;
  ScopedLatency& operator=(const ScopedLatency&) = delete;

 private:
  LatencyHistogram* h_;
  std::chrono::steady_clock::time_point start_;
};

// The process's log fsyncs (every Segment::Sync that reached the file system).
LatencyHistogram& FsyncLatency();

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Builds one exposition: each family's # HELP and # TYPE lines come before its first sample
// (a family's samples must be added together, before the next family).
class PrometheusText {
 public:
  void Counter(std::string_view name, std::string_view help, const MetricLabels& labels,
               double value);
  void Gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
             double value);
  // `name` without suffix: writes name_bucket{le=...} (cumulative), name_sum and name_count.
  void Histogram(std::string_view name, std::string_view help, const MetricLabels& labels,
                 const LatencyHistogram::Snapshot& h);
  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Family(std::string_view name, std::string_view help, std::string_view type);
  void Sample(std::string_view name, const MetricLabels& labels, double value,
              const std::pair<std::string, std::string>* extra = nullptr);
  std::string out_;
  std::set<std::string, std::less<>> families_;
};

// The log's partitions (count per topic), each partition's log end and start offsets, and the
// process's fsync latency.
void AppendLogMetrics(Log& log, PrometheusText& out);

}  // namespace sluice
