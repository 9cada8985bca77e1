// BrokerJob: one instance of a job running over a Kafka-protocol broker (`sluice serve` or a Kafka
// cluster) through client/ instead of the embedded log, exactly-once. Job::Start makes one when
// JobOptions::bootstrap_servers is set; callers use it through Job.
//
// The instance assigns itself every partition of the job's input topics and reads them with a
// read_committed LogConsumer; the stages of the topology pass repartitioned records in memory (as
// with Exchange::kLocal); every commit is ONE RocksDB write (all tasks' store changes, the input
// offsets, the outbox of output records and the transaction sequence n), then ONE Kafka
// transaction (transactional id "<app>-0") that publishes that outbox and commits those offsets
// to the group <app> (SendOffsetsToTransaction). Recovery runs InitTransactions (which fences a
// previous incarnation and settles its open transaction) and compares the group's committed
// offsets with the state's: equal means transaction n committed; equal to the offsets of commit
// n-1 means it did not, and the outbox is published again in a new transaction; anything else is
// refused. Local state is never wiped. runtime/README.md "Running over a broker" has the protocol
// and the argument for each crash point.
//
// This slice refuses topologies that need event time across the job (windows, dedup, ...) or
// tables beside streams, with a message saying to run them on the embedded log.
//
// Thread safety: Stop, Wait and metrics are thread-safe; the job runs on its own thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "operators/topology.h"
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

  // The transactional id of instance 0 of `application_id`.
  static std::string TransactionalId(const std::string& application_id);

  class Impl;

 private:
  explicit BrokerJob(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
