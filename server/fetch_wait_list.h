// FetchWaitList: long-polling Fetch requests parked until data arrives or max_wait expires.
//
// A Fetch that finds fewer than min_bytes is parked here with its deadline and the high
// watermarks it saw. The produce path calls Notify(topic, partition) after every append (an
// immediate wake); Tick expires deadlines and also re-checks every parked request's
// `still_waiting`, which catches appends that did not come through the Kafka produce path (a
// pipeline job writing to the same Log in this process). Either way the parked request is
// removed from the list (exactly once) and its `retry` callback runs, which rebuilds the
// response — so no thread ever blocks waiting for data. Retries run on the executor given to
// the constructor.
//
// Thread safety: thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice::kafka {

class FetchWaitList {
 public:
  using Clock = std::chrono::steady_clock;
  using Executor = std::function<void(std::function<void()>)>;

  explicit FetchWaitList(Executor executor) : executor_(std::move(executor)) {}

  struct Watched {
    std::string topic;
    int32_t partition = 0;
  };
  // Parks a request. `retry(expired)` runs exactly once: after a Notify on one of `watched` or a
  // Tick that finds still_waiting() false, or with expired=true at `deadline`, or at Shutdown.
  // still_waiting() is also checked right after parking (under no lock) to close the race with
  // an append that landed before the park.
  void Park(std::vector<Watched> watched, Clock::time_point deadline,
            std::function<void(bool expired)> retry, std::function<bool()> still_waiting);

  // Wakes every request watching (topic, partition).
  void Notify(const std::string& topic, int32_t partition);
  // Expires requests whose deadline is at or before `now`; wakes those with new data.
  void Tick(Clock::time_point now);
  // Expires everything (server stop); later Parks retry immediately.
  void Shutdown();

  size_t size() const;

 private:
  struct Waiter {
    std::vector<Watched> watched;
    Clock::time_point deadline;
    std::function<void(bool)> retry;
    std::function<bool()> still_waiting;
  };
  using WaiterList = std::list<std::shared_ptr<Waiter>>;
  // Removes `w` if still listed; returns whether this call removed it.
  bool Take(const std::shared_ptr<Waiter>& w);
  void Run(std::vector<std::shared_ptr<Waiter>> ready, bool expired);

  Executor executor_;
  mutable std::mutex mu_;
  WaiterList waiters_;
  bool shutdown_ = false;
};

}  // namespace sluice::kafka
