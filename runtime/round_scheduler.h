// RoundScheduler: runs a job's tasks in rounds on a tbb::task_arena of `threads` threads.
//
// A round runs every task once, phase after phase: the tasks of one phase run in parallel (one
// TBB task each, so a StreamTask is never run by two threads at once) and the next phase starts
// when all of them are done. A job with a LocalExchange has one phase per stage, so a stage
// drains what the stage before it sent in the same round; otherwise all tasks form one phase.
// There is no data-flow graph between tasks: they exchange records through the log (or the
// LocalExchange) and the round is the only synchronisation, which is all a barrier needs.
//
// While a round runs, unstarted() and running() tell a task of the current phase whether ending
// its time slice now would leave a thread idle at the phase's barrier.
//
// Thread safety: RunRound is called by one thread (the job's driver); unstarted and running may
// be read by the tasks it runs.
#pragma once

#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <vector>

#include "core/status.h"

namespace sluice {

class RoundScheduler {
 public:
  // `phases[k]`: the indexes of the tasks of phase k; every task in exactly one phase.
  RoundScheduler(int threads, std::vector<std::vector<size_t>> phases, size_t tasks);

  // Runs `run(i)` once for every task i, phase by phase. After a phase in which a run failed,
  // returns the first failure (by task index) without running the later phases.
  Status RunRound(const std::function<Status(size_t)>& run);

  // Tasks of the current phase not yet started, and those running now.
  int unstarted() const { return unstarted_.load(); }
  int running() const { return running_.load(); }
  // Tasks of the largest phase.
  size_t max_phase_size() const;

 private:
  tbb::task_arena arena_;
  std::vector<std::vector<size_t>> phases_;
  std::vector<Status> statuses_;  // by task index: its last run's result
  std::atomic<int> unstarted_{0};
  std::atomic<int> running_{0};
};

}  // namespace sluice
