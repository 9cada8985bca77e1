#include "tools/time_seek.h"

#include <optional>
#include <string_view>

#include "core/record_batch.h"

namespace sluice::tools {

Result<Offset> OffsetOfTime(const Partition& partition, Timestamp ts) {
  SLUICE_ASSIGN_OR_RETURN(Offset offset, partition.OffsetForTime(ts));
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(ReadResult read, partition.Read(offset, 64 << 10));
    if (offset >= read.high_watermark || read.data.empty()) return read.high_watermark;
    std::string_view rest = read.data;
    while (!rest.empty()) {
      int64_t size = BatchSizeAt(rest);
      if (size <= 0 || static_cast<size_t>(size) > rest.size()) {
        return Corruption("batch at offset {} of {}-{} is malformed", offset.value(),
                          partition.topic(), partition.id().value());
      }
      SLUICE_ASSIGN_OR_RETURN(RecordBatchView batch,
                              RecordBatchView::Parse(rest.substr(0, static_cast<size_t>(size))));
      rest.remove_prefix(static_cast<size_t>(size));
      std::optional<Offset> found;
      if (batch.max_timestamp() >= ts) {
        SLUICE_RETURN_IF_ERROR(batch.ForEachRecord([&](const RecordView& r) {
          if (!found && r.offset >= offset && r.timestamp >= ts) found = r.offset;
        }));
      }
      if (found) return *found;
      offset = batch.last_offset() + 1;
    }
  }
}

}  // namespace sluice::tools
