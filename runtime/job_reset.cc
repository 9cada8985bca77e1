#include "runtime/job_reset.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/log.h"
#include "runtime/commit_format.h"
#include "runtime/state_db.h"

namespace sluice {
namespace {

bool IsInternal(const std::string& topic, const std::string& app) {
  return topic.starts_with(app + "-") && topic.ends_with("-repartition");
}

}  // namespace

Result<std::vector<std::string>> ResetJob(Log* log, const ResetOptions& o) {
  const std::string& app = o.application_id;
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(app));
  std::vector<std::string> lines;
  SLUICE_ASSIGN_OR_RETURN(auto group, log->offsets().Fetch(app));
  if (group.empty()) {
    return NotFound(
        "application '{}' has no committed offsets in '{}'; nothing to reset (was it "
        "run with this --app and --data?)",
        app, log->data_dir());
  }
  std::string dir = (std::filesystem::path(o.state_dir) / app).string();
  // Opening the state takes its lock: a running job makes this fail with kUnavailable.
  std::unique_ptr<StateDb> db;
  if (std::filesystem::exists(dir)) {
    Result<std::unique_ptr<StateDb>> opened = StateDb::Open(dir, {});
    if (!opened.ok()) {
      if (opened.status().code() == StatusCode::kUnavailable) {
        return Unavailable(
            "application '{}' is running (its state directory '{}' is locked); "
            "stop it before resetting",
            app, dir);
      }
      return opened.status();
    }
    db = std::move(opened).value();
  } else if (!o.state_deleted) {
    const bool ran_with_state = std::any_of(group.begin(), group.end(), [](const auto& e) {
      return e.second.metadata.starts_with(kMirrorTag);
    });
    if (ran_with_state) {
      return NotFound(
          "application '{}' has committed with a state directory, but there is none at '{}'; "
          "nothing was changed. Give the --state directory the job runs with (its RocksDB is "
          "<state>/{}); if its state was deleted on purpose, add --state-deleted to rewind the "
          "offsets anyway",
          app, dir, app);
    }
  }

  // New positions of the external inputs.
  std::map<TopicPartition, int64_t> target;
  for (const auto& [tp, committed] : group) {
    if (IsInternal(tp.topic, app) || !log->HasTopic(tp.topic)) continue;
    SLUICE_ASSIGN_OR_RETURN(Partition * p, log->GetPartition(tp.topic, tp.partition));
    int64_t to = p->log_start_offset().value();
    if (!o.to_earliest) {
      SLUICE_ASSIGN_OR_RETURN(Offset t, p->OffsetForTime(o.time));
      to = t.value();
    }
    target[tp] = to;
    lines.push_back(fmt::format("input {} partition {}: offset {} -> {}", tp.topic,
                                tp.partition.value(), committed.offset.value(), to));
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> topics, log->ListTopics());

  std::map<TopicPartition, CommittedOffset> mirror;
  if (!o.keep_state) {
    if (db) {
      db.reset();
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      if (ec) return IOError("cannot delete state directory '{}': {}", dir, ec.message());
      lines.push_back(fmt::format("state deleted: {}", dir));
    } else {
      lines.push_back(fmt::format("no state directory at {}", dir));
    }
    for (const auto& t : topics) {
      if (!IsInternal(t, app)) continue;
      SLUICE_RETURN_IF_ERROR(log->DeleteTopic(t));
      lines.push_back(fmt::format("repartition topic deleted: {}", t));
    }
    for (const auto& [tp, to] : target) {
      mirror[tp] = CommittedOffset{Offset(to), std::string(kResetTag), Now()};
    }
  } else {
    if (!db) return NotFound("--keep-state: there is no state directory at '{}'", dir);
    std::vector<std::pair<std::string, std::string>> ckpts;
    SLUICE_RETURN_IF_ERROR(
        db->ScanPrefix(db->meta(), "ckpt/", [&](std::string_view k, std::string_view v) {
          ckpts.emplace_back(std::string(k), std::string(v));
        }));
    rocksdb::WriteBatch wb;
    for (const auto& [key, value] : ckpts) {
      SLUICE_ASSIGN_OR_RETURN(TaskCheckpoint c, DecodeCheckpoint(value));
      TaskId id;
      if (sscanf(key.c_str(), "ckpt/%d/%d", &id.stage, &id.partition) != 2) {
        return Corruption("unexpected checkpoint key '{}' in '{}'", key, dir);
      }
      bool outbox = false;
      SLUICE_RETURN_IF_ERROR(
          db->ScanPrefix(db->meta(), OutboxPrefix(id),
                         [&](std::string_view, std::string_view) { outbox = true; }));
      if (outbox) {
        return InvalidArgument(
            "application '{}' did not stop cleanly (task {}/{} has outputs not yet published); "
            "run it once so it recovers, stop it, then reset with --keep-state",
            app, id.stage, id.partition);
      }
      c.commit_number += 1;
      for (auto& in : c.inputs) {
        TopicPartition tp{in.topic, PartitionId(in.partition)};
        if (IsInternal(in.topic, app)) {
          SLUICE_ASSIGN_OR_RETURN(Partition * p, log->GetPartition(in.topic, tp.partition));
          in.next_offset = p->high_watermark().value();
        } else if (auto it = target.find(tp); it != target.end()) {
          in.next_offset = it->second;
        }
        mirror[tp] = CommittedOffset{
            Offset(in.next_offset),
            fmt::format("{}{} task={}/{}", kMirrorTag, c.commit_number, id.stage, id.partition),
            Now()};
      }
      wb.Put(db->meta(), key, EncodeCheckpoint(c)).PermitUncheckedError();
      wb.Put(db->meta(), MarkKey(id), EncodeMark(c.commit_number)).PermitUncheckedError();
    }
    SLUICE_RETURN_IF_ERROR(db->Write(&wb, /*sync=*/true));
    lines.push_back(fmt::format("state kept: {} (offsets rewritten in {} task checkpoint(s))", dir,
                                ckpts.size()));
  }
  SLUICE_RETURN_IF_ERROR(log->offsets().DeleteGroup(app));
  SLUICE_RETURN_IF_ERROR(log->offsets().Commit(app, mirror));
  return lines;
}

}  // namespace sluice
