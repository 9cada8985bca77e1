// The embedded implementation of LogClient: core's Log, Producer, Consumer, GroupCoordinator and
// OffsetStore in this process. See client/README.md.
#pragma once

#include <memory>

#include "client/log_client.h"

namespace sluice::client::internal {

// Opens options.data_dir as the writer, or wraps options.log (not owned).
Result<std::unique_ptr<LogClient>> OpenEmbeddedLogClient(const ClientOptions& options);

}  // namespace sluice::client::internal
