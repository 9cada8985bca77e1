// Per-topic settings, stored with the topic and fixed at creation (retention may change).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice {

// Kafka's cleanup.policy: delete old segments (retention), compact (keep the latest record per
// key, core/README.md "Compaction"), or both.
enum class CleanupPolicy { kDelete, kCompact, kCompactDelete };
// "delete", "compact", "compact,delete".
std::string_view CleanupPolicyName(CleanupPolicy p);

struct TopicConfig {
  // Number of partitions. Must be 1..kMaxPartitions.
  int32_t partitions = 1;
  // Whole segments whose newest record is older than this are deleted. -1: keep forever.
  int64_t retention_ms = -1;
  // Per partition: oldest segments are deleted while the partition is larger. -1: no limit.
  int64_t retention_bytes = -1;
  // The active segment rolls once it reaches this many bytes. Default 64 MiB.
  int64_t segment_bytes = 64ll << 20;
  // Largest record batch accepted (as Kafka's max.message.bytes). Default 1 MiB + 12 bytes.
  int32_t max_message_bytes = 1048588;
  // Compaction (Kafka's topic configs of the same names; defaults are Kafka's).
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;
  // A tombstone (null value) stays readable this long after the newest record of its segment
  // before the cleaner may drop it. Default 1 day.
  int64_t delete_retention_ms = 86400000;
  // The background cleaner cleans a partition once this share of its cleanable bytes has not
  // been cleaned yet. 0..1, default 0.5.
  double min_cleanable_dirty_ratio = 0.5;
  // A segment whose newest record is younger than this is not cleaned yet. Default 0.
  int64_t min_compaction_lag_ms = 0;

  bool compacted() const { return cleanup_policy != CleanupPolicy::kDelete; }
  // Whether retention (retention.ms, retention.bytes) deletes old segments.
  bool deletes() const { return cleanup_policy != CleanupPolicy::kCompact; }

  // Encodes as "key=value" lines; Parse reverses it and rejects unknown or bad values.
  std::string Serialize() const;
  static Result<TopicConfig> Parse(std::string_view text);
  // Checks ranges; the message names the bad field and its allowed range.
  Status Validate() const;

  // The topic configs by Kafka's names ("retention.ms", "cleanup.policy", ...), the one table
  // the CLI (--config), CreateTopics and the admin APIs use. Set parses and applies one value
  // (kInvalidArgument naming the key and what it takes; call Validate for the ranges);
  // KafkaConfigs lists every key with its current value. Partitions are not a config.
  Status Set(std::string_view kafka_key, std::string_view value);
  std::vector<std::pair<std::string, std::string>> KafkaConfigs() const;
  static const std::vector<std::string_view>& KafkaConfigNames();
};

inline constexpr int32_t kMaxPartitions = 10000;
inline constexpr size_t kMaxTopicNameLength = 249;

// Kafka's rules: 1..249 characters from [a-zA-Z0-9._-], and not "." or "..".
Status ValidateTopicName(std::string_view name);

}  // namespace sluice
