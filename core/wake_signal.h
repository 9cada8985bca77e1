// WakeSignal: a counter that a thread blocks on until another thread moves it. A Partition
// notifies the signals registered with it (Partition::AddListener) after every append, so one
// thread can wait for new data in any of many partitions (a job's driver waits on all its tasks'
// inputs at once).
//
// Use: read count(), look for work, and if there is none, WaitFor(that count, deadline): a
// Notify between the two makes WaitFor return at once, so no wake-up is lost.
//
// Thread safety: thread-safe. Notify is cheap when nobody waits (one atomic increment and load).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace sluice {

class WakeSignal {
 public:
  uint64_t count() const { return count_.load(std::memory_order_seq_cst); }

  // Moves the count and wakes every waiter.
  void Notify() {
    count_.fetch_add(1, std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> l(mu_);
      cv_.notify_all();
    }
  }

  // Blocks until count() != seen or `deadline` passes; returns whether the count moved.
  bool WaitFor(uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool moved;
    {
      std::unique_lock<std::mutex> l(mu_);
      moved = cv_.wait_until(l, deadline, [&] { return count() != seen; });
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return moved;
  }

 private:
  std::atomic<uint64_t> count_{0};
  std::atomic<int> waiters_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sluice
