// sluice topic create | list | describe | alter | delete-records | delete | repair | compact
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/log_client.h"
#include "core/log.h"
#include "core/topic_config.h"
#include "tools/commands.h"
#include "tools/topic_check.h"

namespace sluice::tools {
namespace {

struct CreateArgs {
  std::string name;
  TopicConfig config;
  std::vector<std::string> configs;  // --config key=value, Kafka's names
};

// The settings TopicSpec carries as fields; every other --config goes by name.
bool IsSpecField(std::string_view key) {
  return key == "retention.ms" || key == "retention.bytes" || key == "segment.bytes" ||
         key == "max.message.bytes";
}

Status RunCreate(const CliContext& ctx, const CreateArgs& in) {
  // Check everything before opening (and perhaps creating) the data directory, so that bad
  // input leaves no trace on disk.
  CreateArgs args = in;
  std::map<std::string, std::string> extra;
  for (const std::string& kv : args.configs) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--config takes key=value (e.g. cleanup.policy=compact), got '{}'",
                             kv);
    }
    std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    SLUICE_RETURN_IF_ERROR(args.config.Set(key, value));
    if (!IsSpecField(key)) extra[key] = value;
  }
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(args.name));
  SLUICE_RETURN_IF_ERROR(args.config.Validate());
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kCreate));
  Result<int32_t> existing = log->PartitionCount(args.name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
    return existing.status();  // damaged: creating over it would bring its old records back
  }
  if (existing.ok()) {
    return AlreadyExists(
        "topic '{}' already exists in {}; see it with 'sluice topic describe {}' or pick "
        "another name",
        args.name, LogLocation(ctx), args.name);
  }
  client::TopicSpec spec{.partitions = args.config.partitions,
                         .retention_ms = args.config.retention_ms,
                         .retention_bytes = args.config.retention_bytes,
                         .segment_bytes = args.config.segment_bytes,
                         .max_message_bytes = args.config.max_message_bytes,
                         .configs = extra};
  SLUICE_RETURN_IF_ERROR(log->CreateTopic(args.name, spec));
  SLUICE_RETURN_IF_ERROR(log->Close());
  fmt::print("created topic '{}' with {} partition{}\n", args.name, args.config.partitions,
             args.config.partitions == 1 ? "" : "s");
  return Status::Ok();
}

Status RunList(const CliContext& ctx) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kRead));
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, log->ListTopics());
  for (const std::string& name : names) fmt::print("{}\n", name);
  return Status::Ok();
}

// A config value as the header shows it: "unlimited" for -1 where that means no limit, "-" when
// the log does not say (a broker without DescribeConfigs).
std::string ConfigValue(const client::TopicDescription& d, const std::string& key,
                        bool minus_one_unlimited) {
  auto it = d.configs.find(key);
  if (it == d.configs.end()) return "-";
  if (minus_one_unlimited && it->second == "-1") return "unlimited";
  return it->second;
}

std::string OrDash(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

Status RunDescribe(const CliContext& ctx, const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kRead));
  SLUICE_RETURN_IF_ERROR(CheckTopicExists(*log, name, LogLocation(ctx)).status());
  SLUICE_ASSIGN_OR_RETURN(client::TopicDescription d, log->DescribeTopic(name));
  fmt::print(
      "topic {}: partitions={} retention.ms={} retention.bytes={} segment.bytes={} "
      "max.message.bytes={}\n",
      name, d.partitions.size(), ConfigValue(d, "retention.ms", true),
      ConfigValue(d, "retention.bytes", true), ConfigValue(d, "segment.bytes", false),
      ConfigValue(d, "max.message.bytes", false));
  std::string policy = ConfigValue(d, "cleanup.policy", false);
  if (policy.find("compact") != std::string::npos) {
    fmt::print(
        "  cleanup.policy={} delete.retention.ms={} min.cleanable.dirty.ratio={} "
        "min.compaction.lag.ms={}\n",
        policy, ConfigValue(d, "delete.retention.ms", false),
        ConfigValue(d, "min.cleanable.dirty.ratio", false),
        ConfigValue(d, "min.compaction.lag.ms", false));
  }
  fmt::print("{:>9} {:>16} {:>16} {:>14} {:>8}\n", "PARTITION", "LOG-START-OFFSET", "END-OFFSET",
             "BYTES", "SEGMENTS");
  for (const client::PartitionInfo& p : d.partitions) {
    fmt::print("{:>9} {:>16} {:>16} {:>14} {:>8}\n", p.partition.value(), p.start_offset.value(),
               p.end_offset.value(), OrDash(p.bytes), OrDash(p.segments));
  }
  // The end offset is where the log ends, not what can be read: a partition whose recovery found
  // damage it would not cut makes the describe fail after the table, so a script sees it.
  Status damaged;
  for (const client::PartitionInfo& p : d.partitions) {
    if (p.damage.empty()) continue;
    fmt::print(stderr, "sluice: {}-{}: offsets from {} on cannot be read: {}\n", name,
               p.partition.value(), p.damaged_from.value(), p.damage);
    if (damaged.ok()) {
      damaged = Corruption(
          "topic '{}' has damaged partitions (above); see 'sluice topic repair {} "
          "--dry-run'",
          name, name);
    }
  }
  return damaged;
}

