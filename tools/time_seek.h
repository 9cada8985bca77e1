// Finding the offset of a time, exactly as Kafka's offsetsForTimes answers it.
#pragma once

#include "core/partition.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::tools {

// The offset of the first record whose timestamp is >= ts, or the high watermark if there is
// none. Partition::OffsetForTime finds the batch through the time index; this reads that batch
// (and the next ones while needed) to land on the record itself, not the batch start.
Result<Offset> OffsetOfTime(const Partition& partition, Timestamp ts);

}  // namespace sluice::tools
