// The partition's `segments` file: the log start and every segment's base offset, with the end
// offset of each sealed segment, so that an open can tell a legal gap between segments
// (compaction, control batches) from a segment file that was lost (core/README.md, "Recovery").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace sluice::internal {

struct SegmentListFile {
  struct Entry {
    Offset base;
    std::optional<Offset> end;  // set for sealed segments; the active (last) one has none
  };
  Offset log_start;
  std::vector<Entry> segments;

  std::string Encode() const;
  // kCorruption (naming `path`) if the file is damaged.
  static Result<SegmentListFile> Decode(std::string_view bytes, std::string_view path);
};

}  // namespace sluice::internal
