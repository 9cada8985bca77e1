// Flusher: fsyncs log partitions on a background thread. An exactly-once task appends its
// committed outputs without waiting for the fsync (their outbox entries keep them safe until
// then), asks the flusher to sync those partitions, and goes on processing; at
// its next commit it deletes the outbox entries only once the partition's synced offset covers
// them (flushing itself if the flusher has not got there yet). Without this, every commit's
// output fsync blocked the task thread (bench/README.md has the measurement).
//
// Errors are not reported here: a failed fsync latches the partition failed, and the task's own
// Flush at its next commit returns that error.
//
// Thread safety: Request may be called from any thread. Stop (or the destructor) drains what
// was requested and joins the thread; the partitions must outlive it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/partition.h"

namespace sluice {

class Flusher {
 public:
  Flusher();
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  // Schedules a Flush of `p` (requests for a partition already waiting are merged).
  void Request(Partition* p);
  // Flushes what is waiting and stops the thread. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Partition*> waiting_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice
