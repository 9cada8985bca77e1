// Checks shared by the commands that name a topic or partition, with messages that say what to do.
#pragma once

#include <string>

#include "client/log_client.h"
#include "core/log.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::tools {

// kInvalidArgument for a bad name, kNotFound (with a hint) for a topic that does not exist.
Status CheckTopicExists(Log& log, const std::string& topic);
// Returns the topic's partition count; kNotFound if `partition` is not one of them.
Result<int32_t> CheckPartition(Log& log, const std::string& topic, int32_t partition);

// The same through a LogClient; `location` names where the log is (LogLocation) in messages.
// Returns the topic's partition count.
Result<int32_t> CheckTopicExists(client::LogClient& log, const std::string& topic,
                                 const std::string& location);
Result<int32_t> CheckPartition(client::LogClient& log, const std::string& topic, int32_t partition,
                               const std::string& location);

}  // namespace sluice::tools
