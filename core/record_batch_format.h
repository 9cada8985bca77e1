// Byte layout of a Kafka RecordBatch v2 ("magic 2"), shared by the writer and every reader.
// The prose spec is in core/README.md ("Batch format").
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::batch_format {

inline constexpr size_t kBaseOffset = 0;             // INT64, assigned by the log
inline constexpr size_t kBatchLength = 8;            // INT32, bytes after this field
inline constexpr size_t kPartitionLeaderEpoch = 12;  // INT32, not covered by the CRC
inline constexpr size_t kMagic = 16;                 // INT8, must be 2
inline constexpr size_t kCrc = 17;                   // UINT32, CRC-32C of [kAttributes, end)
inline constexpr size_t kAttributes = 21;            // INT16
inline constexpr size_t kLastOffsetDelta = 23;       // INT32
inline constexpr size_t kBaseTimestamp = 27;         // INT64
inline constexpr size_t kMaxTimestamp = 35;          // INT64
inline constexpr size_t kProducerId = 43;            // INT64, -1 when not idempotent
inline constexpr size_t kProducerEpoch = 51;         // INT16
inline constexpr size_t kBaseSequence = 53;          // INT32
inline constexpr size_t kRecordCount = 57;           // INT32
inline constexpr size_t kHeaderSize = 61;            // records start here

// baseOffset + batchLength: the part of the header outside batchLength.
inline constexpr size_t kLogOverhead = 12;
inline constexpr int8_t kMagicV2 = 2;

inline constexpr uint16_t kCompressionMask = 0x07;
inline constexpr uint16_t kTimestampTypeBit = 0x08;
inline constexpr uint16_t kTransactionalBit = 0x10;
inline constexpr uint16_t kControlBit = 0x20;

// Upper bound on one batch; larger length fields are treated as corruption.
inline constexpr int32_t kMaxBatchBytes = 64 << 20;

}  // namespace sluice::batch_format
