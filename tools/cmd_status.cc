// sluice status [--json]: the system at a glance — topics (partitions, records, bytes,
// retention and cleanup), groups with their lag (sum and worst partition), and the jobs that run
// or ran on the data directory (from their status files, tools/job_status.h) with throughput.
//
// Topics and groups come through the LogClient (embedded, the directory's serving owner, or -b);
// jobs from <data>/jobs/*.status whenever the data directory is here (over -b alone, only with
// --data naming the served directory). A status file that says running but whose process is gone
// is shown as stopped. --json prints one JSON object with the same facts (keys below are stable;
// numbers that are unknown are null).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/log_client.h"
#include "tools/commands.h"
#include "tools/job_status.h"

namespace sluice::tools {
namespace {

struct TopicRow {
  std::string name;
  int32_t partitions = 0;
  int64_t records = 0;  // sum over partitions of end - start
  std::optional<int64_t> bytes;
  std::string retention_ms;  // "" unknown
  std::string retention_bytes;
  std::string cleanup_policy;
};

struct GroupRow {
  std::string group;
  std::string state;
  size_t members = 0;
  int64_t lag = 0;
  std::string worst_topic;  // "" when no committed partition
  int32_t worst_partition = -1;
  int64_t worst_lag = 0;
};

struct StatusArgs {
  bool json = false;
};

std::string Json(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonOrNull(const std::string& s) { return s.empty() ? "null" : Json(s); }

std::string Config(const client::TopicDescription& d, const std::string& key) {
  if (!d.configs_known) return "";
  auto it = d.configs.find(key);
  return it == d.configs.end() ? "" : it->second;
}

// "1d", "7d", "12h", "-1" (forever) for a retention.ms value.
std::string HumanMs(const std::string& ms) {
  if (ms.empty()) return "-";
  const int64_t v = std::strtoll(ms.c_str(), nullptr, 10);
  if (v < 0) return "forever";
  if (v % 86400000 == 0) return fmt::format("{}d", v / 86400000);
  if (v % 3600000 == 0) return fmt::format("{}h", v / 3600000);
  if (v % 60000 == 0) return fmt::format("{}m", v / 60000);
  return fmt::format("{}ms", v);
}

std::string HumanBytes(int64_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (int64_t{1} << 20)) return fmt::format("{:.1f} KiB", b / 1024.0);
  if (b < (int64_t{1} << 30)) return fmt::format("{:.1f} MiB", b / 1048576.0);
  return fmt::format("{:.1f} GiB", b / 1073741824.0);
}

Status Collect(client::LogClient& log, std::vector<TopicRow>* topics,
               std::vector<GroupRow>* groups) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, log.ListTopics());
  std::sort(names.begin(), names.end());
  std::map<TopicPartition, int64_t> ends;
  for (const std::string& name : names) {
    Result<client::TopicDescription> d = log.DescribeTopic(name);
    if (!d.ok()) {
      if (d.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
      return d.status();
    }
    TopicRow row;
    row.name = name;
    row.partitions = static_cast<int32_t>(d->partitions.size());
    bool bytes_known = true;
    int64_t bytes = 0;
    for (const auto& p : d->partitions) {
      row.records += std::max<int64_t>(0, p.end_offset.value() - p.start_offset.value());
      ends[TopicPartition{name, p.partition}] = p.end_offset.value();
      if (p.bytes) {
        bytes += *p.bytes;
      } else {
        bytes_known = false;
      }
    }
    if (bytes_known && !d->partitions.empty()) row.bytes = bytes;
    row.retention_ms = Config(*d, "retention.ms");
    row.retention_bytes = Config(*d, "retention.bytes");
    row.cleanup_policy = Config(*d, "cleanup.policy");
    topics->push_back(std::move(row));
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> group_ids, log.ListGroups());
  std::sort(group_ids.begin(), group_ids.end());
  for (const std::string& g : group_ids) {
    Result<client::GroupDescription> d = log.DescribeGroup(g);
    if (!d.ok()) {
      if (d.status().code() == StatusCode::kNotFound) continue;
      return d.status();
    }
    GroupRow row;
    row.group = g;
    row.state = d->state;
    row.members = d->members.size();
    for (const auto& [tp, committed] : d->committed) {
      auto end = ends.find(tp);
      if (end == ends.end()) continue;  // its topic is gone
      const int64_t lag = std::max<int64_t>(0, end->second - committed.value());
      row.lag += lag;
      if (row.worst_topic.empty() || lag > row.worst_lag) {
        row.worst_topic = tp.topic;
        row.worst_partition = tp.partition.value();
        row.worst_lag = lag;
      }
    }
    groups->push_back(std::move(row));
  }
  return Status::Ok();
}

// The state `sluice status` shows: a running file of a dead process is stopped.
std::string ShownState(const JobStatusRecord& j) {
  if (j.state == "running" && !ProcessAlive(j.pid)) return "stopped";
  return j.state;
}

std::string Age(int64_t updated_ms) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t s = std::max<int64_t>(0, (now - updated_ms) / 1000);
  if (s < 120) return fmt::format("{}s ago", s);
  if (s < 7200) return fmt::format("{}m ago", s / 60);
  return fmt::format("{}h ago", s / 3600);
}

