// sluice group list | describe | reset | delete
#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "client/log_client.h"
#include "core/group_member_lock.h"
#include "tools/commands.h"
#include "tools/time_parse.h"
#include "tools/topic_check.h"

namespace sluice::tools {
namespace {

struct ResetArgs {
  std::string group;
  std::string topic;
  bool to_earliest = false;
  bool to_latest = false;
  int64_t to_offset = 0;
  bool has_to_offset = false;
  std::string to_time;
};

Status RunList(const CliContext& ctx) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kRead));
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> groups, log->ListGroups());
  for (const std::string& g : groups) fmt::print("{}\n", g);
  return Status::Ok();
}

// Prints one row per partition: committed offset, end offset and lag, and with `owners` (the
// group's active members) a MEMBER column naming the member that owns each partition ("-": none).
// Partitions owned but not yet committed print "-" as their committed offset and lag.
Status PrintOffsets(client::LogClient& log, const std::map<TopicPartition, Offset>& committed,
                    const std::map<TopicPartition, std::string>& owners = {}) {
  std::map<TopicPartition, std::optional<Offset>> rows;
  for (const auto& [tp, c] : committed) rows[tp] = c;
  for (const auto& [tp, m] : owners) rows.try_emplace(tp);
  std::string member_header = owners.empty() ? "" : "  MEMBER";
  fmt::print("{:<24} {:>9} {:>16} {:>16} {:>12}{}\n", "TOPIC", "PARTITION", "COMMITTED-OFFSET",
             "END-OFFSET", "LAG", member_header);
  for (const auto& [tp, c] : rows) {
    std::string end = "-", lag = "-";
    // A partition of a deleted topic has no end: "-".
    Result<std::map<TopicPartition, Offset>> hw =
        log.ListOffsets({tp}, client::OffsetSpec::Latest());
    if (hw.ok()) {
      Offset e = hw->at(tp);
      end = std::to_string(e.value());
      if (c) lag = std::to_string(std::max<int64_t>(0, e - *c));
    } else if (hw.status().code() != StatusCode::kNotFound) {
      return hw.status();
    }
    std::string member;
    if (!owners.empty()) {
      auto it = owners.find(tp);
      member = "  " + (it == owners.end() ? std::string("-") : it->second);
    }
    fmt::print("{:<24} {:>9} {:>16} {:>16} {:>12}{}\n", tp.topic, tp.partition.value(),
               c ? std::to_string(c->value()) : std::string("-"), end, lag, member);
  }
  return Status::Ok();
}

Status RunDescribe(const CliContext& ctx, const std::string& group) {
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kRead));
  Result<client::GroupDescription> d = log->DescribeGroup(group);
  if (!d.ok() && d.status().code() != StatusCode::kNotFound) return d.status();
  std::map<TopicPartition, std::string> owners;
  std::map<TopicPartition, Offset> committed;
  if (d.ok()) {
    committed = d->committed;
    for (const client::GroupMember& m : d->members) {
      // Kafka member ids start with the client id (here the member's command line).
      for (const TopicPartition& tp : m.assignment) owners[tp] = m.member_id;
    }
  }
  if (ctx.bootstrap_servers.empty()) {
    // A process reading the group directly (consume --group) holds its member lock and reads
    // every committed partition.
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> reader, OpenReader(ctx));
    SLUICE_ASSIGN_OR_RETURN(std::string holder, GroupMemberLock::Holder(*reader, group));
    if (!holder.empty()) {
      if (committed.empty()) {
        fmt::print("group '{}' has no committed offsets yet; active member: {}\n", group, holder);
        return Status::Ok();
      }
      for (const auto& [tp, c] : committed) owners[tp] = holder;
    }
  }
  if (committed.empty() && owners.empty()) {
    return NotFound("group '{}' has no committed offsets; see the groups with 'sluice group list'",
                    group);
  }
  return PrintOffsets(*log, committed, owners);
}

