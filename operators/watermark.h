// Event time and watermarks.
//
// Every record has an event time: its record timestamp, or what a timestamp extractor
// (Stream::WithEventTime) reports. Each input partition of a task has a watermark: the largest
// event time seen on it minus the allowed out-of-orderness ("no record older than this is still
// expected"). For a repartition topic the watermark is not computed from its records but carried
// from the upstream tasks (each record and each watermark marker says what its sender's
// watermark was); the partition's watermark is the minimum over its senders. The task's
// watermark is the minimum over its partitions that are not idle; a partition that has seen
// nothing for `idle_timeout` (processing time) is idle until its next record, and a bounded input
// at its end (until_end) stops counting at all. When every partition is ended the watermark is
// kMaxWatermark, which closes every window. Watermarks never go backwards.
//
// Lateness is judged per record against the watermark its own partition had before it (the
// "record watermark"), and windows close by the task watermark (never above any record
// watermark still to come from that partition), so which records are late depends only on each
// partition's contents, not on how partitions interleave: results are the same with any number
// of threads and any batch size.
//
// Not thread-safe: one tracker per task.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/types.h"

namespace sluice {

// Below any real event time / above any: kept far from the int64 limits so that adding sizes,
// gaps and grace periods never overflows.
inline constexpr Timestamp kMinWatermark{INT64_MIN / 4};
inline constexpr Timestamp kMaxWatermark{INT64_MAX / 4};

struct EventTimeOptions {
  // Watermark = max event time seen - this. Default 0 (in-order input).
  std::chrono::milliseconds max_out_of_orderness{0};
  // A partition without records for this long stops holding the watermark back. 0 = never.
  // Default 10 s.
  std::chrono::milliseconds idle_timeout{10000};
};

class WatermarkTracker {
 public:
  explicit WatermarkTracker(EventTimeOptions options) : options_(options) {}

  // Adds a partition and returns its index. `senders` > 0 makes it a carried partition (a
  // repartition topic written by that many upstream tasks). `options` overrides the tracker's for
  // this partition (a source's own settings, Topology::SourceEventTime).
  int AddPartition(int senders = 0, std::optional<EventTimeOptions> options = std::nullopt);
  int partitions() const { return static_cast<int>(parts_.size()); }

  // The partition's watermark now (what a record read next is judged against).
  Timestamp PartitionWatermark(int p) const;
  // A record with event time `ts` was read from partition p at processing time `now`.
  void ObserveRecord(int p, Timestamp ts, Timestamp now);
  // Upstream task `sender` of carried partition p reported watermark `wm` at time `now`;
  // `sender_idle` when all of that sender's own inputs are idle (it then stops holding p back
  // until it reports again).
  void ObserveWatermark(int p, int sender, Timestamp wm, Timestamp now, bool sender_idle = false);
  // True when there is at least one partition and every one is idle or ended.
  bool AllIdle() const;
  // Marks p idle until its next record or watermark.
  void MarkIdle(int p);
  // Marks p as at the end of its (bounded) input: it never holds the watermark back again.
  void MarkEnded(int p);
  // Marks idle every partition not heard from for idle_timeout before `now`.
  void CheckIdle(Timestamp now);
  // What a restart must restore (the runtime commits it with the task's offsets): per partition
  // the largest event time seen and the senders' watermarks, and the current watermark.
  struct PartitionState {
    Timestamp max_event{kMinWatermark};
    std::vector<Timestamp> sender_wm;
  };
  PartitionState GetState(int p) const { return {parts_[p].max_event, parts_[p].sender_wm}; }
  // Ignored if the sender count differs (the topology changed).
  void SetState(int p, const PartitionState& s);
  void SetCurrent(Timestamp wm) { current_ = std::max(current_, wm); }

  // The task watermark: the minimum over partitions neither idle nor ended (the maximum of their
  // watermarks if all are idle; kMaxWatermark if all are ended). Monotone.
  Timestamp Current();

 private:
  struct Part {
    Timestamp max_event{kMinWatermark};
    std::vector<Timestamp> sender_wm;  // carried partitions
    std::vector<char> sender_idle;
    Timestamp last_heard{kMinWatermark};
    bool idle = false;
    bool ended = false;
    int64_t out_of_orderness_ms = 0;
    int64_t idle_timeout_ms = 0;
  };
  Timestamp Raw(const Part& p) const;
  bool IsIdle(const Part& p) const;

  EventTimeOptions options_;
  std::vector<Part> parts_;
  Timestamp current_{kMinWatermark};
};

}  // namespace sluice
