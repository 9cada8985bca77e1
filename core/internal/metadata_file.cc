#include "core/internal/metadata_file.h"

#include <charconv>

#include "core/crc32c.h"

namespace sluice::internal {
namespace {

constexpr std::string_view kTrailerPrefix = "crc32c:";
constexpr size_t kTrailerSize = 7 + 8 + 1;  // "crc32c:" + 8 hex digits + '\n'

}  // namespace

std::string SealMetadata(std::string_view text) {
  return fmt::format("{}{}{:08x}\n", text, kTrailerPrefix, crc32c::Value(text));
}

Result<MetadataText> UnsealMetadata(std::string_view bytes, std::string_view path,
                                    std::string_view remedy) {
  // The trailer is the last line; find where it starts.
  std::string_view body = bytes;
  if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
  size_t nl = body.rfind('\n');
  size_t last = nl == std::string_view::npos ? 0 : nl + 1;
  std::string_view line = body.substr(last);
  if (!line.starts_with(kTrailerPrefix)) return MetadataText{bytes, false};
  uint32_t stored = 0;
  std::string_view hex = line.substr(kTrailerPrefix.size());
  auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), stored, 16);
  if (bytes.size() - last != kTrailerSize || hex.size() != 8 || ec != std::errc() ||
      p != hex.data() + hex.size()) {
    return Corruption("metadata file '{}' is damaged: its checksum line '{}' is malformed{}{}",
                      path, line, remedy.empty() ? "" : "; ", remedy);
  }
  std::string_view text = bytes.substr(0, last);
  uint32_t actual = crc32c::Value(text);
  if (actual != stored) {
    return Corruption(
        "metadata file '{}' is damaged: its contents do not match their checksum (stored {:08x}, "
        "computed {:08x}){}{}",
        path, stored, actual, remedy.empty() ? "" : "; ", remedy);
  }
  return MetadataText{text, true};
}

bool ParseDecimal(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  size_t digits = s[0] == '-' ? 1 : 0;
  if (digits == s.size()) return false;
  for (size_t i = digits; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace sluice::internal
