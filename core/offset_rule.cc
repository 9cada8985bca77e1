#include "core/offset_rule.h"

namespace sluice::offset_rule {

Status CheckCounts(OffsetRule rule, Offset base, int32_t record_count, int32_t last_offset_delta) {
  const bool ok =
      rule == OffsetRule::kNewAppend
          ? record_count >= 1 && last_offset_delta == record_count - 1
          : last_offset_delta >= 0 && record_count >= 0 && record_count - 1 <= last_offset_delta;
  if (ok) return Status::Ok();
  return Corruption("record batch at offset {} has record count {} but last offset delta {}", base,
                    record_count, last_offset_delta);
}

}  // namespace sluice::offset_rule
