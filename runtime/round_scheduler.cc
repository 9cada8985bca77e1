#include "runtime/round_scheduler.h"

#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <utility>

namespace sluice {

RoundScheduler::RoundScheduler(int threads, std::vector<std::vector<size_t>> phases, size_t tasks)
    : arena_(threads), phases_(std::move(phases)), statuses_(tasks) {}

size_t RoundScheduler::max_phase_size() const {
  size_t max = 0;
  for (const auto& p : phases_) max = std::max(max, p.size());
  return max;
}

Status RoundScheduler::RunRound(const std::function<Status(size_t)>& run) {
  for (const auto& phase : phases_) {
    unstarted_.store(static_cast<int>(phase.size()));
    arena_.execute([&] {
      tbb::task_group group;
      for (size_t i : phase) {
        group.run([&, i] {
          unstarted_.fetch_sub(1);
          running_.fetch_add(1);
          statuses_[i] = run(i);
          running_.fetch_sub(1);
        });
      }
      group.wait();
    });
    for (const Status& s : statuses_) {
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace sluice
