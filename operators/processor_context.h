// ProcessorContext: what an operator instance may touch while processing a record — the task's
// stores and its output topics. The TestDriver and the runtime each implement it; one context
// belongs to one task and is used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "operators/key_value_store.h"

namespace sluice {

class ProcessorContext {
 public:
  virtual ~ProcessorContext() = default;
  // The store with index `store_index` in Topology::stores(). Never null for a store of the
  // task's stage.
  virtual KeyValueStore* store(int store_index) = 0;
  // Sends a serialized record to the topic with index `topic_index` in Topology::topics().
  // The partition is chosen by the key (Kafka's murmur2 partitioner).
  virtual Status Send(int topic_index, std::string_view key, std::string_view value,
                      Timestamp ts) = 0;
  // Sends a tombstone — `key` with a null value (length -1 in the record format), which a
  // compacted topic takes as the deletion of the key — to the topic with index `topic_index`,
  // partitioned by key like Send. A table's deletes reach output topics this way
  // (operators/README.md, "Nulls"). The TestDriver and the embedded runtime write them; a
  // runtime that keeps the default cannot, and runtime/job.cc refuses to start a topology that
  // would need it there, so this default is never reached by a running job.
  virtual Status SendTombstone(int topic_index, std::string_view /*key*/, Timestamp /*ts*/) {
    return InvalidArgument(
        "this runtime cannot write a tombstone (a record with a null value) to topic #{}; run "
        "the job on the embedded log",
        topic_index);
  }

  // The operator currently running user code; read when a user callable throws.
  const std::string* current_operator() const { return current_operator_; }
  void set_current_operator(const std::string* name) { current_operator_ = name; }

  // Event time (see operators/watermark.h), set by the driver (TestDriver or runtime task).
  // record_watermark: the watermark of the partition the current record came from, as it was
  // before this record; windows judge lateness by it, so the judgement depends only on that
  // partition's contents. watermark: the task's watermark (minimum over its partitions); windows
  // close by it.
  Timestamp record_watermark() const { return record_watermark_; }
  void set_record_watermark(Timestamp wm) { record_watermark_ = wm; }
  Timestamp watermark() const { return watermark_; }
  void set_watermark(Timestamp wm) { watermark_ = wm; }
  // Flushed through: the largest event time an earlier bounded run had processed when the end of
  // its input closed every window (kMinWatermark if none did). Everything such a flush emitted
  // holds only event times <= this bound, so windows starting at or before it are final: a
  // record that would change one is late, whatever the watermark (operators/README.md).
  Timestamp flushed_through() const { return flushed_through_; }
  void set_flushed_through(Timestamp t) { flushed_through_ = t; }
  // Reprocessing from: after `sluice job reset --to-time T`, the start of the earliest window
  // that contains T (kMinWatermark if there was no such reset). The run before the reset emitted
  // every window starting before it, and the reset rewound the inputs only far enough to fill the
  // windows from it on, so a window starting before it is neither filled nor emitted again: a
  // record falling only into such windows is skipped, not late (operators/README.md).
  Timestamp reprocess_from() const { return reprocess_from_; }
  void set_reprocess_from(Timestamp t) { reprocess_from_ = t; }
  // A timestamp extractor reports the current record's event time here; the driver feeds it to
  // the partition's watermark instead of the record timestamp. Reset by the driver per record.
  void ReportEventTime(Timestamp ts) { reported_event_time_ = ts; }
  Timestamp reported_event_time() const { return reported_event_time_; }
  void ClearReportedEventTime() { reported_event_time_ = Timestamp(kNoEventTime); }
  static constexpr int64_t kNoEventTime = INT64_MIN;
  // Records dropped as late by windows and joins (also written to a late topic if configured).
  void CountLate() { ++late_records_; }
  int64_t late_records() const { return late_records_; }
  // Per-task objects shared by operators of one task (e.g. the two sides of a windowed join
  // share their buffers), by a key the operators agree on (a store index).
  std::shared_ptr<void>& shared_state(int key) { return shared_state_[key]; }

 private:
  const std::string* current_operator_ = nullptr;
  Timestamp record_watermark_{INT64_MIN / 4};
  Timestamp watermark_{INT64_MIN / 4};
  Timestamp flushed_through_{INT64_MIN / 4};
  Timestamp reprocess_from_{INT64_MIN / 4};
  Timestamp reported_event_time_{kNoEventTime};
  int64_t late_records_ = 0;
  std::map<int, std::shared_ptr<void>> shared_state_;
};

}  // namespace sluice