void PrintText(const std::string& where, const std::vector<TopicRow>& topics,
               const std::vector<GroupRow>& groups, const std::vector<JobStatusRecord>* jobs) {
  fmt::print("log: {}\n\n", where);
  size_t w = 20;  // the name column fits the longest name
  for (const TopicRow& t : topics) w = std::max(w, t.name.size());
  for (const GroupRow& g : groups) w = std::max(w, g.group.size());
  fmt::print("TOPICS ({})\n", topics.size());
  if (!topics.empty()) {
    fmt::print("  {:<{}} {:>5} {:>12} {:>11} {:>9} {}\n", "NAME", w, "PARTS", "RECORDS", "BYTES",
               "RETAIN", "CLEANUP");
  }
  for (const TopicRow& t : topics) {
    fmt::print("  {:<{}} {:>5} {:>12} {:>11} {:>9} {}\n", t.name, w, t.partitions, t.records,
               t.bytes ? HumanBytes(*t.bytes) : "-", HumanMs(t.retention_ms),
               t.cleanup_policy.empty() ? "-" : t.cleanup_policy);
  }
  fmt::print("\nGROUPS ({})\n", groups.size());
  if (!groups.empty()) {
    fmt::print("  {:<{}} {:<19} {:>7} {:>10}  {}\n", "GROUP", w, "STATE", "MEMBERS", "LAG",
               "WORST PARTITION");
  }
  for (const GroupRow& g : groups) {
    fmt::print("  {:<{}} {:<19} {:>7} {:>10}  {}\n", g.group, w, g.state, g.members, g.lag,
               g.worst_topic.empty()
                   ? std::string("-")
                   : fmt::format("{}[{}] lag {}", g.worst_topic, g.worst_partition, g.worst_lag));
  }
  if (jobs == nullptr) {
    fmt::print("\nJOBS: not known through a broker alone; add --data DIR (the served directory)\n");
    return;
  }
  fmt::print("\nJOBS ({})\n", jobs->size());
  if (!jobs->empty()) {
    fmt::print("  {:<20} {:<10} {:<8} {:>8} {:>12} {:>12} {:>10} {:>10} {:>10}  {}\n", "APP", "JOB",
               "STATE", "PID", "IN", "OUT", "IN/S", "OUT/S", "LAG", "UPDATED");
  }
  for (const JobStatusRecord& j : *jobs) {
    const std::string state = ShownState(j);
    const bool running = state == "running";
    fmt::print("  {:<20} {:<10} {:<8} {:>8} {:>12} {:>12} {:>10.0f} {:>10.0f} {:>10}  {}{}\n",
               j.app, j.job, state, j.pid, j.records_in, j.records_out, running ? j.rate_in : 0.0,
               running ? j.rate_out : 0.0, j.lag, Age(j.updated_ms),
               j.error.empty() ? "" : "  error: " + j.error);
  }
}

