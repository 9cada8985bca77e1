// sluice consume TOPIC: prints records.
//
// Reading never takes the writer lock: the data directory is opened read-only, so consume runs
// alongside a producer in another process and (with --follow) sees its appends as they land.
// With --group, committing is a write: it opens the directory as a writer for the moment of the
// commit only (periodically while following, and once at the end), and the process holds the
// group's member lock (core/group_member_lock.h), so a second process reading the group directly
// is refused and told to serve the directory.
//
// Through a broker (--bootstrap-server, or a directory's serving owner), --group makes the
// process a real group member (Subscribe): the broker splits the partitions between the members
// and moves them when one joins or leaves. It commits what it printed when partitions are
// revoked, every 2 s while following, and at exit. With --partition, --from-beginning, --offset
// or --from-time it reads exactly those partitions from there instead (no membership) and
// commits to the group as before.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/log_client.h"
#include "core/group_member_lock.h"
#include "tools/commands.h"
#include "tools/format.h"
#include "tools/progress.h"
#include "tools/time_parse.h"
#include "tools/topic_check.h"

namespace sluice::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct ConsumeArgs {
  std::string topic;
  int32_t partition = 0;
  bool has_partition = false;
  bool from_beginning = false;
  int64_t offset = 0;
  bool has_offset = false;
  std::string from_time;
  std::string group;
  bool has_group = false;
  int64_t max = 0;
  bool has_max = false;
  bool follow = false;
  std::string format{RecordFormat::kDefault};
  std::string isolation = "read_uncommitted";
  bool print_null = false;
};

// Commits `next` (the offset after the last printed record, per partition) for `group`.
// Through a broker the consumer commits (it carries the group id). Embedded, the reader holds no
// lock: committing is a write, so it opens the directory as the writer for the moment of the
// commit only; `wait`: how long to wait for another writer's lock.
Status CommitGroup(const CliContext& ctx, client::LogConsumer& consumer, const std::string& group,
                   const std::map<TopicPartition, Offset>& next, std::chrono::milliseconds wait) {
  if (!ctx.bootstrap_servers.empty()) return consumer.Commit(next);
  CliContext writer_ctx = ctx;
  writer_ctx.lock_wait = wait;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> writer,
                          OpenClient(writer_ctx, Access::kWrite));
  SLUICE_RETURN_IF_ERROR(writer->ResetGroupOffsets(group, next));
  return writer->Close();
}

// Says on stderr that the group's committed offset of `tp` lies below the log start: the records
// in between were deleted (retention, delete-records) before the group read them.
void WarnSkipped(const std::string& group, const TopicPartition& tp, Offset committed,
                 Offset start) {
  fmt::print(stderr,
             "sluice: warning: group '{}' committed offset {} for {}-{}, but the log now starts "
             "at offset {}: {} offset(s) were deleted (retention or delete-records) before the "
             "group read them; continuing at offset {}\n",
             group, committed.value(), tp.topic, tp.partition.value(), start.value(),
             start.value() - committed.value(), start.value());
}

// Says on stderr, once for the topic, which partitions hold no record at or after --from-time
// (their records are all older), so nothing is read there.
void WarnPastEnd(const ConsumeArgs& args, const std::vector<TopicPartition>& tps,
                 const std::map<TopicPartition, Offset>& at,
                 const std::map<TopicPartition, Offset>& starts,
                 const std::map<TopicPartition, Offset>& ends) {
  std::vector<std::string> past;
  for (const TopicPartition& tp : tps) {
    // An empty partition has nothing at any time; only one with records all older than T counts.
    if (at.at(tp) >= ends.at(tp) && starts.at(tp) < ends.at(tp)) {
      past.push_back(std::to_string(tp.partition.value()));
    }
  }
  if (past.empty()) return;
  std::string list;
  for (const std::string& p : past) list += (list.empty() ? "" : ", ") + p;
  fmt::print(stderr,
             "sluice: warning: --from-time {} is past the last record of {} of {} partition(s) of "
             "topic '{}' (partition{} {}): {}\n",
             args.from_time, past.size(), tps.size(), args.topic, past.size() == 1 ? "" : "s", list,
             args.follow
                 ? "nothing to read there until new records arrive (--follow waits for them)"
                 : "nothing to read there");
}

