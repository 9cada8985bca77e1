// PartitionCheckpoint: the partition's `recovery-point` file — log start offset, recovery point
// and the producer state as of the recovery point (format in core/README.md, "Recovery").
//
// Written with FileSystem::WriteFileAtomic whenever everything below the recovery point has been
// fsynced (segment roll, retention, close, end of recovery), so it is always either the old or the
// new version, never a mix. A CRC-32C trailer catches damage.
#pragma once

#include <string>
#include <string_view>

#include "core/producer_state.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::internal {

struct PartitionCheckpoint {
  Offset log_start_offset{0};
  // Every batch below this offset is fsynced and was checked; recovery trusts it.
  Offset recovery_point{0};
  // Producer state as of recovery_point.
  ProducerStateTable producers;

  std::string Encode() const;
  // kCorruption if the bytes are not a whole, CRC-valid checkpoint.
  static Result<PartitionCheckpoint> Decode(std::string_view bytes);
};

}  // namespace sluice::internal
