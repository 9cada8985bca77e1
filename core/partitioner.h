// Choosing a partition for a record, exactly as Kafka's Java client does for keyed records.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/types.h"

namespace sluice {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), seed 0x9747b28c.
int32_t Murmur2(std::string_view data);

// toPositive(murmur2(key)) % partitions, as Kafka's DefaultPartitioner / BuiltInPartitioner.
PartitionId PartitionForKey(std::string_view key, int32_t partitions);

}  // namespace sluice
