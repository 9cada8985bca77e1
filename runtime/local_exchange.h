// LocalExchange: the in-memory channel between stages of a job with Exchange::kLocal. A task
// that writes a local (repartition) topic finishes its record batch for a target partition and
// pushes it here; the next stage's task of that partition takes the queued batches and runs
// them through its operators. Batches are in the RecordBatch v2 format (no producer id, offsets
// from 0), so the reading side decodes them, watermark headers included, as it would a log read.
//
// The job runs its stages in order within a round and commits only at the end of a round, when
// every queue has been drained, so a commit never has records in flight between stages.
// Thread-safe: the tasks of one stage push concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/planner.h"

namespace sluice {

class LocalExchange {
 public:
  explicit LocalExchange(const Plan& plan) {
    queues_.resize(plan.topics.size());
    for (size_t t = 0; t < plan.topics.size(); ++t) {
      if (plan.topics[t].local) queues_[t] = std::vector<Queue>(plan.topics[t].partitions);
    }
  }

  void Push(int topic, int32_t partition, std::string batch) {
    Queue& q = queues_[topic][partition];
    bytes_.fetch_add(batch.size(), std::memory_order_relaxed);
    std::lock_guard<std::mutex> l(q.mu);
    q.batches.push_back(std::move(batch));
    q.size.store(q.batches.size(), std::memory_order_release);
  }

  // Appends every queued batch of (topic, partition) to `out`, oldest first, and empties the
  // queue.
  void TakeAll(int topic, int32_t partition, std::vector<std::string>* out) {
    Queue& q = queues_[topic][partition];
    if (q.size.load(std::memory_order_acquire) == 0) return;
    std::lock_guard<std::mutex> l(q.mu);
    for (std::string& b : q.batches) {
      bytes_.fetch_sub(b.size(), std::memory_order_relaxed);
      out->push_back(std::move(b));
    }
    q.batches.clear();
    q.size.store(0, std::memory_order_release);
  }

  bool Empty(int topic, int32_t partition) const {
    return queues_[topic][partition].size.load(std::memory_order_acquire) == 0;
  }

  // Bytes queued over all topics (the job stops feeding the first stage above a bound).
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct Queue {
    std::mutex mu;
    std::vector<std::string> batches;
    std::atomic<size_t> size{0};
  };
  std::vector<std::vector<Queue>> queues_;  // [topic][partition]; empty for non-local topics
  std::atomic<size_t> bytes_{0};
};

}  // namespace sluice