Status RunDelete(const CliContext& ctx, const std::string& name) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kWrite));
  // A damaged topic can be deleted: that is how its data is dropped on purpose.
  if (Status st = CheckTopicExists(*log, name, LogLocation(ctx)).status();
      st.code() == StatusCode::kNotFound) {
    return st;
  }
  // Deleting a topic drops its committed offsets too.
  SLUICE_RETURN_IF_ERROR(log->DeleteTopic(name));
  SLUICE_RETURN_IF_ERROR(log->Close());
  fmt::print("deleted topic '{}'\n", name);
  return Status::Ok();
}

// Splits --config key=value arguments (Kafka's names).
Result<std::map<std::string, std::string>> ParseConfigArgs(const std::vector<std::string>& kvs) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : kvs) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--config takes key=value (e.g. cleanup.policy=compact), got '{}'",
                             kv);
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

struct AlterArgs {
  std::string name;
  std::vector<std::string> configs;  // --config key=value, Kafka's names
};

// Changes topic configs; the others keep their values. Checked by TopicConfig::Set and Validate,
// as `topic create` and CreateTopics check them.
Status RunAlter(const CliContext& ctx, const AlterArgs& args) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(args.name));
  SLUICE_ASSIGN_OR_RETURN(auto set, ParseConfigArgs(args.configs));
  TopicConfig probe;  // bad keys and values are refused before the log is opened
  for (const auto& [k, v] : set) SLUICE_RETURN_IF_ERROR(probe.Set(k, v));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kWrite));
  SLUICE_RETURN_IF_ERROR(CheckTopicExists(*log, args.name, LogLocation(ctx)).status());
  SLUICE_RETURN_IF_ERROR(log->AlterTopicConfig(args.name, set));
  SLUICE_RETURN_IF_ERROR(log->Close());
  std::vector<std::string> shown;
  for (const auto& [k, v] : set) shown.push_back(fmt::format("{}={}", k, v));
  fmt::print("altered topic '{}': {}\n", args.name, fmt::join(shown, " "));
  return Status::Ok();
}

struct DeleteRecordsArgs {
  std::string name;
  int32_t partition = 0;
  int64_t before = -1;
};

// Kafka's DeleteRecords: the partition's log start moves to the offset given.
Status RunDeleteRecords(const CliContext& ctx, const DeleteRecordsArgs& args) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(args.name));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kWrite));
  SLUICE_RETURN_IF_ERROR(
      CheckPartition(*log, args.name, args.partition, LogLocation(ctx)).status());
  TopicPartition tp{args.name, PartitionId(args.partition)};
  SLUICE_ASSIGN_OR_RETURN(auto ends, log->ListOffsets({tp}, client::OffsetSpec::Latest()));
  if (args.before > ends[tp].value()) {
    return OutOfRange(
        "cannot delete records of {}-{} before offset {}: the partition ends at {}; give an "
        "offset up to its end",
        args.name, args.partition, args.before, ends[tp]);
  }
  SLUICE_ASSIGN_OR_RETURN(Offset start, log->DeleteRecords(tp, Offset(args.before)));
  SLUICE_RETURN_IF_ERROR(log->Close());
  fmt::print("partition {} of '{}' now starts at offset {}\n", args.partition, args.name, start);
  return Status::Ok();
}

