// Per-topic settings, stored with the topic and fixed at creation (retention may change).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

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

  // Encodes as "key=value" lines; Parse reverses it and rejects unknown or bad values.
  std::string Serialize() const;
  static Result<TopicConfig> Parse(std::string_view text);
  // Checks ranges; the message names the bad field and its allowed range.
  Status Validate() const;
};

inline constexpr int32_t kMaxPartitions = 10000;
inline constexpr size_t kMaxTopicNameLength = 249;

// Kafka's rules: 1..249 characters from [a-zA-Z0-9._-], and not "." or "..".
Status ValidateTopicName(std::string_view name);

}  // namespace sluice
