#include "core/topic_config.h"

#include <charconv>
#include <set>
#include <vector>

#include "core/internal/metadata_file.h"

namespace sluice {
namespace {

// The first line of a checksummed topic.conf; files without it (and without a checksum) were
// written before checksums existed.
constexpr std::string_view kHeader = "sluice-topic 2\n";

Result<int64_t> ParseInt(std::string_view key, std::string_view v) {
  int64_t out = 0;
  if (!internal::ParseDecimal(v, &out)) {
    return Corruption("topic config: '{}' has non-numeric value '{}'", key, v);
  }
  return out;
}

}  // namespace

std::string TopicConfig::Serialize() const {
  return internal::SealMetadata(fmt::format(
      "{}partitions={}\nretention_ms={}\nretention_bytes={}\nsegment_bytes={}\nmax_message_bytes={}"
      "\n",
      kHeader, partitions, retention_ms, retention_bytes, segment_bytes, max_message_bytes));
}

Result<TopicConfig> TopicConfig::Parse(std::string_view text) {
  SLUICE_ASSIGN_OR_RETURN(internal::MetadataText m,
                          internal::UnsealMetadata(text, "topic.conf", ""));
  text = m.text;
  if (m.checksummed) {
    if (!text.starts_with(kHeader)) return Corruption("topic config: unknown header");
    text.remove_prefix(kHeader.size());
  } else if (text.starts_with(kHeader)) {
    return Corruption("topic config: the checksum line is missing (the file was cut short)");
  }
  TopicConfig c;
  bool saw_partitions = false;
  std::set<std::string_view> seen;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Corruption("topic config: bad line '{}'", line);
    std::string_view key = line.substr(0, eq);
    if (!seen.insert(key).second) return Corruption("topic config: '{}' appears twice", key);
    SLUICE_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, line.substr(eq + 1)));
    if (key == "partitions") {
      c.partitions = static_cast<int32_t>(v);
      saw_partitions = true;
    } else if (key == "retention_ms") {
      c.retention_ms = v;
    } else if (key == "retention_bytes") {
      c.retention_bytes = v;
    } else if (key == "segment_bytes") {
      c.segment_bytes = v;
    } else if (key == "max_message_bytes") {
      c.max_message_bytes = static_cast<int32_t>(v);
    } else {
      return Corruption("topic config: unknown key '{}'", key);
    }
  }
  if (!saw_partitions) return Corruption("topic config: no partition count");
  if (Status st = c.Validate(); !st.ok()) {
    return Corruption("topic config: {}", st.message());
  }
  return c;
}

Status TopicConfig::Validate() const {
  if (partitions < 1 || partitions > kMaxPartitions) {
    return InvalidArgument("partitions must be between 1 and {}, got {}", kMaxPartitions,
                           partitions);
  }
  if (retention_ms < -1 || retention_ms == 0) {
    return InvalidArgument("retention-ms must be positive or -1 (keep forever), got {}",
                           retention_ms);
  }
  if (retention_bytes < -1 || retention_bytes == 0) {
    return InvalidArgument("retention-bytes must be positive or -1 (no limit), got {}",
                           retention_bytes);
  }
  if (segment_bytes < 1024 || segment_bytes > (1ll << 30)) {
    return InvalidArgument("segment-bytes must be between 1024 and 1073741824, got {}",
                           segment_bytes);
  }
  if (max_message_bytes < 64 || max_message_bytes > (64 << 20)) {
    return InvalidArgument("max-message-bytes must be between 64 and 67108864, got {}",
                           max_message_bytes);
  }
  return Status::Ok();
}

Status ValidateTopicName(std::string_view name) {
  if (name.empty()) return InvalidArgument("topic name is empty; use 1-249 of [a-zA-Z0-9._-]");
  if (name.size() > kMaxTopicNameLength) {
    return InvalidArgument("topic name is {} characters long; the limit is {}", name.size(),
                           kMaxTopicNameLength);
  }
  if (name == "." || name == "..") {
    return InvalidArgument("topic name '{}' is not allowed; use 1-249 of [a-zA-Z0-9._-]", name);
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      std::string shown = (c >= 0x20 && c < 0x7f) ? fmt::format("'{}'", c)
                                                  : fmt::format("byte 0x{:02x}", uint8_t(c));
      return InvalidArgument(
          "topic name contains {}; topic names use only letters, digits, '.', '_' and '-'", shown);
    }
  }
  return Status::Ok();
}

}  // namespace sluice
