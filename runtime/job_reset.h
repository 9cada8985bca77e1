// ResetJob: rewinds a stopped job so it reprocesses its input (`sluice job reset`).
//
// The job's inputs are found in the log's group offsets of the application (which every job
// mirrors). External inputs are rewound to the log start (to_earliest) or to the first record at
// or after `time`. Without keep_state the job's RocksDB directory is deleted, its repartition
// topics are deleted, and the new positions are left in the group offsets for the next start
// (tagged kResetTag). With keep_state the task checkpoints in RocksDB are rewritten to the new
// positions (repartition inputs move to their end) with a new commit number, and mirrored.
//
// A reset to a time (`to_earliest` false) must not make the next run emit a window that the run
// before the reset emitted, with other contents. Every start of a job records its event-time
// operators in its state (meta key kTimeRulesKey, RecordTimeRules below); the reset reads them and
// moves T back to P, the start of the earliest window of any window aggregate that contains T,
// and rewinds every input to R = P - the largest grace - the largest out-of-orderness (the first
// record at or after R): every window starting at or after P is then refilled completely. P goes
// with the reset's group offsets ("sluice-reset from=<P>") into the fresh state (kReprocessFromKey)
// and becomes ProcessorContext::reprocess_from of every task: windows starting before P were
// emitted before the reset and are not refilled. It refuses (kInvalidArgument, saying what it would
// take) when that cannot be made consistent: session windows, windowed joins and dedup (their
// results depend on records arbitrarily far before T), keep_state with windows (the kept windows
// already hold the records after T), and a job whose windows are unknown (no state, or state
// written before the rules were recorded).
//
// Fails with kUnavailable if the job is running (its state directory is locked), kNotFound if
// the application has no offsets, kNotFound (naming where it looked) if there is no state
// directory although the application committed with one (a wrong --state would otherwise rewind
// the offsets while the real state keeps its old positions, and the next run would process
// nothing) unless state_deleted says the state is gone on purpose, and refuses keep_state when a
// task has unpublished outputs (the job did not stop cleanly: run it once and stop it, then
// reset). Nothing is changed when it fails.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace sluice {

class Log;
class StateDb;
class Topology;
namespace client {
class LogClient;
}

// Meta keys (runtime/README.md, "Commit record format").
inline constexpr std::string_view kTimeRulesKey = "time-rules";
inline constexpr std::string_view kReprocessFromKey = "reprocess-from";

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

// The same reset for a job run over a broker (`sluice job reset -b`, BrokerJob), as Kafka's
// kafka-streams-application-reset: the group `application_id` at the broker holds the job's input
// offsets. Refuses (kUnavailable naming them) while the group has active members or the state
// directory is locked by an instance on this machine. Rewinds the inputs with the rules above
// (to_earliest, or a time with the same window rules and printout), deletes the state directory,
// deletes the job's internal topics on the broker (<app>-*-repartition and <app>-*-changelog) so
// the next start recreates them, and commits the new offsets with the reset mark
// (kResetTag[ from=<P>]) as their metadata: BrokerJob's start accepts "no state + offsets of a
// reset" (it refuses "no state + offsets of a run", the state was lost) and RecordStartOfRun
// carries P into the fresh state. The "no state" rule holds: offsets without the mark were
// committed by a run, which had a state directory; kNotFound naming where it looked unless
// state_deleted. keep_state is refused (kInvalidArgument): the next start matches the state's
// last commit against the group's offsets, which a reset under kept state would break. A state
// directory written by an embedded job is refused. Checks come before changes; the state and
// internal topics are deleted before the offsets are rewound, and an error after the state is
// gone says to run the reset again with state_deleted.
Result<std::vector<std::string>> ResetJobOverBroker(client::LogClient* client,
                                                    const ResetOptions& options);

// Whether a committed offset's metadata is a reset's mark ("sluice-reset[ from=<P>]").
bool IsResetMark(std::string_view metadata);

// At every start of a job, after its state is opened: records the topology's event-time
// operators (kTimeRulesKey), and on state without checkpoints the reprocess-from bound a reset to
// a time left in the group offsets of `application_id` (kReprocessFromKey).
Status RecordTimeRules(StateDb* db, const Topology& topology, Log* log,
                       const std::string& application_id);
// The same for any job: `fresh` says the state has no commit yet, `group_metadata` holds the
// metadata strings of the application's committed offsets (a broker job reads them with
// LogClient::DescribeGroup). kCorruption for a malformed reset mark.
Status RecordStartOfRun(StateDb* db, const Topology& topology, bool fresh,
                        const std::vector<std::string>& group_metadata);
// The reprocess-from bound of the state (kMinWatermark if none).
Result<Timestamp> ReprocessFrom(const StateDb& db);

}  // namespace sluice
