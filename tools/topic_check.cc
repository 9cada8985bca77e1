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