struct RepairArgs {
  std::string name;
  int32_t partition = -1;  // every partition
  bool dry_run = false;
};

// Accepts the loss of damaged data (core/README.md, "Recovery"): per partition, says what was
// (or, with --dry-run, would be) cut and exactly which offsets are lost.
Status RunRepair(const CliContext& ctx, const RepairArgs& args) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(args.name));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log,
                          args.dry_run ? OpenReader(ctx) : OpenWriter(ctx));
  SLUICE_RETURN_IF_ERROR(CheckTopicExists(*log, args.name));
  SLUICE_ASSIGN_OR_RETURN(TopicConfig config, log->DescribeTopic(args.name));
  int32_t first = args.partition < 0 ? 0 : args.partition;
  int32_t last = args.partition < 0 ? config.partitions - 1 : args.partition;
  for (int32_t p = first; p <= last; ++p) {
    SLUICE_ASSIGN_OR_RETURN(RecoveryReport rep,
                            log->RepairPartition(args.name, PartitionId(p), args.dry_run));
    if (rep.damage.empty()) {
      fmt::print("partition {}: no damage found; nothing {}\n", p,
                 args.dry_run ? "would be cut" : "was cut");
      continue;
    }
    std::string cut = args.dry_run ? std::string()
                                   : fmt::format(": cut {} bytes, deleted {} segment file(s)",
                                                 rep.truncated_bytes, rep.segments_deleted);
    fmt::print("partition {}: {} offsets {} to {} ({} offsets){}\n  because {}\n", p,
               args.dry_run ? "would lose" : "lost", rep.lost_begin, rep.lost_end.value() - 1,
               rep.lost_end - rep.lost_begin, cut, rep.damage);
  }
  SLUICE_RETURN_IF_ERROR(log->Close());
  if (args.dry_run) fmt::print("dry run: nothing was changed\n");
  return Status::Ok();
}

// One cleaning of every partition of a compacted topic, now (the log owner's background cleaner
// does the same once a partition's dirty ratio reaches min.cleanable.dirty.ratio).
Status RunCompact(const CliContext& ctx, const std::string& name) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenWriter(ctx));
  SLUICE_RETURN_IF_ERROR(CheckTopicExists(*log, name));
  SLUICE_ASSIGN_OR_RETURN(std::vector<CompactionResult> results,
                          log->CompactTopic(name, /*force=*/true, Now()));
  for (size_t p = 0; p < results.size(); ++p) {
    const CompactionResult& r = results[p];
    if (!r.cleaned) {
      fmt::print("partition {}: not cleaned: {}\n", p, r.why_not);
      continue;
    }
    fmt::print(
        "partition {}: cleaned {} segment(s), {} bytes, into {} segment(s), {} bytes; kept {} of "
        "{} records; offsets below {} are clean\n",
        p, r.segments_in, r.bytes_in, r.segments_out, r.bytes_out, r.records_out, r.records_in,
        r.clean_end);
  }
  return log->Close();
}

}  // namespace

void RegisterTopicCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* topic = app.add_subcommand(
      "topic", "Create, list, describe, alter, delete records of, delete and repair topics");
  topic->require_subcommand(1);

  auto create_args = std::make_shared<CreateArgs>();
  CLI::App* create = topic->add_subcommand("create", "Create a topic");
  create->add_option("name", create_args->name, "Topic name: 1-249 chars of [a-zA-Z0-9._-]")
      ->required();
  create->add_option("--partitions", create_args->config.partitions, "Number of partitions")
      ->required();
  create->add_option("--retention-ms", create_args->config.retention_ms,
                     "Delete whole segments older than this (ms; -1 keeps forever)");
  create->add_option("--retention-bytes", create_args->config.retention_bytes,
                     "Keep at most about this many bytes per partition (-1: no limit)");
  create->add_option("--segment-bytes", create_args->config.segment_bytes,
                     "Roll the active segment at this size (default 64 MiB)");
  create->add_option("--max-message-bytes", create_args->config.max_message_bytes,
                     "Largest record batch accepted (default 1048588)");
  create->add_option("--config", create_args->configs,
                     "A topic config by Kafka's name, key=value (repeatable): cleanup.policy "
                     "(delete, compact, compact,delete), delete.retention.ms, "
                     "min.cleanable.dirty.ratio, min.compaction.lag.ms, retention.ms, "
                     "retention.bytes, segment.bytes, max.message.bytes");
  create->callback([&ctx, create_args] {
    ctx.action = [&ctx, create_args] { return RunCreate(ctx, *create_args); };
  });

  CLI::App* list = topic->add_subcommand("list", "List topics, one per line");
  list->callback([&ctx] { ctx.action = [&ctx] { return RunList(ctx); }; });

  auto describe_name = std::make_shared<std::string>();
  CLI::App* describe = topic->add_subcommand(
      "describe", "Show a topic's settings and, per partition, its offsets, bytes and segments");
  describe->add_option("name", *describe_name, "Topic name")->required();
  describe->callback([&ctx, describe_name] {
    ctx.action = [&ctx, describe_name] { return RunDescribe(ctx, *describe_name); };
  });

  auto repair_args = std::make_shared<RepairArgs>();
  CLI::App* repair = topic->add_subcommand(
      "repair",
      "Accept the loss of damaged data: cut a partition at its first damage or missing segment");
  repair->add_option("name", repair_args->name, "Topic name")->required();
  repair->add_option("--partition", repair_args->partition, "Only this partition")
      ->check(CLI::NonNegativeNumber);
  repair->add_flag("--dry-run", repair_args->dry_run, "Print what would be cut; change nothing");
  repair->callback([&ctx, repair_args] {
    ctx.action = [&ctx, repair_args] { return RunRepair(ctx, *repair_args); };
  });

  auto compact_name = std::make_shared<std::string>();
  CLI::App* compact = topic->add_subcommand(
      "compact",
      "Clean a compacted topic now: keep the latest record per key in its sealed segments");
  compact->add_option("name", *compact_name, "Topic name")->required();
  compact->callback([&ctx, compact_name] {
    ctx.action = [&ctx, compact_name] { return RunCompact(ctx, *compact_name); };
  });

  auto alter_args = std::make_shared<AlterArgs>();
  CLI::App* alter = topic->add_subcommand(
      "alter", "Change a topic's configs (the ones not named keep their values)");
  alter->add_option("name", alter_args->name, "Topic name")->required();
  alter
      ->add_option("--config", alter_args->configs,
                   "A topic config by Kafka's name, key=value (repeatable): cleanup.policy "
                   "(delete, compact, compact,delete), delete.retention.ms, "
                   "min.cleanable.dirty.ratio, min.compaction.lag.ms, retention.ms, "
                   "retention.bytes, segment.bytes, max.message.bytes")
      ->required();
  alter->callback([&ctx, alter_args] {
    ctx.action = [&ctx, alter_args] { return RunAlter(ctx, *alter_args); };
  });

  auto dr_args = std::make_shared<DeleteRecordsArgs>();
  CLI::App* delete_records = topic->add_subcommand(
      "delete-records",
      "Delete a partition's records below an offset: its log start moves there (Kafka's "
      "DeleteRecords)");
  delete_records->add_option("name", dr_args->name, "Topic name")->required();
  delete_records->add_option("--partition", dr_args->partition, "The partition")
      ->required()
      ->check(CLI::NonNegativeNumber);
  delete_records
      ->add_option("--before,--to-offset", dr_args->before,
                   "Records below this offset are deleted; it becomes the first readable one")
      ->required()
      ->check(CLI::NonNegativeNumber);
  delete_records->callback([&ctx, dr_args] {
    ctx.action = [&ctx, dr_args] { return RunDeleteRecords(ctx, *dr_args); };
  });

  auto delete_name = std::make_shared<std::string>();
  CLI::App* del = topic->add_subcommand("delete", "Delete a topic and all its data");
  del->add_option("name", *delete_name, "Topic name")->required();
  del->callback([&ctx, delete_name] {
    ctx.action = [&ctx, delete_name] { return RunDelete(ctx, *delete_name); };
  });
}

}  // namespace sluice::tools
