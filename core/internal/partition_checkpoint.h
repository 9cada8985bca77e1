// PartitionCheckpoint: the partition's `recovery-point` file — log start offset, recovery point
// and the producer state and transaction index as of the recovery point (format in
// core/README.md, "Recovery").
//
// Written with FileSystem::WriteFileAtomic whenever everything below the recovery point has been
// fsynced (segment roll, retention, close, end of recovery), so it is always either the old or the
// new version, never a mix. A CRC-32C trailer catches damage.
#pragma once

#include <string>
#include <string_view>

#include "core/producer_state.h"
#include "core/status.h"
#include "core/txn_index.h"
#include "core/types.h"

namespace sluice::internal {

struct PartitionCheckpoint {
  Offset log_start_offset{0};
  // Every batch below this offset is fsynced and was checked; recovery trusts it.
  Offset recovery_point{0};
  // Producer state as of recovery_point.
  ProducerStateTable producers;
  // Transaction index as of recovery_point (version 2 on). A version 1 file has none: then
  // `txn_known` is false and recovery rebuilds the index from the whole log.
  TxnIndex txn;
  bool txn_known = true;

  std::string Encode() const;
  // kCorruption if the bytes are not a whole, CRC-valid checkpoint.
  static Result<PartitionCheckpoint> Decode(std::string_view bytes);
};

}  // namespace sluice::internal
