// ResetJob: rewinds a stopped job so it reprocesses its input (`sluice job reset`).
//
// The job's inputs are found in the log's group offsets of the application (which every job
// mirrors). External inputs are rewound to the log start (to_earliest) or to the first record at
// or after `time`. Without keep_state the job's RocksDB directory is deleted, its repartition
// topics are deleted, and the new positions are left in the group offsets for the next start
// (tagged kResetTag). With keep_state the task checkpoints in RocksDB are rewritten to the new
// positions (repartition inputs move to their end) with a new commit number, and mirrored.
//
// Fails with kUnavailable if the job is running (its state directory is locked), kNotFound if
// the application has no offsets, kNotFound (naming where it looked) if there is no state
// directory although the application committed with one (a wrong --state would otherwise rewind
// the offsets while the real state keeps its old positions, and the next run would process
// nothing) unless state_deleted says the state is gone on purpose, and refuses keep_state when a
// task has unpublished outputs (the job did not stop cleanly: run it once and stop it, then
// reset). Nothing is changed when it fails.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace sluice {

class Log;

struct ResetOptions {
  std::string application_id;
  // The job's state directory root (its RocksDB is <state_dir>/<application_id>).
  std::string state_dir = "./sluice-state";
  // true: to the log start; false: to `time`.
  bool to_earliest = true;
  Timestamp time{0};
  bool keep_state = false;
  // The state directory was deleted on purpose: rewind the offsets although it is missing.
  bool state_deleted = false;
};

// Returns human-readable lines describing what was done. REQUIRES: `log` is a writer.
Result<std::vector<std::string>> ResetJob(Log* log, const ResetOptions& options);

}  // namespace sluice
