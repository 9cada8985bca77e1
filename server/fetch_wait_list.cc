#include "server/fetch_wait_list.h"

#include <algorithm>

namespace sluice::kafka {

void FetchWaitList::Park(std::vector<Watched> watched, Clock::time_point deadline,
                         std::function<void(bool)> retry, std::function<bool()> still_waiting) {
  auto w = std::make_shared<Waiter>(
      Waiter{std::move(watched), deadline, std::move(retry), std::move(still_waiting)});
  bool parked = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!shutdown_) {
      waiters_.push_back(w);
      parked = true;
    }
  }
  if (!parked) {
    Run({w}, true);
    return;
  }
  // An append between the caller's read and the push above would have notified nobody.
  if (!w->still_waiting() && Take(w)) Run({w}, false);
}

bool FetchWaitList::Take(const std::shared_ptr<Waiter>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

void FetchWaitList::Notify(const std::string& topic, int32_t partition) {
  std::vector<std::shared_ptr<Waiter>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      bool hit = std::any_of((*it)->watched.begin(), (*it)->watched.end(), [&](const Watched& x) {
        return x.partition == partition && x.topic == topic;
      });
      if (hit) {
        ready.push_back(*it);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  Run(std::move(ready), false);
}

void FetchWaitList::Tick(Clock::time_point now) {
  std::vector<std::shared_ptr<Waiter>> expired, live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if ((*it)->deadline <= now) {
        expired.push_back(*it);
        it = waiters_.erase(it);
      } else {
        live.push_back(*it);
        ++it;
      }
    }
  }
  Run(std::move(expired), true);
  // Appends that bypassed Notify (another writer of the same Log) are found by polling.
  std::vector<std::shared_ptr<Waiter>> woken;
  for (auto& w : live) {
    if (!w->still_waiting() && Take(w)) woken.push_back(w);
  }
  Run(std::move(woken), false);
}

void FetchWaitList::Shutdown() {
  std::vector<std::shared_ptr<Waiter>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    ready.assign(waiters_.begin(), waiters_.end());
    waiters_.clear();
  }
  Run(std::move(ready), true);
}

size_t FetchWaitList::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

void FetchWaitList::Run(std::vector<std::shared_ptr<Waiter>> ready, bool expired) {
  for (auto& w : ready) {
    auto retry = std::move(w->retry);
    executor_([retry = std::move(retry), expired] { retry(expired); });
  }
}

}  // namespace sluice::kafka