Status RunReset(const CliContext& ctx, const ResetArgs& args) {
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(args.group));
  std::optional<Timestamp> to_time;
  if (!args.to_time.empty()) {
    SLUICE_ASSIGN_OR_RETURN(to_time, ParseTime(args.to_time));
  }
  if (args.has_to_offset && args.to_offset < 0) {
    return OutOfRange("--to-offset {} is negative; offsets start at 0", args.to_offset);
  }
  if (ctx.bootstrap_servers.empty()) {
    // A process reading the group directly is an active member: refuse, as a broker does.
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> reader, OpenReader(ctx));
    SLUICE_ASSIGN_OR_RETURN(std::string holder, GroupMemberLock::Holder(*reader, args.group));
    if (!holder.empty()) {
      return Unavailable(
          "group '{}' has an active member ({}); stop its consumers before resetting its offsets",
          args.group, holder);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kWrite));
  SLUICE_ASSIGN_OR_RETURN(int32_t partitions, CheckTopicExists(*log, args.topic, LogLocation(ctx)));
  std::vector<TopicPartition> tps;
  for (int32_t i = 0; i < partitions; ++i) tps.push_back({args.topic, PartitionId(i)});
  SLUICE_ASSIGN_OR_RETURN(auto starts, log->ListOffsets(tps, client::OffsetSpec::Earliest()));
  SLUICE_ASSIGN_OR_RETURN(auto ends, log->ListOffsets(tps, client::OffsetSpec::Latest()));
  std::map<TopicPartition, Offset> at_time;
  if (to_time) {
    SLUICE_ASSIGN_OR_RETURN(at_time, log->ListOffsets(tps, client::OffsetSpec::ForTime(*to_time)));
  }
  // Compute every partition's new offset first, so that an out-of-range --to-offset changes
  // nothing.
  std::map<TopicPartition, Offset> offsets;
  for (const TopicPartition& tp : tps) {
    Offset start = starts[tp], end = ends[tp];
    Offset target;
    if (args.to_earliest) {
      target = start;
    } else if (args.to_latest) {
      target = end;
    } else if (args.has_to_offset) {
      target = Offset(args.to_offset);
      if (target < start || target > end) {
        return OutOfRange(
            "--to-offset {} is out of range for topic '{}' partition {}: valid offsets are "
            "{}..{}; nothing was changed",
            args.to_offset, args.topic, tp.partition.value(), start.value(), end.value());
      }
    } else {
      target = at_time[tp];
    }
    offsets[tp] = target;
  }
  SLUICE_RETURN_IF_ERROR(log->ResetGroupOffsets(args.group, offsets));
  SLUICE_RETURN_IF_ERROR(PrintOffsets(*log, offsets));
  return log->Close();
}

// Deletes a group's committed offsets; refused while it has members (Kafka's NON_EMPTY_GROUP):
// consumers in a `sluice serve`, or a process reading the group directly from the directory.
Status RunDelete(const CliContext& ctx, const std::string& group) {
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kWrite));
  SLUICE_RETURN_IF_ERROR(log->DeleteGroup(group));
  SLUICE_RETURN_IF_ERROR(log->Close());
  fmt::print("deleted group '{}'\n", group);
  return Status::Ok();
}

}  // namespace

void RegisterGroupCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("group", "List, describe, reset and delete consumer groups");
  group->require_subcommand(1);

  CLI::App* list = group->add_subcommand("list", "List groups that have committed offsets");
  list->callback([&ctx] { ctx.action = [&ctx] { return RunList(ctx); }; });

  auto describe_group = std::make_shared<std::string>();
  CLI::App* describe = group->add_subcommand(
      "describe", "Per partition: committed offset, end offset, lag and owning member of a group");
  describe->add_option("group", *describe_group, "Group id")->required();
  describe->callback([&ctx, describe_group] {
    ctx.action = [&ctx, describe_group] { return RunDescribe(ctx, *describe_group); };
  });

  auto delete_group = std::make_shared<std::string>();
  CLI::App* del = group->add_subcommand(
      "delete", "Delete a group and its committed offsets (refused while it has members)");
  del->add_option("group", *delete_group, "Group id")->required();
  del->callback([&ctx, delete_group] {
    ctx.action = [&ctx, delete_group] { return RunDelete(ctx, *delete_group); };
  });

  auto args = std::make_shared<ResetArgs>();
  CLI::App* reset = group->add_subcommand(
      "reset", "Move a group's committed offsets on a topic (exactly one --to-... option)");
  reset->add_option("group", args->group, "Group id")->required();
  reset->add_option("--topic", args->topic, "Topic whose offsets to move")->required();
  CLI::Option_group* to = reset->add_option_group("target", "Where to move the offsets");
  to->add_flag("--to-earliest", args->to_earliest, "The oldest offset still in the log");
  to->add_flag("--to-latest", args->to_latest, "The end of each partition");
  auto* to_offset =
      to->add_option("--to-offset", args->to_offset, "This offset, in every partition");
  to->add_option("--to-time", args->to_time,
                 "The first record at or after this time (epoch ms or ISO-8601)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            auto t = ParseTime(s);
            return t.ok() ? std::string() : t.status().message();
          },
          "TIME"));
  to->require_option(1);
  reset->callback([&ctx, args, to_offset] {
    args->has_to_offset = to_offset->count() > 0;
    ctx.action = [&ctx, args] { return RunReset(ctx, *args); };
  });
}

}  // namespace sluice::tools
