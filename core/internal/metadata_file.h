// Checksummed text metadata files: topic.conf, a group's committed offsets and producer-ids
// (format in core/README.md, "Metadata files").
//
// A file is its text (line-oriented, ending in '\n'; its first line names the format and its
// version) followed by one trailer line "crc32c:XXXXXXXX\n", the CRC-32C of every byte before the
// trailer in 8 lower-case hex digits. Files written before checksums existed have no trailer and
// no versioned header; they are still read, and only their (strict) parser checks them. A file
// whose header names a checksummed version but that has no valid trailer is corruption.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::internal {

// Returns `text` (which must end in '\n') followed by its trailer line.
std::string SealMetadata(std::string_view text);

struct MetadataText {
  std::string_view text;  // the bytes before the trailer (the whole file if there is none)
  bool checksummed = false;
};

// Checks the trailer of a file's `bytes` and returns its text. A file without a trailer line is
// returned whole with checksummed = false. kCorruption (naming `path` and saying what to do,
// `remedy`) if the trailer is malformed or does not match.
Result<MetadataText> UnsealMetadata(std::string_view bytes, std::string_view path,
                                    std::string_view remedy);

// Parses a whole decimal integer: an optional '-' and digits, nothing else (no '+', spaces, hex
// or trailing bytes). Returns false if `s` is not one or does not fit.
bool ParseDecimal(std::string_view s, int64_t* out);

}  // namespace sluice::internal
