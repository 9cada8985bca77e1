#include "client/log_client.h"

#include "client/internal/embedded_log_client.h"
#include "client/internal/kafka_log_client.h"

namespace sluice::client {

Result<std::unique_ptr<LogClient>> OpenLogClient(const ClientOptions& options) {
  int set = (options.log != nullptr || !options.data_dir.empty() ? 1 : 0) +
            (options.bootstrap_servers.empty() ? 0 : 1);
  if (set == 0) {
    return InvalidArgument(
        "no log given: set a data directory (--data DIR) or Kafka bootstrap servers "
        "(--bootstrap-server HOST:PORT)");
  }
  if (set == 2) {
    return InvalidArgument(
        "both a data directory and bootstrap servers '{}' given; choose one (the embedded log or "
        "a broker)",
        options.bootstrap_servers);
  }
  if (!options.bootstrap_servers.empty()) return internal::OpenKafkaLogClient(options);
  return internal::OpenEmbeddedLogClient(options);
}

}  // namespace sluice::client
