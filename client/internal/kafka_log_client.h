// The Kafka implementation of LogClient: the Kafka protocol through librdkafka's C API, to
// `sluice serve` or any Kafka cluster. See client/README.md.
#pragma once

#include <memory>

#include "client/log_client.h"

namespace sluice::client::internal {

// Connects to options.bootstrap_servers; kUnavailable naming the address if no broker answers
// within options.request_timeout.
Result<std::unique_ptr<LogClient>> OpenKafkaLogClient(const ClientOptions& options);

}  // namespace sluice::client::internal
