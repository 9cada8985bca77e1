#include "core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/log.h"

namespace sluice {

void LatencyHistogram::Record(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  const size_t i =
      static_cast<size_t>(std::lower_bound(kBounds.begin(), kBounds.end(), s) - kBounds.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(d.count(), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Read() const {
  Snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

LatencyHistogram& FsyncLatency() {
  static LatencyHistogram h;
  return h;
}

namespace {

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string Escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

void PrometheusText::Family(std::string_view name, std::string_view help, std::string_view type) {
  if (families_.count(name) > 0) return;
  families_.emplace(name);
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusText::Sample(std::string_view name, const MetricLabels& labels, double value,
                            const std::pair<std::string, std::string>* extra) {
  out_ += name;
  if (!labels.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto add = [&](const std::pair<std::string, std::string>& l) {
      if (!first) out_ += ',';
      first = false;
      out_ += fmt::format("{}=\"{}\"", l.first, Escape(l.second));
    };
    for (const auto& l : labels) add(l);
    if (extra != nullptr) add(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += Number(value);
  out_ += '\n';
}

void PrometheusText::Counter(std::string_view name, std::string_view help,
                             const MetricLabels& labels, double value) {
  Family(name, help, "counter");
  Sample(name, labels, value);
}

void PrometheusText::Gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
                           double value) {
  Family(name, help, "gauge");
  Sample(name, labels, value);
}

void PrometheusText::Histogram(std::string_view name, std::string_view help,
                               const MetricLabels& labels, const LatencyHistogram::Snapshot& h) {
  Family(name, help, "histogram");
  const std::string bucket = fmt::format("{}_bucket", name);
  int64_t cumulative = 0;
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i];
    std::pair<std::string, std::string> le{"le", i < LatencyHistogram::kBounds.size()
                                                     ? Number(LatencyHistogram::kBounds[i])
                                                     : std::string("+Inf")};
    Sample(bucket, labels, static_cast<double>(cumulative), &le);
  }
  Sample(fmt::format("{}_sum", name), labels, h.sum_seconds);
  Sample(fmt::format("{}_count", name), labels, static_cast<double>(h.count));
}

void AppendLogMetrics(Log& log, PrometheusText& out) {
  struct Row {
    std::string topic;
    int32_t partition;
    int64_t start;
    int64_t end;
  };
  std::vector<Row> rows;
  std::vector<std::pair<std::string, int32_t>> counts;
  Result<std::vector<std::string>> topics = log.ListTopics();
  if (topics.ok()) {
    for (const std::string& t : *topics) {
      Result<TopicConfig> c = log.DescribeTopic(t);
      if (!c.ok()) continue;  // deleted meanwhile
      counts.emplace_back(t, c->partitions);
      for (int32_t p = 0; p < c->partitions; ++p) {
        Result<Partition*> part = log.GetPartition(t, PartitionId(p));
        if (!part.ok()) continue;
        rows.push_back(
            {t, p, (*part)->log_start_offset().value(), (*part)->high_watermark().value()});
      }
    }
  }
  for (const auto& [t, n] : counts) {
    out.Gauge("sluice_log_partitions", "Partitions of each topic in the log", {{"topic", t}}, n);
  }
  for (const Row& r : rows) {
    out.Gauge("sluice_log_end_offset", "Log end offset (high watermark) of each partition",
              {{"topic", r.topic}, {"partition", std::to_string(r.partition)}},
              static_cast<double>(r.end));
  }
  for (const Row& r : rows) {
    out.Gauge("sluice_log_start_offset", "First offset still held by each partition",
              {{"topic", r.topic}, {"partition", std::to_string(r.partition)}},
              static_cast<double>(r.start));
  }
  out.Histogram("sluice_log_fsync_seconds", "Latency of the log's segment fsyncs in this process",
                {}, FsyncLatency().Read());
}

}  // namespace sluice
