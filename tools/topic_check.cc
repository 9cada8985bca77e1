#include "tools/topic_check.h"

#include "core/topic_config.h"

namespace sluice::tools {

Status CheckTopicExists(Log& log, const std::string& topic) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  Result<TopicConfig> config = log.DescribeTopic(topic);
  // A damaged topic is reported as such (with what to do), not as a missing one.
  if (!config.ok() && config.status().code() != StatusCode::kNotFound) return config.status();
  if (!config.ok()) {
    return NotFound(
        "topic '{}' does not exist in {}; create it with 'sluice topic create {} --partitions N' "
        "or see the topics with 'sluice topic list'",
        topic, log.data_dir(), topic);
  }
  return Status::Ok();
}

namespace {

Status Missing(const std::string& topic, const std::string& location) {
  return NotFound(
      "topic '{}' does not exist in {}; create it with 'sluice topic create {} --partitions N' "
      "or see the topics with 'sluice topic list'",
      topic, location, topic);
}

Status MissingPartition(const std::string& topic, int32_t partitions, int32_t partition) {
  return NotFound("topic '{}' has {} partition{}; partition {} does not exist (use 0..{})", topic,
                  partitions, partitions == 1 ? "" : "s", partition, partitions - 1);
}

}  // namespace

Result<int32_t> CheckTopicExists(client::LogClient& log, const std::string& topic,
                                 const std::string& location) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  Result<int32_t> partitions = log.PartitionCount(topic);
  // A damaged topic is reported as such (with what to do), not as a missing one.
  if (!partitions.ok() && partitions.status().code() == StatusCode::kNotFound) {
    return Missing(topic, location);
  }
  return partitions;
}

Result<int32_t> CheckPartition(client::LogClient& log, const std::string& topic, int32_t partition,
                               const std::string& location) {
  SLUICE_ASSIGN_OR_RETURN(int32_t partitions, CheckTopicExists(log, topic, location));
  if (partition < 0 || partition >= partitions) {
    return MissingPartition(topic, partitions, partition);
  }
  return partitions;
}

Result<int32_t> CheckPartition(Log& log, const std::string& topic, int32_t partition) {
  SLUICE_RETURN_IF_ERROR(CheckTopicExists(log, topic));
  SLUICE_ASSIGN_OR_RETURN(TopicConfig config, log.DescribeTopic(topic));
  if (partition < 0 || partition >= config.partitions) {
    return NotFound("topic '{}' has {} partition{}; partition {} does not exist (use 0..{})", topic,
                    config.partitions, config.partitions == 1 ? "" : "s", partition,
                    config.partitions - 1);
  }
  return config.partitions;
}

}  // namespace sluice::tools
