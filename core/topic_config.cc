#include "core/topic_config.h"

#include <fmt/ranges.h>

#include <charconv>
#include <cstdint>
#include <optional>
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

std::optional<CleanupPolicy> ParsePolicy(std::string_view v) {
  if (v == "delete") return CleanupPolicy::kDelete;
  if (v == "compact") return CleanupPolicy::kCompact;
  if (v == "compact,delete" || v == "delete,compact") return CleanupPolicy::kCompactDelete;
  return std::nullopt;
}

// A ratio as written: "0.5"; std::from_chars for double takes no sign other than '-', no
// spaces, and nothing after the number.
std::optional<double> ParseRatio(std::string_view v) {
  double out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

std::string FormatRatio(double r) { return fmt::format("{}", r); }

const TopicConfig kDefaults;

}  // namespace

std::string_view CleanupPolicyName(CleanupPolicy p) {
  switch (p) {
    case CleanupPolicy::kDelete:
      return "delete";
    case CleanupPolicy::kCompact:
      return "compact";
    case CleanupPolicy::kCompactDelete:
      return "compact,delete";
  }
  return "delete";
}

std::string TopicConfig::Serialize() const {
  std::string body = fmt::format(
      "{}partitions={}\nretention_ms={}\nretention_bytes={}\nsegment_bytes={}\nmax_message_bytes={}"
      "\n",
      kHeader, partitions, retention_ms, retention_bytes, segment_bytes, max_message_bytes);
  // Compaction keys only when they differ from the defaults, so a topic that does not use them
  // keeps the file an older reader understands.
  if (cleanup_policy != kDefaults.cleanup_policy) {
    body += fmt::format("cleanup_policy={}\n", CleanupPolicyName(cleanup_policy));
  }
  if (delete_retention_ms != kDefaults.delete_retention_ms) {
    body += fmt::format("delete_retention_ms={}\n", delete_retention_ms);
  }
  if (min_cleanable_dirty_ratio != kDefaults.min_cleanable_dirty_ratio) {
    body += fmt::format("min_cleanable_dirty_ratio={}\n", FormatRatio(min_cleanable_dirty_ratio));
  }
  if (min_compaction_lag_ms != kDefaults.min_compaction_lag_ms) {
    body += fmt::format("min_compaction_lag_ms={}\n", min_compaction_lag_ms);
  }
  return internal::SealMetadata(body);
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
    std::string_view text_value = line.substr(eq + 1);
    if (key == "cleanup_policy") {
      std::optional<CleanupPolicy> p = ParsePolicy(text_value);
      if (!p) return Corruption("topic config: unknown cleanup_policy '{}'", text_value);
      c.cleanup_policy = *p;
      continue;
    }
    if (key == "min_cleanable_dirty_ratio") {
      std::optional<double> r = ParseRatio(text_value);
      if (!r) return Corruption("topic config: bad min_cleanable_dirty_ratio '{}'", text_value);
      c.min_cleanable_dirty_ratio = *r;
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text_value));
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
    } else if (key == "delete_retention_ms") {
      c.delete_retention_ms = v;
    } else if (key == "min_compaction_lag_ms") {
      c.min_compaction_lag_ms = v;
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
  if (delete_retention_ms < 0) {
    return InvalidArgument("delete.retention.ms must be 0 or more, got {}", delete_retention_ms);
  }
  if (!(min_cleanable_dirty_ratio >= 0 && min_cleanable_dirty_ratio <= 1)) {
    return InvalidArgument("min.cleanable.dirty.ratio must be between 0 and 1, got {}",
                           min_cleanable_dirty_ratio);
  }
  if (min_compaction_lag_ms < 0) {
    return InvalidArgument("min.compaction.lag.ms must be 0 or more, got {}",
                           min_compaction_lag_ms);
  }
  return Status::Ok();
}

const std::vector<std::string_view>& TopicConfig::KafkaConfigNames() {
  static const std::vector<std::string_view> kNames = {
      "cleanup.policy",        "delete.retention.ms",
      "max.message.bytes",     "min.cleanable.dirty.ratio",
      "min.compaction.lag.ms", "message.timestamp.type",
      "retention.bytes",       "retention.ms",
      "segment.bytes"};
  return kNames;
}

Status TopicConfig::Set(std::string_view kafka_key, std::string_view value) {
  auto integer = [&](int64_t* out) -> Status {
    if (!internal::ParseDecimal(value, out)) {
      return InvalidArgument("config {} takes an integer, got '{}'", kafka_key, value);
    }
    return Status::Ok();
  };
  int64_t v = 0;
  if (kafka_key == "cleanup.policy") {
    std::optional<CleanupPolicy> p = ParsePolicy(value);
    if (!p) {
      return InvalidArgument(
          "config cleanup.policy takes delete, compact or compact,delete, got '{}'", value);
    }
    cleanup_policy = *p;
  } else if (kafka_key == "min.cleanable.dirty.ratio") {
    std::optional<double> r = ParseRatio(value);
    if (!r) {
      return InvalidArgument(
          "config min.cleanable.dirty.ratio takes a number from 0 to 1, got '{}'", value);
    }
    min_cleanable_dirty_ratio = *r;
  } else if (kafka_key == "retention.ms") {
    SLUICE_RETURN_IF_ERROR(integer(&retention_ms));
  } else if (kafka_key == "retention.bytes") {
    SLUICE_RETURN_IF_ERROR(integer(&retention_bytes));
  } else if (kafka_key == "segment.bytes") {
    SLUICE_RETURN_IF_ERROR(integer(&segment_bytes));
  } else if (kafka_key == "max.message.bytes") {
    SLUICE_RETURN_IF_ERROR(integer(&v));
    if (v < 0 || v > INT32_MAX) {
      return InvalidArgument("config max.message.bytes is out of range: {}", value);
    }
    max_message_bytes = static_cast<int32_t>(v);
  } else if (kafka_key == "delete.retention.ms") {
    SLUICE_RETURN_IF_ERROR(integer(&delete_retention_ms));
  } else if (kafka_key == "min.compaction.lag.ms") {
    SLUICE_RETURN_IF_ERROR(integer(&min_compaction_lag_ms));
  } else if (kafka_key == "message.timestamp.type") {
    // The log keeps the producer's timestamp of every record (Kafka's CreateTime), which is
    // what Kafka Streams asks for on its internal topics; there is nothing to store.
    if (value == "LogAppendTime") {
      return InvalidArgument(
          "config message.timestamp.type=LogAppendTime is not supported: the log keeps each "
          "record's producer timestamp; leave it unset or set CreateTime");
    }
    if (value != "CreateTime") {
      return InvalidArgument(
          "config message.timestamp.type takes CreateTime or LogAppendTime, got '{}'", value);
    }
  } else {
    return InvalidArgument("config {} is not supported; supported: {}", kafka_key,
                           fmt::join(KafkaConfigNames(), ", "));
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> TopicConfig::KafkaConfigs() const {
  return {{"cleanup.policy", std::string(CleanupPolicyName(cleanup_policy))},
          {"delete.retention.ms", std::to_string(delete_retention_ms)},
          {"max.message.bytes", std::to_string(max_message_bytes)},
          {"min.cleanable.dirty.ratio", FormatRatio(min_cleanable_dirty_ratio)},
          {"min.compaction.lag.ms", std::to_string(min_compaction_lag_ms)},
          {"message.timestamp.type", "CreateTime"},
          {"retention.bytes", std::to_string(retention_bytes)},
          {"retention.ms", std::to_string(retention_ms)},
          {"segment.bytes", std::to_string(segment_bytes)}};
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