// Positions the consumer on every partition as the flags ask.
Status SeekStart(client::LogClient& log, client::LogConsumer& consumer, const ConsumeArgs& args,
                 const std::vector<TopicPartition>& tps) {
  if (args.from_beginning) return consumer.SeekToBeginning(tps);
  if (args.has_offset) {
    SLUICE_ASSIGN_OR_RETURN(auto starts, log.ListOffsets(tps, client::OffsetSpec::Earliest()));
    SLUICE_ASSIGN_OR_RETURN(auto ends, log.ListOffsets(tps, client::OffsetSpec::Latest()));
    for (const TopicPartition& tp : tps) {
      Offset start = starts[tp], end = ends[tp];
      if (Offset(args.offset) < start || Offset(args.offset) > end) {
        return OutOfRange(
            "offset {} is out of range for topic '{}' partition {}: valid offsets are {}..{} "
            "({} is the end); see 'sluice topic describe {}'",
            args.offset, tp.topic, tp.partition.value(), start.value(), end.value(), end.value(),
            tp.topic);
      }
      SLUICE_RETURN_IF_ERROR(consumer.Seek(tp, Offset(args.offset)));
    }
    return Status::Ok();
  }
  if (!args.from_time.empty()) {
    SLUICE_ASSIGN_OR_RETURN(Timestamp ts, ParseTime(args.from_time));
    SLUICE_ASSIGN_OR_RETURN(auto at, log.ListOffsets(tps, client::OffsetSpec::ForTime(ts)));
    SLUICE_ASSIGN_OR_RETURN(auto starts, log.ListOffsets(tps, client::OffsetSpec::Earliest()));
    SLUICE_ASSIGN_OR_RETURN(auto ends, log.ListOffsets(tps, client::OffsetSpec::Latest()));
    WarnPastEnd(args, tps, at, starts, ends);
    for (const TopicPartition& tp : tps) SLUICE_RETURN_IF_ERROR(consumer.Seek(tp, at[tp]));
    return Status::Ok();
  }
  if (!args.group.empty()) {
    // The group's committed offsets; the earliest offset where there is none or it is no
    // longer in the log (retention deleted it). An offset past the end cannot come from
    // consuming this log: the offsets or the log lost something, and restarting from the
    // beginning would silently print everything again.
    std::map<TopicPartition, Offset> committed;
    Result<client::GroupDescription> group = log.DescribeGroup(args.group);
    if (group.ok()) {
      committed = group->committed;
    } else if (group.status().code() != StatusCode::kNotFound) {
      return group.status();
    }
    SLUICE_ASSIGN_OR_RETURN(auto starts, log.ListOffsets(tps, client::OffsetSpec::Earliest()));
    SLUICE_ASSIGN_OR_RETURN(auto ends, log.ListOffsets(tps, client::OffsetSpec::Latest()));
    for (const TopicPartition& tp : tps) {
      auto it = committed.find(tp);
      bool usable = false;
      if (it != committed.end()) {
        if (it->second > ends[tp]) {
          return OutOfRange(
              "group '{}' committed offset {} for {}-{}, but the partition ends at offset {}: the "
              "log lost records or the group's offsets are wrong; move the group with 'sluice "
              "group reset {} --topic {} --to-earliest' (or --to-latest, --to-offset N) and run "
              "again",
              args.group, it->second, tp.topic, tp.partition, ends[tp], args.group, tp.topic);
        }
        usable = it->second >= starts[tp];
        if (!usable) WarnSkipped(args.group, tp, it->second, starts[tp]);
      }
      if (usable) {
        SLUICE_RETURN_IF_ERROR(consumer.Seek(tp, it->second));
      } else {
        SLUICE_RETURN_IF_ERROR(consumer.SeekToBeginning({tp}));
      }
    }
    return Status::Ok();
  }
  return consumer.SeekToEnd(tps);
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

Status WriteOut(fmt::memory_buffer& out) {
  if (out.size() == 0) return Status::Ok();
  size_t n = std::fwrite(out.data(), 1, out.size(), stdout);
  out.clear();
  if (n == 0 || std::fflush(stdout) != 0) {
    return IOError("cannot write to stdout; check the output file or pipe");
  }
  return Status::Ok();
}

// Reports a failed periodic commit once per reason (and its recovery), so a failure is said at
// once, not only at exit.
class CommitReporter {
 public:
  explicit CommitReporter(std::string group) : group_(std::move(group)) {}
  void Report(const Status& c, std::string_view advice) {
    if (c.ok()) {
      if (!failure_.empty()) {
        fmt::print(stderr, "sluice: committing offsets for group '{}' works again\n", group_);
      }
      failure_.clear();
    } else if (c.message() != failure_) {
      failure_ = c.message();
      fmt::print(stderr,
                 "sluice: could not commit offsets for group '{}' ({}); retrying every {} s; "
                 "records printed meanwhile are committed at exit, or printed again if this "
                 "process is killed{}\n",
                 group_, OneLine(failure_),
                 std::chrono::duration_cast<std::chrono::seconds>(kCommitInterval).count(), advice);
    }
  }
  static constexpr auto kCommitInterval = std::chrono::seconds(2);

 private:
  std::string group_;
  std::string failure_;
};

// consume --group through a broker: a group member. The broker assigns partitions; `next` holds,
// per partition this member owns, the offset after the last printed record (its start position
// until one is printed). Commits: the revoked partitions' offsets inside the revoke callback
// (eager rebalancing: before they are released, so the commit counts and the next owner starts
// there), every kCommitInterval while following, and at exit. A partition is only ever
// committed while this member owns it, so it never overwrites a new owner's commits.
Status RunGroupMember(const CliContext& ctx, const ConsumeArgs& args, const RecordFormat& format,
                      client::LogClient& log, const std::vector<TopicPartition>& all) {
  // Without --follow, read each owned partition up to its end as it was when we started.
  SLUICE_ASSIGN_OR_RETURN(auto end, log.ListOffsets(all, client::OffsetSpec::Latest()));
  std::map<TopicPartition, Offset> next, committed;
  std::vector<TopicPartition> gained;
  client::LogConsumer* self = nullptr;
  Status revoke_error;
  CommitReporter reporter(args.group);
  int64_t printed = 0;

  client::ConsumerConfig config;
  config.group_id = args.group;
  config.on_assigned = [&](const std::vector<TopicPartition>& tps) {
    gained.insert(gained.end(), tps.begin(), tps.end());
  };
  config.on_revoked = [&](const std::vector<TopicPartition>& tps) {
    // Everything printed so far is already written out (Poll runs between writes).
    std::map<TopicPartition, Offset> done;
    for (const TopicPartition& tp : tps) {
      auto it = next.find(tp);
      if (it == next.end()) continue;
      if (committed[tp] != it->second) done[tp] = it->second;
      next.erase(tp);
      committed.erase(tp);
    }
    std::erase_if(gained, [&](const TopicPartition& tp) {
      return std::find(tps.begin(), tps.end(), tp) != tps.end();
    });
    if (done.empty() || self == nullptr) return;
    Status c = self->Commit(done);
    if (!c.ok() && revoke_error.ok()) {
      revoke_error = c.WithContext(
          fmt::format("could not commit the revoked partitions of group '{}'; their records "
                      "since the last commit will be printed again by their next owner",
                      args.group));
    }
  };
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogConsumer> consumer, log.NewConsumer(config));
  self = consumer.get();
  SLUICE_RETURN_IF_ERROR(consumer->Subscribe({args.topic}));

  // Newly assigned partitions start at the group's committed offset (the earliest where there is
  // none, or it is below the log start: the consumer's auto_offset_reset); a committed offset
  // past the end is reported, as the non-member path does.
  auto adopt = [&]() -> Status {
    if (gained.empty()) return Status::Ok();
    std::vector<TopicPartition> tps;
    tps.swap(gained);
    SLUICE_ASSIGN_OR_RETURN(auto group_committed, consumer->Committed(tps));
    SLUICE_ASSIGN_OR_RETURN(auto starts, log.ListOffsets(tps, client::OffsetSpec::Earliest()));
    SLUICE_ASSIGN_OR_RETURN(auto ends, log.ListOffsets(tps, client::OffsetSpec::Latest()));
    for (const TopicPartition& tp : tps) {
      auto it = group_committed.find(tp);
      Offset start = starts[tp];
      if (it != group_committed.end()) {
        if (it->second > ends[tp]) {
          return OutOfRange(
              "group '{}' committed offset {} for {}-{}, but the partition ends at offset {}: "
              "the log lost records or the group's offsets are wrong; move the group with "
              "'sluice group reset {} --topic {} --to-earliest' (or --to-latest, --to-offset N) "
              "and run again",
              args.group, it->second, tp.topic, tp.partition, ends[tp], args.group, tp.topic);
        }
        if (it->second >= start) {
          start = it->second;
        } else {
          WarnSkipped(args.group, tp, it->second, start);
        }
        committed[tp] = it->second;
      }
      next[tp] = start;
    }
    return Status::Ok();
  };
  auto at_end = [&] {
    if (next.empty()) return false;
    for (const auto& [tp, n] : next) {
      if (n < end[tp]) return false;
    }
    return true;
  };

  fmt::memory_buffer out;
  Status status;
  auto last_commit = Clock::now();
  // Without --follow, a member the group gives nothing (more members than partitions) stops
  // after a session timeout instead of waiting for ever.
  const auto give_up = Clock::now() + client::ConsumerConfig().session_timeout;
  while (!Interrupted()) {
    if (args.has_max && printed >= args.max) break;
    if (!args.follow && (at_end() || (next.empty() && Clock::now() >= give_up))) break;
    Result<client::ConsumerRecords> polled = consumer->Poll(std::chrono::milliseconds(200));
    if (!revoke_error.ok()) {
      status = std::exchange(revoke_error, Status::Ok());
      break;
    }
    if (!polled.ok()) {
      status = polled.status();
      break;
    }
    status = adopt();
    if (!status.ok()) break;
    const TopicPartition* run_tp = nullptr;
    Offset* run_next = nullptr;
    Offset run_end;
    for (const client::ConsumedRecord& r : *polled) {
      if (args.has_max && printed >= args.max) break;
      if (r.tp != run_tp) {
        run_tp = r.tp;
        auto it = next.find(*r.tp);
        run_next = it == next.end() ? nullptr : &it->second;
        run_end = end[*r.tp];
      }
      if (run_next == nullptr) continue;  // not (or no longer) ours
      if (!args.follow && r.offset >= run_end) continue;
      format.Append(r, out);
      *run_next = r.offset + 1;
      ++printed;
      if (out.size() >= (1 << 20)) {
        status = WriteOut(out);
        if (!status.ok()) break;
      }
    }
    if (!status.ok()) break;
    status = WriteOut(out);
    if (!status.ok()) break;
    if (args.follow && Clock::now() - last_commit >= CommitReporter::kCommitInterval) {
      std::map<TopicPartition, Offset> todo;
      for (const auto& [tp, n] : next) {
        if (committed.find(tp) == committed.end() || committed[tp] != n) todo[tp] = n;
      }
      if (!todo.empty()) {
        Status c = consumer->Commit(todo);
        if (c.ok()) {
          for (const auto& [tp, n] : todo) committed[tp] = n;
        }
        reporter.Report(c, "");
      }
      last_commit = Clock::now();
    }
  }
  Status written = WriteOut(out);
  if (status.ok()) status = written;
  // Commit what was printed, even when stopping on an error or an interrupt; then leave the
  // group (the revoke callback finds nothing left to commit).
  std::map<TopicPartition, Offset> todo;
  for (const auto& [tp, n] : next) {
    if (committed.find(tp) == committed.end() || committed[tp] != n) todo[tp] = n;
  }
  if (!todo.empty()) {
    Status c = consumer->Commit(todo);
    if (!c.ok()) {
      return c.WithContext(fmt::format(
          "printed {} records but could not commit them for group '{}'", printed, args.group));
    }
    for (const auto& [tp, n] : todo) committed[tp] = n;
  }
  consumer->Close();
  if (status.ok()) status = std::exchange(revoke_error, Status::Ok());
  return status;
}

