#include "runtime/job_reset.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <filesystem>
#include <map>
#include <sstream>

#include "client/log_client.h"
#include "core/log.h"
#include "core/varint.h"
#include "operators/topology.h"
#include "operators/watermark.h"
#include "runtime/commit_format.h"
#include "runtime/state_db.h"

namespace sluice {
namespace {

bool IsInternal(const std::string& topic, const std::string& app) {
  return topic.starts_with(app + "-") && topic.ends_with("-repartition");
}

// A job's internal topics on a broker: its repartition topics and its stores' changelogs (named
// <app>-<store>-changelog, as Kafka Streams does).
bool IsBrokerInternal(const std::string& topic, const std::string& app) {
  return IsInternal(topic, app) || (topic.starts_with(app + "-") && topic.ends_with("-changelog"));
}

// "2023-11-14T22:13:20.000Z (1700000000000)".
std::string TimeText(int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds(ms)};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const int64_t rem = (tp - day).count();
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z ({})", int{ymd.year()},
                     unsigned{ymd.month()}, unsigned{ymd.day()}, rem / 3600000, rem / 60000 % 60,
                     rem / 1000 % 60, rem % 1000, ms);
}

int64_t FloorTo(int64_t a, int64_t b) { return (a / b - (a % b != 0 && (a < 0) != (b < 0))) * b; }

// The time-rules value: 'R', then one line per rule:
//   out-of-orderness <ms>
//   windows <size> <advance> <grace> <operator>    (tumbling and hopping window aggregates)
//   sessions <gap> <grace> <operator>
//   window-join <operator>
//   dedup <operator>
std::string EncodeTimeRules(const Topology& t) {
  std::string out = "R";
  int64_t ooo = t.event_time().max_out_of_orderness.count();  // the largest over the sources
  for (size_t i = 0; i < t.topics().size(); ++i) {
    ooo =
        std::max<int64_t>(ooo, t.SourceEventTime(static_cast<int>(i)).max_out_of_orderness.count());
  }
  out += fmt::format("out-of-orderness {}\n", ooo);
  for (const Topology::Node& n : t.nodes()) {
    if (n.kind == "window-count" || n.kind == "window-reduce" || n.kind == "window-aggregate") {
      const Windows& w = n.windows;
      if (w.kind == Windows::Kind::kSession) {
        out += fmt::format("sessions {} {} {}\n", w.gap_ms, w.grace_ms, n.name);
      } else {
        out += fmt::format("windows {} {} {} {}\n", w.size_ms, w.advance_ms, w.grace_ms, n.name);
      }
    } else if (n.kind == "window-join" || n.kind == "dedup") {
      out += fmt::format("{} {}\n", n.kind, n.name);
    }
  }
  return out;
}

// Where a reset to `t` must rewind to (see the header), or why it cannot be consistent.
struct Rewind {
  int64_t from = 0;  // P: windows starting before it are not refilled
  int64_t to = 0;    // R: the inputs are rewound to the first record at or after it
  std::vector<std::string> why;
  bool windows = false;  // the job has window aggregates: P goes to the next run
};

Result<Rewind> PlanRewind(std::string_view rules, int64_t t, const std::string& app,
                          bool keep_state) {
  Rewind r{t, t, {}, false};
  if (rules.empty() || rules[0] != 'R') return Corruption("malformed time rules in the state");
  std::istringstream in{std::string(rules.substr(1))};
  std::string line;
  int64_t ooo = 0, grace = 0;
  bool windows = false;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string kind, name;
    f >> kind;
    if (kind == "out-of-orderness") {
      f >> ooo;
      continue;
    }
    if (kind == "windows") {
      int64_t size = 0, advance = 0, g = 0;
      f >> size >> advance >> g >> std::ws;
      std::getline(f, name);
      if (size <= 0 || advance <= 0) return Corruption("malformed time rule '{}'", line);
      // The earliest window [s, s + size), s a multiple of advance, that contains t.
      int64_t first = FloorTo(t, advance);
      while (first - advance > t - size) first -= advance;
      windows = r.windows = true;
      grace = std::max(grace, g);
      if (first < r.from) r.from = first;
      r.why.push_back(
          fmt::format("window aggregate '{}' ({} ms windows every {} ms, grace {} ms): "
                      "the earliest window containing the reset time starts at {}",
                      name, size, advance, g, TimeText(first)));
      continue;
    }
    f >> std::ws;
    std::getline(f, name);
    if (kind == "sessions") {
      return InvalidArgument(
          "cannot reset application '{}' to a time consistently: '{}' has session windows, and "
          "the session open at that time may have begun at any earlier time, so a rerun from "
          "there would emit it again with part of its records; nothing was changed. Reset with "
          "--to-earliest (reprocesses all retained input)",
          app, name);
    }
    if (kind == "window-join" || kind == "dedup") {
      return InvalidArgument(
          "cannot reset application '{}' to a time consistently: '{}' ({}) decides each result "
          "by records before it (a {} chain can reach back arbitrarily far), so a rerun from "
          "that time could emit results the run before the reset did not, or miss ones it did; "
          "nothing was changed. Reset with --to-earliest (reprocesses all retained input)",
          app, name, kind, kind == "dedup" ? "duplicate" : "join buffer");
    }
  }
  if (!windows) return r;  // no windows: a reset to t is to t
  if (keep_state) {
    return InvalidArgument(
        "cannot reset application '{}' to a time with --keep-state: its windows already hold the "
        "records after that time, and reading them again would count them twice; nothing was "
        "changed. Reset without --keep-state (the state is rebuilt from the rewound inputs)",
        app);
  }
  r.to = r.from - grace - ooo;
  r.why.push_back(
      fmt::format("inputs rewound to {} = {} - grace {} ms - out-of-orderness {} ms, "
                  "so every window from {} on is refilled completely; windows before "
                  "it were emitted before the reset and are not emitted again",
                  TimeText(r.to), TimeText(r.from), grace, ooo, TimeText(r.from)));
  return r;
}

