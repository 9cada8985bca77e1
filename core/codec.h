// Kafka's batch compression codecs (gzip, snappy, lz4, zstd), through Debian's zlib, snappy, lz4
// and zstd libraries. The one place core compresses and decompresses; RecordBatchView (reading,
// validating) and RecordBatchBuilder (producing) call it.
//
// Formats, as Kafka's clients write them:
//   gzip    RFC 1952 gzip stream (zlib also accepts a zlib stream: windowBits auto-detect).
//   snappy  xerial snappy-java framing ("\x82SNAPPY\0", version, compat, then blocks of a
//           4-byte big-endian length and a raw snappy block), what the Java client and
//           librdkafka write; a raw snappy block (no magic) is read too.
//   lz4     the LZ4 frame format (magic 0x184D2204), independent 64 KiB blocks when writing.
//   zstd    a zstd frame (content size optional).
//
// Decompression is bounded: output past `max_bytes` stops it with kCorruption, so a small batch
// that inflates to gigabytes (a zip bomb) costs at most `max_bytes` of memory and the time to
// produce them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

enum class Codec : int { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

namespace codec {

// "none", "gzip", "snappy", "lz4", "zstd"; "unknown" for other attribute values.
const char* Name(int codec);
// Parses a codec name as above; kInvalidArgument listing the valid names otherwise.
Result<Codec> Parse(std::string_view name);

// Appends the compressed form of `in` to *out. REQUIRES: codec != kNone.
Status Compress(Codec codec, std::string_view in, std::string* out);

// Appends the decompressed form of `in` to *out, at most `max_bytes` bytes. kCorruption for
// malformed input, for output past `max_bytes`, and for codec values Kafka does not define.
Status Decompress(int codec, std::string_view in, size_t max_bytes, std::string* out);

}  // namespace codec
}  // namespace sluice
