// TaskTime: event time for one StreamTask — the watermark tracker over its input partitions
// (operators/watermark.h) and the watermark's trip through repartition topics.
//
// Records a task writes to an internal (repartition) topic carry a header "sluice-wm" of 13
// bytes: the sender's watermark for that record (its record watermark, capped at the minimum
// over the sender's inputs) (BE64), the sender's partition (BE32) and flags (bit 0: a
// watermark marker without a record; bit 1: all of the sender's inputs are idle). When the
// task's watermark moves (or its idleness changes) it sends a marker to every partition of every
// internal topic it writes, so downstream tasks advance even where it has no records for them.
// A downstream partition's watermark is the minimum over its senders (the writing stage's
// tasks) that are not idle.
//
// Idleness in the runtime: an input that is caught up (nothing left to read) and has delivered
// nothing for idle_timeout is idle; an until_end input at its end is ended.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/record_batch.h"
#include "operators/processor_context.h"
#include "operators/watermark.h"

namespace sluice {

class TaskTime {
 public:
  static constexpr std::string_view kHeader = "sluice-wm";

  TaskTime(const EventTimeOptions& options, int32_t partition);

  // Adds an input; `senders` = the writing stage's task count for a repartition topic, else 0.
  // `table`: a table beside a stream (Topology::IsTableBesideStream), which never moves or holds
  // back the watermark and whose records' times are not event times.
  // `options`: the input's own settings (Topology::SourceEventTime); default the task's.
  int AddInput(int senders, bool table = false,
               std::optional<EventTimeOptions> options = std::nullopt);

  // Reads the processing-time clock once for the records of the batch that follows (a clock read
  // per record cost ~2% of a stateless job).
  void BeginBatch();
  // Before processing `rec` of input i: sets the context's record watermark (never below the
  // watermark the operators have seen) and clears the reported event time. Returns true when rec is
  // a watermark marker (bookkept here; not to be processed).
  bool BeforeRecord(int input, const RecordView& rec, ProcessorContext* ctx);
  // After processing a (non-marker) record with timestamp ts.
  void AfterRecord(int input, Timestamp ts, const ProcessorContext& ctx);
  // After a batch: the input's state (caught up = nothing more to read now; ended = an until_end
  // input at its end).
  void UpdateInput(int input, bool caught_up, bool ended);
  // The task watermark after the updates above.
  Timestamp Current() {
    Timestamp wm = tracker_.Current();
    if (wm < kMaxWatermark) finite_wm_ = wm;
    return wm;
  }

  // The event-time state to commit with the task's offsets, and its restore after a restart (so
  // that lateness after a restart is judged as it would have been without one).
  //
  // The end of a bounded input is not time: when the task's watermark is kMaxWatermark (its
  // until_end inputs ended, or its senders' did) the snapshot holds the last watermark below it
  // instead (and that in place of any sender's kMaxWatermark), and raises the "flushed through"
  // bound to the largest event time the task has processed: what the end-of-input flush emitted
  // is final, and the operators treat records that would change it as late
  // (ProcessorContext::flushed_through). A later run goes on from the real watermark.
  std::string Snapshot(const ProcessorContext& ctx) const;
  Status Restore(std::string_view bytes, ProcessorContext* ctx);
  static std::string StateKey(int stage, int32_t partition);

  // The header for a record this task sends to an internal topic.
  Header CarryHeader(const ProcessorContext& ctx);
  // If the watermark or idleness changed since the last call that returned true: the marker
  // header to send to every internal output partition. Otherwise false.
  bool NextMarker(Timestamp wm, Header* header);

 private:
  Header Make(Timestamp wm, uint8_t flags) const;
  static int64_t NowMs();

  EventTimeOptions options_;
  int32_t partition_;
  WatermarkTracker tracker_;
  std::vector<bool> carried_;
  std::vector<bool> table_;
  std::vector<int64_t> last_data_ms_;
  std::vector<int64_t> idle_timeout_ms_;  // per input
  int64_t now_ms_ = NowMs();
  Timestamp finite_wm_{kMinWatermark};  // the last task watermark below kMaxWatermark
  Timestamp max_event_{kMinWatermark};  // the largest event time processed, over all runs
  Timestamp flushed_{kMinWatermark};    // see Snapshot
  Timestamp sent_wm_{kMinWatermark};
  bool sent_idle_ = false;
  bool sent_any_ = false;
};

}  // namespace sluice
