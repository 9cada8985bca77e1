#include "runtime/flusher.h"

#include <algorithm>

namespace sluice {

Flusher::Flusher() : thread_([this] { Run(); }) {}

Flusher::~Flusher() { Stop(); }

void Flusher::Request(Partition* p) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::find(waiting_.begin(), waiting_.end(), p) != waiting_.end()) return;
    waiting_.push_back(p);
  }
  cv_.notify_one();
}

void Flusher::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Flusher::Run() {
  std::vector<Partition*> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping, nothing left
      batch.swap(waiting_);
    }
    // A failure latches the partition; the task's own Flush reports it.
    for (Partition* p : batch) p->Flush().IgnoreError();
    batch.clear();
  }
}

}  // namespace sluice
