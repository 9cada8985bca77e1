#include "core/internal/segment_list_file.h"

#include <fmt/format.h>

#include "core/internal/metadata_file.h"

namespace sluice::internal {

namespace {
constexpr std::string_view kHeader = "sluice-segments 1";
}  // namespace

std::string SegmentListFile::Encode() const {
  std::string text = fmt::format("{}\nlog_start={}\n", kHeader, log_start.value());
  for (const Entry& e : segments) {
    if (e.end) {
      text += fmt::format("sealed={} {}\n", e.base.value(), e.end->value());
    } else {
      text += fmt::format("active={}\n", e.base.value());
    }
  }
  return SealMetadata(text);
}

Result<SegmentListFile> SegmentListFile::Decode(std::string_view bytes, std::string_view path) {
  constexpr std::string_view kRemedy =
      "it is rewritten at the next roll; to check the partition's segments now, open it with a "
      "writer";
  SLUICE_ASSIGN_OR_RETURN(MetadataText m, UnsealMetadata(bytes, path, kRemedy));
  auto bad = [&](std::string_view line) {
    return Corruption("segment list '{}' has a malformed line '{}'; {}", path, line, kRemedy);
  };
  if (!m.checksummed) return Corruption("segment list '{}' has no checksum; {}", path, kRemedy);
  SegmentListFile out;
  std::string_view rest = m.text;
  bool first = true, have_start = false;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return bad(rest);
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (first) {
      if (line != kHeader) return bad(line);
      first = false;
      continue;
    }
    int64_t a = 0, b = 0;
    if (line.starts_with("log_start=")) {
      if (have_start || !ParseDecimal(line.substr(10), &a) || a < 0) return bad(line);
      out.log_start = Offset(a);
      have_start = true;
    } else if (line.starts_with("sealed=")) {
      std::string_view v = line.substr(7);
      size_t sp = v.find(' ');
      if (sp == std::string_view::npos || !ParseDecimal(v.substr(0, sp), &a) ||
          !ParseDecimal(v.substr(sp + 1), &b) || a < 0 || b < a) {
        return bad(line);
      }
      out.segments.push_back({Offset(a), Offset(b)});
    } else if (line.starts_with("active=")) {
      if (!ParseDecimal(line.substr(7), &a) || a < 0) return bad(line);
      out.segments.push_back({Offset(a), std::nullopt});
    } else {
      return bad(line);
    }
  }
  if (first || !have_start) return Corruption("segment list '{}' is incomplete; {}", path, kRemedy);
  return out;
}

}  // namespace sluice::internal
