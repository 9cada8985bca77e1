// BrokerJob: one instance of a job running over a Kafka-protocol broker (`sluice serve` or a Kafka
// cluster) through client/ instead of the embedded log, exactly-once. Job::Start makes one when
// JobOptions::bootstrap_servers is set; callers use it through Job.
//
// Instances with the same application id form the consumer group <app>; the group assigns the
// partitions of <app>-tasks, and owning partition p means owning task (s, p) of every stage.
// Repartition topics live on the broker. Each task commits on its own: one synced RocksDB write
// (its store changes, its input offsets, the outbox of what it sent and its commit number n;
// several tasks' commits share the write), then one Kafka transaction of its own (transactional
// id "<app>-<s>_<p>") that publishes that outbox and commits those offsets to the group
// (SendOffsetsToTransaction). Recovery of a task, whenever it is assigned, runs InitTransactions
// (which fences any earlier owner of the task and settles its open transaction) and compares the
// group's committed offsets of the task's inputs with its state: equal means transaction n
// committed; equal to the offsets of commit n-1 means it did not, and the outbox is published
// again in a new transaction; anything else (the task's state is elsewhere) is refused. Local
// state is never wiped. runtime/README.md "Running over a broker" has the protocol and the
// argument for each crash point.
//
// Refuses topologies that need event time across the job (windows, dedup, ...) or tables beside
// streams, with a message saying to run them on the embedded log.
//
// Thread safety: Stop, Wait and metrics are thread-safe; the job runs on its own thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "operators/topology.h"
#include "runtime/commit_format.h"
#include "runtime/job.h"
#include "runtime/job_options.h"

namespace sluice {

class BrokerJob {
 public:
  // Connects, plans, opens the state, recovers and starts the driver thread. The topology is
  // held by the job.
  static Result<std::unique_ptr<BrokerJob>> Start(const JobOptions& options, Topology topology);
  ~BrokerJob();  // stops and waits

  void Stop();
  Status Wait();
  JobMetrics metrics() const;
  const std::string& plan_description() const;

  // The transactional id of task `task` of `application_id`: "<app>-<stage>_<partition>".
  static std::string TransactionalId(const std::string& application_id, TaskId task);
  // The topic whose partitions the group <app> assigns: "<app>-tasks".
  static std::string TasksTopic(const std::string& application_id);

  class Impl;

 private:
  explicit BrokerJob(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
