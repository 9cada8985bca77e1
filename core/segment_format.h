// On-disk layout of a partition directory, shared by the writer, recovery and read-only readers.
// The prose spec is in core/README.md ("Partitions and segments", "Indexes", "Recovery").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::segment_format {

// Segment files are named by their base offset, zero-padded to this many digits.
inline constexpr int kNameDigits = 20;
inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
// Left behind by an interrupted FileSystem::WriteFileAtomic; removed on open.
inline constexpr std::string_view kTmpSuffix = ".tmp";
// Compaction (core/README.md "Compaction"): `<base>.cleaned` is a cleaning's output being
// written (removed on open); `<base>.<end>.swap` is complete, fsynced output that replaces the
// segments from `base` up to offset `end` (an open finishes the swap).
inline constexpr std::string_view kCleanedSuffix = ".cleaned";
inline constexpr std::string_view kSwapSuffix = ".swap";
// Offset below which the partition has been cleaned (text, checksummed).
inline constexpr std::string_view kCleanerCheckpointFile = "cleaner-checkpoint";

// Offset index entry: BE32 offset relative to the segment base, BE32 byte position of the batch
// with that base offset.
inline constexpr size_t kOffsetIndexEntrySize = 8;
// Time index entry: BE64 max timestamp so far in the segment, BE32 relative base offset of the
// first batch that reached it.
inline constexpr size_t kTimeIndexEntrySize = 12;

// Log start offset, recovery point and producer state snapshot (see PartitionCheckpoint).
inline constexpr std::string_view kCheckpointFile = "recovery-point";
// Present only while no writer has the partition open and the last one closed cleanly.
inline constexpr std::string_view kCleanShutdownFile = "clean-shutdown";
// Log start and every segment's base (and a sealed one's end): tells a lost segment from a gap.
inline constexpr std::string_view kSegmentListFile = "segments";

inline constexpr uint32_t kCheckpointMagic = 0x534c5250;  // "SLRP"
inline constexpr uint8_t kCheckpointVersion = 2;          // 2 added the transaction index

// Positions are 32-bit in the offset index, so a segment never grows past this.
inline constexpr int64_t kMaxSegmentBytes = int64_t{1} << 31;
// Relative offsets are 32-bit: a segment rolls before its offsets span more than this.
inline constexpr int64_t kMaxRelativeOffset = (int64_t{1} << 31) - 1;

}  // namespace sluice::segment_format
