// Job: runs a Topology over the log with exactly-once (default) or at-least-once results.
//
//   JobOptions opts{.application_id = "wc", .data_dir = "/data", .state_dir = "/state"};
//   SLUICE_ASSIGN_OR_RETURN(auto job, Job::Start(opts, std::move(topology)));
//   ...
//   job->Stop();                 // or SIGINT/SIGTERM after Job::StopOnSignals()
//   Status s = job->Wait();      // the final commit has happened when Wait returns
//
// Start plans the tasks (stage x partition; see planner.h), creates the repartition topics,
// opens the job's RocksDB (<state_dir>/<application_id>, one column family per store), recovers
// every task (see stream_task.h) and starts a driver thread. The driver runs rounds on a
// RoundScheduler (round_scheduler.h): every task runs once per round, in parallel on a TBB
// task_arena of options.threads, each task serial; a task with work runs batches of at most
// options.batch_records records for a short time slice. A round in which no task had work ends
// in a wait for an append to one of the tasks' input partitions (or a timeout for the time
// rules) instead of spinning. On stop every task commits a last time.
//
// With JobOptions::bootstrap_servers set, the job runs as one instance over a Kafka-protocol
// broker instead (runtime/broker_job.h; same interface).
//
// Errors: the first task error stops the job; Wait returns it. An exception thrown by user code
// becomes kAborted naming the operator. Thread safety: Stop, Wait and metrics are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "core/status.h"
#include "operators/topology.h"
#include "runtime/job_options.h"

namespace sluice {

class BrokerJob;

struct JobMetrics {
  int64_t records_in = 0;    // input records processed (all stages)
  int64_t records_out = 0;   // records published to topics (all stages, repartitions included)
  int64_t lag = 0;           // records of external inputs not yet processed
  int64_t late_records = 0;  // records dropped as late by windows and joins (all tasks)
  int tasks = 0;
  bool running = false;
  int64_t idle_waits = 0;  // rounds without work after which the job waited for input
  // Over a broker (changelogs true): changelog records applied at start to restore state that
  // was missing or older than the group's offsets, and how long that took (0 when current).
  bool changelogs = false;
  int64_t restored_records = 0;
  int64_t restore_ms = 0;
};

class Job {
 public:
  static Result<std::unique_ptr<Job>> Start(const JobOptions& options, Topology topology);
  ~Job();  // stops and waits

  // Asks the job to stop after its current round; the final commit happens before Wait returns.
  void Stop();
  // Blocks until the job has stopped (Stop, a signal, until_end reached, or an error).
  Status Wait();
  JobMetrics metrics() const;
  // The plan as text: stages, tasks, topics.
  const std::string& plan_description() const;

  // Installs SIGINT/SIGTERM handlers that make every running job stop cleanly (final commit).
  static void StopOnSignals();
  // SIGINT/SIGTERM arrived after StopOnSignals.
  static bool StopSignalled();

 private:
  class Impl;
  explicit Job(std::unique_ptr<Impl> impl);
  explicit Job(std::unique_ptr<BrokerJob> broker);
  std::unique_ptr<Impl> impl_;
  // With JobOptions::bootstrap_servers: the job runs over a broker (broker_job.h) instead.
  std::unique_ptr<BrokerJob> broker_;
};

}  // namespace sluice