// The rewind of a reset (ResetOptions::to_earliest: none): for a reset to a time, the job's
// time rules read from its state and planned as the header says, with the lines that say why.
Result<Rewind> PlanRewindFromState(const StateDb* db, const std::string& dir, const ResetOptions& o,
                                   std::vector<std::string>* lines) {
  const std::string& app = o.application_id;
  Rewind rewind{o.time.value(), o.time.value(), {}, false};
  if (o.to_earliest) return rewind;
  std::string rules;
  bool found = false;
  if (db) SLUICE_RETURN_IF_ERROR(db->Get(db->meta(), kTimeRulesKey, &rules, &found));
  if (!found) {
    return InvalidArgument(
        "cannot reset application '{}' to a time consistently: its windows are recorded in its "
        "state directory, and {}; nothing was changed. Reset with --to-earliest, or run the job "
        "once (with this version) and stop it, then reset to the time",
        app,
        db ? fmt::format("the state at '{}' was written before they were recorded", dir)
           : fmt::format("there is no state directory at '{}'", dir));
  }
  SLUICE_ASSIGN_OR_RETURN(rewind, PlanRewind(rules, o.time.value(), app, o.keep_state));
  lines->push_back(fmt::format("reset time {}", TimeText(o.time.value())));
  for (auto& w : rewind.why) lines->push_back(std::move(w));
  return rewind;
}

// Closes and deletes the state directory, or says there was none.
Status DeleteStateDirectory(std::unique_ptr<StateDb> db, const std::string& dir,
                            std::vector<std::string>* lines) {
  if (!db) {
    lines->push_back(fmt::format("no state directory at {}", dir));
    return Status::Ok();
  }
  db.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return IOError("cannot delete state directory '{}': {}", dir, ec.message());
  lines->push_back(fmt::format("state deleted: {}", dir));
  return Status::Ok();
}

// The reset's mark in the group offsets' metadata, with P when the job has windows: the next
// start's tasks must not refill windows before P (RecordStartOfRun).
std::string ResetTag(const Rewind& rewind) {
  return rewind.windows ? fmt::format("{} from={}", kResetTag, rewind.from)
                        : std::string(kResetTag);
}

}  // namespace

Status RecordTimeRules(StateDb* db, const Topology& topology, Log* log,
                       const std::string& application_id) {
  SLUICE_ASSIGN_OR_RETURN(bool started, db->AnyWithPrefix(db->meta(), "ckpt/"));
  std::vector<std::string> metadata;
  if (!started) {
    SLUICE_ASSIGN_OR_RETURN(auto group, log->offsets().Fetch(application_id));
    for (const auto& [tp, c] : group) metadata.push_back(c.metadata);
  }
  return RecordStartOfRun(db, topology, !started, metadata);
}

bool IsResetMark(std::string_view metadata) {
  return metadata == kResetTag || metadata.starts_with(fmt::format("{} ", kResetTag));
}

