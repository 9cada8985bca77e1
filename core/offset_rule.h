// The offset rule of a partition's log, stated once (Kafka's rule). The append path, the segment
// scan, recovery and the readers all check offsets through these functions.
//
//  - Within a batch, record offsets strictly increase: the records' offset deltas d0 < d1 < ...
//    lie in [0, lastOffsetDelta]. A batch covers [baseOffset, baseOffset + lastOffsetDelta] and
//    may hold fewer records than that range has offsets.
//  - Across batches, offsets strictly increase: a batch's baseOffset is at least the previous
//    batch's next offset (baseOffset + lastOffsetDelta + 1); the first batch of a segment is at
//    least the segment's base offset (its file name), and a segment's base offset is at least the
//    previous segment's end.
//  - Gaps are allowed. Compaction removes records and whole batches and keeps the offsets of the
//    rest; a transaction's control batch takes offsets no data record has. A reader asking for an
//    offset inside a gap gets the first record after it.
//
// New appends are dense, as in Kafka's produce path: a produced batch numbers its records 0, 1,
// ... with lastOffsetDelta = record count - 1 (OffsetRule::kNewAppend), and the partition gives it
// the log end as base offset. What is stored may have gaps (OffsetRule::kStored): the segment
// scan, recovery and Partition::AppendKeepingOffsets check that. Since a gap is legal, recovery
// cannot tell a gap from batches lost in the middle of a log; it relies on CRCs, on torn tails
// showing as a partial or garbage batch, and on the recovery point (as Kafka does).
#pragma once

#include <cstdint>

#include "core/status.h"
#include "core/types.h"

namespace sluice {

enum class OffsetRule {
  kNewAppend,  // a producer's batch: dense, record i has offset delta i
  kStored,     // a batch in the log: strictly increasing, gaps allowed
};

namespace offset_rule {

// Checks a batch header's record count against its lastOffsetDelta: dense for kNewAppend
// (count == lastOffsetDelta + 1, at least one record); for kStored 0 <= count <=
// lastOffsetDelta + 1 (the cleaner may keep an empty batch for its producer state, as Kafka's).
// Returns kCorruption naming the batch by `base`.
Status CheckCounts(OffsetRule rule, Offset base, int32_t record_count, int32_t last_offset_delta);

// Whether record `index` of a batch may have offset delta `delta`, after a record with delta
// `prev` (-1 before the first record).
inline bool RecordDeltaOk(OffsetRule rule, int32_t index, int32_t prev, int32_t delta,
                          int32_t last_offset_delta) {
  if (rule == OffsetRule::kNewAppend) return delta == index;
  return delta > prev && delta <= last_offset_delta;
}

// Whether a batch (or segment) starting at `base` may follow a log whose next offset is `next`:
// offsets strictly increase, gaps allowed.
inline bool MayFollow(Offset next, Offset base) { return base >= next; }

}  // namespace offset_rule
}  // namespace sluice
