// TaskGraph: one stage of a Topology instantiated for one task — fresh operator nodes wired
// together, bound to the task's ProcessorContext (its stores and output topics).
//
// Process() is the single boundary where exceptions thrown by user callables are caught: the
// record's processing stops and Process returns kAborted naming the operator. Not thread-safe:
// a task runs serially.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "operators/processor_context.h"
#include "operators/topology.h"

namespace sluice {

namespace internal {
class SourceNodeBase;
}

class TaskGraph {
 public:
  // REQUIRES: `topology` and `ctx` outlive the graph; `stage` is a stage id of the topology.
  static Result<std::unique_ptr<TaskGraph>> Create(const Topology& topology, int stage,
                                                   ProcessorContext* ctx);
  ~TaskGraph();

  // Runs one record of topic `topic` (an index in topology.topics() that this stage reads)
  // through the stage. Errors: deserialization (kInvalidArgument), store errors, kAborted when
  // user code throws.
  Status Process(int topic, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, Timestamp ts);

  // Advances the task's watermark to `wm` (ignored unless it moves forward): sets
  // ctx->watermark() and lets every operator emit what the watermark completes (windows) or
  // expire what it can no longer match (joins). Records emitted here carry the previous
  // watermark as their record watermark. Errors as for Process.
  Status AdvanceWatermark(Timestamp wm);

 private:
  // Runs f (a call into the operators); an exception from user code becomes kAborted.
  template <typename F>
  Status Guarded(F&& f);
  TaskGraph() = default;
  const Topology* topology_ = nullptr;
  ProcessorContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<internal::NodeBase>> nodes_;  // by node id; null outside stage
  std::vector<internal::SourceNodeBase*> sources_;          // by topic index
};

}  // namespace sluice