Status RunConsume(const CliContext& ctx, const ConsumeArgs& args) {
  SLUICE_ASSIGN_OR_RETURN(RecordFormat format, RecordFormat::Parse(args.format));
  if (args.print_null) format.set_null_text("NULL");
  if (!args.from_time.empty()) SLUICE_RETURN_IF_ERROR(ParseTime(args.from_time).status());
  if (args.has_group) SLUICE_RETURN_IF_ERROR(ValidateGroupId(args.group));
  if (args.has_offset && args.offset < 0) {
    return OutOfRange("--offset {} is negative; offsets start at 0", args.offset);
  }
  if (args.has_max && args.max < 0) {
    return UsageError(fmt::format("--max {} is negative; give a count of records", args.max));
  }
  InstallInterruptHandler();
  std::unique_ptr<client::LogClient> log;
  if (args.has_group && !ctx.bootstrap_servers.empty()) {
    // librdkafka's own warning about a committed offset below the log start ("offset reset ...
    // Offset out of range", log level 4) would repeat WarnSkipped's line less clearly: errors only.
    client::ClientOptions options;
    options.client_id = ctx.command_line;
    options.bootstrap_servers = ctx.bootstrap_servers;
    options.kafka_config = {{"log_level", "3"}};
    SLUICE_ASSIGN_OR_RETURN(log, client::OpenLogClient(options));
  } else {
    SLUICE_ASSIGN_OR_RETURN(log, OpenClient(ctx, Access::kRead));
  }
  const std::string location = LogLocation(ctx);
  SLUICE_ASSIGN_OR_RETURN(int32_t partitions, CheckTopicExists(*log, args.topic, location));
  std::vector<TopicPartition> tps;
  if (args.has_partition) {
    SLUICE_RETURN_IF_ERROR(CheckPartition(*log, args.topic, args.partition, location).status());
    tps.push_back({args.topic, PartitionId(args.partition)});
  } else {
    for (int32_t p = 0; p < partitions; ++p) tps.push_back({args.topic, PartitionId(p)});
  }

  // Through a broker, --group alone makes this process a member of the group.
  if (args.has_group && !ctx.bootstrap_servers.empty() && !args.has_partition &&
      !args.from_beginning && !args.has_offset && args.from_time.empty()) {
    return RunGroupMember(ctx, args, format, *log, tps);
  }
  // Reading a group's partitions directly: only one process may (nothing would split them).
  std::unique_ptr<Log> lock_log;
  std::unique_ptr<GroupMemberLock> member_lock;
  if (args.has_group && ctx.bootstrap_servers.empty()) {
    SLUICE_ASSIGN_OR_RETURN(lock_log, OpenReader(ctx));
    SLUICE_ASSIGN_OR_RETURN(member_lock,
                            GroupMemberLock::Acquire(*lock_log, args.group, ctx.command_line));
  }

  client::ConsumerConfig config;
  // Through a broker the consumer commits for the group itself.
  if (!ctx.bootstrap_servers.empty()) config.group_id = args.group;
  const bool read_committed = args.isolation == "read_committed";
  if (read_committed) config.isolation = Isolation::kReadCommitted;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogConsumer> consumer, log->NewConsumer(config));
  SLUICE_RETURN_IF_ERROR(consumer->Assign(tps));
  // Without --follow, read up to the end as it was when we started, then stop. Embedded and
  // read_committed, the end is the last stable offset: the consumer's own end. Otherwise it is
  // ListOffsets' latest (through a broker librdkafka asks it read_committed, so it is the last
  // stable offset there too). The Kafka consumer is not sought twice: librdkafka 2.0 can abort
  // on an assertion when a fresh assignment is sought again at once.
  std::map<TopicPartition, Offset> end;
  if (read_committed && log->kind() == "embedded") {
    SLUICE_RETURN_IF_ERROR(consumer->SeekToEnd(tps));
    for (const TopicPartition& tp : tps) {
      SLUICE_ASSIGN_OR_RETURN(end[tp], consumer->Position(tp));
    }
    SLUICE_RETURN_IF_ERROR(SeekStart(*log, *consumer, args, tps));
  } else {
    SLUICE_RETURN_IF_ERROR(SeekStart(*log, *consumer, args, tps));
    SLUICE_ASSIGN_OR_RETURN(end, log->ListOffsets(tps, client::OffsetSpec::Latest()));
  }

  // Per partition, the offset after the last printed record (the start position until one is
  // printed): what --group commits.
  std::map<TopicPartition, Offset> next;
  std::map<TopicPartition, Offset> committed;
  for (const TopicPartition& tp : tps) {
    SLUICE_ASSIGN_OR_RETURN(next[tp], consumer->Position(tp));
  }
  int64_t printed = 0;
  fmt::memory_buffer out;
  Status status;
  auto last_commit = Clock::now();
  CommitReporter reporter(args.group);
  // A bounded read whose records go to a file or a pipe: progress on the terminal (never while
  // the records themselves print there).
  std::optional<ProgressLine> progress;
  if (!args.follow && isatty(STDOUT_FILENO) != 1) {
    int64_t total = 0;
    for (const TopicPartition& tp : tps) total += std::max<int64_t>(0, end[tp] - next[tp]);
    if (args.has_max) total = std::min<int64_t>(total, args.max);
    progress.emplace(fmt::format("consume {}", args.topic), total);
  }

  auto at_end = [&]() -> Result<bool> {
    for (const TopicPartition& tp : tps) {
      SLUICE_ASSIGN_OR_RETURN(Offset pos, consumer->Position(tp));
      if (pos < end[tp]) return false;
    }
    return true;
  };

  while (!Interrupted()) {
    if (args.has_max && printed >= args.max) break;
    if (!args.follow) {
      Result<bool> done = at_end();
      if (!done.ok()) {
        status = done.status();
        break;
      }
      if (*done) break;
    }
    Result<client::ConsumerRecords> polled = consumer->Poll(std::chrono::milliseconds(200));
    if (!polled.ok()) {
      status = polled.status();
      break;
    }
    // Records come in runs of one partition: its map entries are looked up once per run.
    const TopicPartition* run_tp = nullptr;
    Offset* run_next = nullptr;
    Offset run_end;
    for (const client::ConsumedRecord& r : *polled) {
      if (args.has_max && printed >= args.max) break;
      if (r.tp != run_tp) {
        run_tp = r.tp;
        run_next = &next[*r.tp];
        run_end = end[*r.tp];
      }
      if (!args.follow && r.offset >= run_end) continue;
      format.Append(r, out);
      *run_next = r.offset + 1;
      ++printed;
      if (out.size() >= (1 << 20)) {
        status = WriteOut(out);
        if (!status.ok()) break;
      }
    }
    if (!status.ok()) break;
    status = WriteOut(out);
    if (!status.ok()) break;
    if (progress) progress->Poll(printed);
    if (args.follow && !args.group.empty() && next != committed &&
        Clock::now() - last_commit >= CommitReporter::kCommitInterval) {
      // While following, a writer (a producer) may hold the lock: try again later, and say so.
      Status c = CommitGroup(ctx, *consumer, args.group, next, std::chrono::milliseconds(0));
      if (c.ok()) committed = next;
      reporter.Report(c, "; stop the other writer to let commits through");
      last_commit = Clock::now();
    }
  }
  if (progress) progress->Clear();
  Status written = WriteOut(out);
  if (status.ok()) status = written;
  if (!args.group.empty() && next != committed) {
    // Commit what was printed, even when stopping on an error or an interrupt.
    Status c = CommitGroup(ctx, *consumer, args.group, next, ctx.lock_wait);
    if (!c.ok()) {
      return c.WithContext(fmt::format(
          "printed {} records but could not commit them for group '{}'", printed, args.group));
    }
  }
  return status;
}

}  // namespace

void RegisterConsumeCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ConsumeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "consume",
      "Print records of a topic; without --follow, stop at the end of every partition read");
  cmd->add_option("topic", args->topic, "Topic to read")->required();
  auto* part = cmd->add_option("--partition", args->partition, "Read only this partition");
  auto* beginning = cmd->add_flag("--from-beginning", args->from_beginning,
                                  "Start at the oldest record (default: only new records, or "
                                  "the group's committed offsets with --group)");
  auto* offset = cmd->add_option("--offset", args->offset, "Start at this offset");
  auto* time = cmd->add_option("--from-time", args->from_time,
                               "Start at the first record at or after this time (epoch ms or "
                               "ISO-8601, UTC unless a zone is given)");
  beginning->excludes(offset)->excludes(time);
  offset->excludes(time);
  time->check(CLI::Validator(
      [](std::string& s) -> std::string {
        auto t = ParseTime(s);
        return t.ok() ? std::string() : t.status().message();
      },
      "TIME"));
  auto* group =
      cmd->add_option("--group", args->group,
                      "Consumer group: start from its committed offsets (earliest where none) and "
                      "commit what was printed");
  auto* max = cmd->add_option("--max", args->max, "Stop after printing this many records");
  cmd->add_flag("--follow,-f", args->follow, "Keep waiting for new records (stop with Ctrl-C)");
  cmd->add_option("--isolation", args->isolation,
                  "read_uncommitted (default): every record; read_committed: skip the records of "
                  "aborted transactions and stop before those of open ones")
      ->check(CLI::IsMember({"read_uncommitted", "read_committed"}));
  cmd->add_flag("-Z,--print-null", args->print_null,
                "Print a null key or value as NULL instead of nothing (kcat's -Z), so a tombstone "
                "(a deleted key) shows as KEY<tab>NULL with --format '%k\\t%s\\n'");
  cmd->add_option("--format", args->format,
                  "Output format with kcat tokens: %t topic, %p partition, %o offset, %k key, "
                  "%s value, %T timestamp ms, %h headers, \\n, \\t (default '%s\\n')")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            auto f = RecordFormat::Parse(s);
            return f.ok() ? std::string() : f.status().message();
          },
          "FMT"));
  cmd->callback([&ctx, args, part, offset, max, group] {
    args->has_group = group->count() > 0;
    args->has_partition = part->count() > 0;
    args->has_offset = offset->count() > 0;
    args->has_max = max->count() > 0;
    ctx.action = [&ctx, args] { return RunConsume(ctx, *args); };
  });
}

}  // namespace sluice::tools