Status RecordStartOfRun(StateDb* db, const Topology& topology, bool fresh,
                        const std::vector<std::string>& group_metadata) {
  rocksdb::WriteBatch wb;
  wb.Put(db->meta(), std::string(kTimeRulesKey), EncodeTimeRules(topology)).PermitUncheckedError();
  if (fresh) {
    const std::string tag = fmt::format("{} from=", kResetTag);
    for (const std::string& m : group_metadata) {
      if (!m.starts_with(tag)) continue;
      int64_t from = 0;
      const char* first = m.data() + tag.size();
      auto [end, ec] = std::from_chars(first, m.data() + m.size(), from);
      if (ec != std::errc() || end != m.data() + m.size()) {
        return Corruption("malformed reset mark '{}' in the group's committed offsets", m);
      }
      std::string v(8, '\0');
      varint::PutBE64(v.data(), static_cast<uint64_t>(from));
      wb.Put(db->meta(), std::string(kReprocessFromKey), v).PermitUncheckedError();
      break;
    }
  }
  return db->Write(&wb, /*sync=*/true);
}

Result<Timestamp> ReprocessFrom(const StateDb& db) {
  std::string v;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(db.Get(db.meta(), kReprocessFromKey, &v, &found));
  if (!found) return kMinWatermark;
  if (v.size() != 8) return Corruption("malformed '{}' in '{}'", kReprocessFromKey, db.dir());
  return Timestamp(static_cast<int64_t>(varint::GetBE64(v.data())));
}

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

  // A reset to a time: how far back the job's windows need it to go (see the header).
  SLUICE_ASSIGN_OR_RETURN(Rewind rewind, PlanRewindFromState(db.get(), dir, o, &lines));

  // New positions of the external inputs.
  std::map<TopicPartition, int64_t> target;
  for (const auto& [tp, committed] : group) {
    if (IsInternal(tp.topic, app) || !log->HasTopic(tp.topic)) continue;
    SLUICE_ASSIGN_OR_RETURN(Partition * p, log->GetPartition(tp.topic, tp.partition));
    int64_t to = p->log_start_offset().value();
    std::string when = "the log start";
    if (!o.to_earliest) {
      SLUICE_ASSIGN_OR_RETURN(Offset t, p->OffsetForTime(Timestamp(rewind.to)));
      to = t.value();
      when = fmt::format("the first record at or after {}", TimeText(rewind.to));
    }
    target[tp] = to;
    lines.push_back(fmt::format("input {} partition {}: offset {} -> {} ({})", tp.topic,
                                tp.partition.value(), committed.offset.value(), to, when));
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> topics, log->ListTopics());

  std::map<TopicPartition, CommittedOffset> mirror;
  if (!o.keep_state) {
    SLUICE_RETURN_IF_ERROR(DeleteStateDirectory(std::move(db), dir, &lines));
    for (const auto& t : topics) {
      if (!IsInternal(t, app)) continue;
      SLUICE_RETURN_IF_ERROR(log->DeleteTopic(t));
      lines.push_back(fmt::format("repartition topic deleted: {}", t));
    }
    // The next run's tasks must not refill windows before P (RecordTimeRules).
    const std::string tag = ResetTag(rewind);
    for (const auto& [tp, to] : target) {
      mirror[tp] = CommittedOffset{Offset(to), tag, Now()};
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

Result<std::vector<std::string>> ResetJobOverBroker(client::LogClient* client,
                                                    const ResetOptions& o) {
  const std::string& app = o.application_id;
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(app));
  std::vector<std::string> lines;
  Result<client::GroupDescription> described = client->DescribeGroup(app);
  if (!described.ok() && described.status().code() == StatusCode::kNotFound) {
    return NotFound(
        "application '{}' has no committed offsets at the broker; nothing to reset (was it run "
        "with this --app and this --bootstrap-server?)",
        app);
  }
  SLUICE_RETURN_IF_ERROR(described.status());
  const client::GroupDescription& group = *described;
  if (!group.members.empty()) {
    std::string who;
    for (const auto& m : group.members) {
      if (!who.empty()) who += ", ";
      who += m.client_id.empty() ? m.member_id : fmt::format("{} ({})", m.member_id, m.client_id);
    }
    return Unavailable(
        "application '{}' has {} active member(s) in its group at the broker: {}; nothing was "
        "changed. Stop every instance of the job (and any consumer in group '{}'; a killed one "
        "leaves after its session timeout), then reset",
        app, group.members.size(), who, app);
  }
  if (o.keep_state) {
    return InvalidArgument(
        "cannot reset application '{}' with --keep-state over a broker: at its next start the "
        "job matches its state's last commit against the group's offsets (runtime/README.md "
        "\"Running over a broker\"), and offsets rewound under a kept state would no longer match "
        "it; nothing was changed. Reset without --keep-state (the state is rebuilt from the "
        "rewound inputs)",
        app);
  }

  std::string dir = (std::filesystem::path(o.state_dir) / app).string();
  // Opening the state takes its lock: an instance running on this machine makes this fail.
  std::unique_ptr<StateDb> db;
  if (std::filesystem::exists(dir)) {
    Result<std::unique_ptr<StateDb>> opened = StateDb::Open(dir, {});
    if (!opened.ok()) {
      if (opened.status().code() == StatusCode::kUnavailable) {
        return Unavailable(
            "application '{}' is running on this machine (its state directory '{}' is locked); "
            "stop it before resetting",
            app, dir);
      }
      return opened.status();
    }
    db = std::move(opened).value();
    // A broker job writes both keys at its first start; an embedded job's exchange is "local"
    // or "log" (absent in state from before the key existed).
    std::string owner, mode;
    bool has_owner = false, has_mode = false;
    SLUICE_RETURN_IF_ERROR(db->Get(db->meta(), kAppKey, &owner, &has_owner));
    SLUICE_RETURN_IF_ERROR(db->Get(db->meta(), kExchangeKey, &mode, &has_mode));
    if (has_owner && (!has_mode || mode != "broker")) {  // BrokerJob's kBrokerExchange
      return InvalidArgument(
          "state directory '{}' of application '{}' was written by a job on the embedded log, "
          "not over a broker; nothing was changed. Reset it on its data directory (without "
          "--bootstrap-server, with the serving process stopped)",
          dir, app);
    }
  } else if (!o.state_deleted) {
    // A job over a broker always runs with a state directory; offsets that are not a reset's
    // were committed by one.
    const bool ran_with_state =
        std::any_of(group.committed.begin(), group.committed.end(), [&](const auto& e) {
          auto m = group.metadata.find(e.first);
          return m == group.metadata.end() || !IsResetMark(m->second);
        });
    if (ran_with_state) {
      return NotFound(
          "application '{}' has committed offsets at the broker, so it ran with a state "
          "directory, but there is none at '{}'; nothing was changed. Give the --state directory "
          "the job runs with (its RocksDB is <state>/{}; run the reset on the machine that has "
          "it); if its state was deleted on purpose, add --state-deleted to rewind the offsets "
          "anyway",
          app, dir, app);
    }
  }

  // A reset to a time: how far back the job's windows need it to go (see the header).
  SLUICE_ASSIGN_OR_RETURN(Rewind rewind, PlanRewindFromState(db.get(), dir, o, &lines));

  // New positions of the external inputs.
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> topics, client->ListTopics());
  std::vector<TopicPartition> inputs;
  for (const auto& [tp, committed] : group.committed) {
    if (IsBrokerInternal(tp.topic, app)) continue;
    if (!std::binary_search(topics.begin(), topics.end(), tp.topic)) continue;
    inputs.push_back(tp);
  }
  SLUICE_ASSIGN_OR_RETURN(
      auto target, client->ListOffsets(
                       inputs, o.to_earliest ? client::OffsetSpec::Earliest()
                                             : client::OffsetSpec::ForTime(Timestamp(rewind.to))));
  const std::string when =
      o.to_earliest ? std::string("the log start")
                    : fmt::format("the first record at or after {}", TimeText(rewind.to));
  for (const auto& [tp, to] : target) {
    lines.push_back(fmt::format("input {} partition {}: offset {} -> {} ({})", tp.topic,
                                tp.partition.value(), group.committed.at(tp).value(), to.value(),
                                when));
  }

  SLUICE_RETURN_IF_ERROR(DeleteStateDirectory(std::move(db), dir, &lines));
  for (const auto& t : topics) {
    if (!IsBrokerInternal(t, app)) continue;
    SLUICE_RETURN_IF_ERROR(client->DeleteTopic(t).WithContext(
        fmt::format("application '{}': deleting its internal topic '{}' (the state is gone; run "
                    "the reset again with --state-deleted to finish it)",
                    app, t)));
    lines.push_back(
        fmt::format("{} topic deleted: {}", IsInternal(t, app) ? "repartition" : "changelog", t));
  }
  // The mark tells the next start (BrokerJob's recovery) that these offsets come from a reset,
  // not from a run whose state was lost, and carries P for its tasks (RecordStartOfRun).
  const std::string tag = ResetTag(rewind);
  SLUICE_RETURN_IF_ERROR(
      client->ResetGroupOffsets(app, target, tag)
          .WithContext(
              fmt::format("application '{}': the state and internal topics are gone; run the reset "
                          "again with --state-deleted to rewind the offsets",
                          app)));
  lines.push_back(fmt::format("group '{}': {} offset(s) committed with metadata '{}'", app,
                              target.size(), tag));
  return lines;
}

}  // namespace sluice
