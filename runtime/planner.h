// Planner: turns a Topology into the tasks a job runs.
//
// Stages come from the topology (cut at topics). Each stage's source topics must have the same
// partition count (co-partitioning); the stage then has one task per partition, and task
// (stage, p) reads partition p of every source topic of the stage — except a global table's
// topic, which is outside co-partitioning and read whole by every task of its stage. Internal
// repartition topics are named "<app>-<name>" (e.g. "wc-word-counts-store-repartition") and get the
// partition count of the stage that writes them.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "operators/topology.h"
#include "runtime/commit_format.h"

namespace sluice {

class Log;

struct PlannedTopic {
  std::string log_name;
  int32_t partitions = 0;
  bool internal = false;
  // Internal topics of a job with Exchange::kLocal: records pass in memory; no log topic exists.
  bool local = false;
  // Internal topics only: records carry the sender's watermark (Topology::CarriesWatermark).
  bool carries_watermark = false;
  bool is_source = false;
  bool is_sink = false;
  // A global table's topic: every task of the stage reading it reads all its partitions, and
  // it does not count in the stage's co-partitioning.
  bool global = false;
};

struct PlannedTask {
  TaskId id;
  // Topology topic indexes; the task reads partition id.partition of each, and every partition of
  // a global one (PlannedTopic::global).
  std::vector<int> input_topics;
};

struct Plan {
  std::vector<PlannedTopic> topics;       // by topology topic index
  std::vector<int32_t> stage_partitions;  // by stage id
  std::vector<PlannedTask> tasks;         // by stage, then partition
  std::string Describe() const;
};

// Plans against the given partition counts of existing topics (log names). Every user topic
// must be present; internal topics may be absent (they are then to be created). Returns
// kInvalidArgument listing all missing topics and co-partitioning conflicts at once.
Result<Plan> MakePlan(const Topology& topology, std::string_view application_id,
                      const std::map<std::string, int32_t>& existing);

// MakePlan against `log`, then creates the missing internal topics in it. With `local` (the
// job's Exchange::kLocal), internal topics are marked local instead: existing log topics of the
// same name are ignored and none is created.
Result<Plan> PlanInLog(const Topology& topology, std::string_view application_id, Log* log,
                       bool local = false);

}  // namespace sluice