void PrintJson(const std::string& where, const std::vector<TopicRow>& topics,
               const std::vector<GroupRow>& groups, const std::vector<JobStatusRecord>* jobs) {
  std::string out = fmt::format("{{\"log\":{},\"topics\":[", Json(where));
  for (size_t i = 0; i < topics.size(); ++i) {
    const TopicRow& t = topics[i];
    out += fmt::format(
        "{}{{\"name\":{},\"partitions\":{},\"records\":{},\"bytes\":{},\"retention_ms\":{},"
        "\"retention_bytes\":{},\"cleanup_policy\":{}}}",
        i ? "," : "", Json(t.name), t.partitions, t.records,
        t.bytes ? std::to_string(*t.bytes) : "null",
        t.retention_ms.empty() ? "null" : t.retention_ms,
        t.retention_bytes.empty() ? "null" : t.retention_bytes, JsonOrNull(t.cleanup_policy));
  }
  out += "],\"groups\":[";
  for (size_t i = 0; i < groups.size(); ++i) {
    const GroupRow& g = groups[i];
    out += fmt::format("{}{{\"group\":{},\"state\":{},\"members\":{},\"lag\":{},\"worst\":{}}}",
                       i ? "," : "", Json(g.group), Json(g.state), g.members, g.lag,
                       g.worst_topic.empty()
                           ? std::string("null")
                           : fmt::format("{{\"topic\":{},\"partition\":{},\"lag\":{}}}",
                                         Json(g.worst_topic), g.worst_partition, g.worst_lag));
  }
  out += "],\"jobs\":";
  if (jobs == nullptr) {
    out += "null";
  } else {
    out += "[";
    for (size_t i = 0; i < jobs->size(); ++i) {
      const JobStatusRecord& j = (*jobs)[i];
      const std::string state = ShownState(j);
      const bool running = state == "running";
      out += fmt::format(
          "{}{{\"app\":{},\"job\":{},\"state\":{},\"pid\":{},\"records_in\":{},"
          "\"records_out\":{},\"rate_in\":{:.1f},\"rate_out\":{:.1f},\"lag\":{},\"late\":{},"
          "\"started_ms\":{},\"updated_ms\":{},\"metrics\":{},\"error\":{}}}",
          i ? "," : "", Json(j.app), Json(j.job), Json(state), j.pid, j.records_in, j.records_out,
          running ? j.rate_in : 0.0, running ? j.rate_out : 0.0, j.lag, j.late, j.started_ms,
          j.updated_ms, JsonOrNull(j.metrics), JsonOrNull(j.error));
    }
    out += "]";
  }
  out += "}\n";
  fmt::print("{}", out);
}

Status RunStatus(const CliContext& ctx, const StatusArgs& a) {
  SLUICE_ASSIGN_OR_RETURN(auto log, OpenClient(ctx, Access::kRead));
  std::vector<TopicRow> topics;
  std::vector<GroupRow> groups;
  SLUICE_RETURN_IF_ERROR(Collect(*log, &topics, &groups));
  SLUICE_RETURN_IF_ERROR(log->Close());
  // Jobs keep their status files in the data directory: known when it is here.
  std::optional<std::vector<JobStatusRecord>> jobs;
  std::error_code ec;
  if (ctx.bootstrap_servers.empty() || std::filesystem::is_directory(ctx.data_dir, ec)) {
    SLUICE_ASSIGN_OR_RETURN(jobs, ReadJobStatuses(ctx.data_dir));
  }
  const std::string where = LogLocation(ctx);
  if (a.json) {
    PrintJson(where, topics, groups, jobs ? &*jobs : nullptr);
  } else {
    PrintText(where, topics, groups, jobs ? &*jobs : nullptr);
  }
  return Status::Ok();
}

}  // namespace

void RegisterStatusCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Topics, groups with their lag, and jobs with their throughput, at a glance");
  cmd->add_flag("--json", args->json, "One JSON object (stable keys) instead of tables");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunStatus(ctx, *args); }; });
}

}  // namespace sluice::tools
