// "Whoever owns a data directory serves it": the process holding a data directory's lock and
// serving it over the Kafka protocol (`sluice serve`) records its address in <data>/OWNER, and
// the other `sluice` log commands given that directory go through it (see tools/README.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/status.h"
#include "server/kafka_server.h"
#include "server/server_options.h"

namespace sluice::tools {

// Records that this process (which holds the data directory's lock) serves it at `address`
// ("HOST:PORT") and runs the jobs of applications `apps` (none: only serves): <data_dir>/OWNER,
// replaced atomically, with a checksum.
Status WriteOwner(const std::string& data_dir, const std::string& address,
                  const std::vector<std::string>& apps = {});
// Removes <data_dir>/OWNER (at a clean stop). Absent is fine.
void RemoveOwner(const std::string& data_dir);

// Starts the Kafka server for `log` (whose lock this process holds) and records its address in
// <data_dir>/OWNER (a wildcard listen host is recorded as loopback). On failure nothing is left
// running or recorded. StopServing removes OWNER, then stops the server.
// `apps` as for WriteOwner.
Result<std::unique_ptr<kafka::KafkaServer>> ServeDirectory(
    Log* log, const kafka::ServerOptions& options, const std::string& data_dir,
    const std::vector<std::string>& apps = {});
void StopServing(kafka::KafkaServer* server, const std::string& data_dir);

// The address of the process that serves `data_dir` now, or "" when nobody does: no OWNER
// file, a damaged one, or a stale one (its owner is gone: the directory's lock is free).
// kUnavailable when the lock holder recorded an address but does not answer there within
// `timeout`, naming it and saying what to do.
Result<std::string> FindOwner(const std::string& data_dir, std::chrono::milliseconds timeout);

// What <data_dir>/OWNER says, without asking the owner: empty when nobody serves the directory
// (no file, a damaged one, or its owner is gone).
struct OwnerInfo {
  std::string address;            // "" when nobody serves it
  std::string pid;                // the owner's process id, for messages
  std::vector<std::string> apps;  // the applications whose jobs run in the owner's process
};
Result<OwnerInfo> OwnerOf(const std::string& data_dir);

}  // namespace sluice::tools
