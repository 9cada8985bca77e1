// Consumer groups in one process: partitions split between members, rebalance on join and
// leave, and no partition is ever owned by two members at once.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/consumer.h"
#include "core/group_coordinator.h"
#include "core/log.h"
#include "core/producer.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

class GroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-group-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    LogOptions o;
    o.data_dir = dir_;
    log_ = std::move(Log::Open(o)).value();
    ASSERT_TRUE(log_->CreateTopic("t", {.partitions = 6}).ok());
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<Log> log_;
};

TEST_F(GroupTest, RangeAssignmentSplitsPartitionsAndRebalancesOnJoinAndLeave) {
  auto a = std::move(Consumer::Create(log_.get(), {.group_id = "g"})).value();
  ASSERT_TRUE(a->Subscribe({"t"}).ok());
  EXPECT_EQ(a->assignment().size(), 6u);
  auto b = std::move(Consumer::Create(log_.get(), {.group_id = "g"})).value();
  ASSERT_TRUE(b->Subscribe({"t"}).ok());
  // b's partitions are still held by a until a polls and releases them.
  EXPECT_TRUE(b->assignment().empty());
  ASSERT_TRUE(a->Poll(0ms).ok());
  EXPECT_EQ(a->assignment().size(), 3u);
  ASSERT_TRUE(b->Poll(0ms).ok());
  EXPECT_EQ(b->assignment().size(), 3u);
  std::set<TopicPartition> all;
  for (auto& tp : a->assignment()) all.insert(tp);
  for (auto& tp : b->assignment()) all.insert(tp);
  EXPECT_EQ(all.size(), 6u);
  b->Close();
  ASSERT_TRUE(a->Poll(0ms).ok());
  EXPECT_EQ(a->assignment().size(), 6u);
}

TEST_F(GroupTest, AMemberThatStopsPollingIsExpelledAndItsPartitionsMove) {
  auto a =
      std::move(Consumer::Create(log_.get(), {.group_id = "g", .session_timeout = 100ms})).value();
  auto b =
      std::move(Consumer::Create(log_.get(), {.group_id = "g", .session_timeout = 100ms})).value();
  ASSERT_TRUE(a->Subscribe({"t"}).ok());
  ASSERT_TRUE(b->Subscribe({"t"}).ok());
  ASSERT_TRUE(a->Poll(0ms).ok());
  ASSERT_TRUE(b->Poll(0ms).ok());
  EXPECT_EQ(b->assignment().size(), 3u);
  // b goes silent; a keeps polling and eventually owns everything.
  for (int i = 0; i < 400 && a->assignment().size() < 6; ++i) ASSERT_TRUE(a->Poll(5ms).ok());
  EXPECT_EQ(a->assignment().size(), 6u);
  // b comes back, rejoins, and the group splits again without overlap.
  ASSERT_TRUE(b->Poll(0ms).ok());
  ASSERT_TRUE(a->Poll(0ms).ok());
  ASSERT_TRUE(b->Poll(0ms).ok());
  EXPECT_EQ(a->assignment().size() + b->assignment().size(), 6u);
}

// Members join and leave while all of them poll from threads; after every poll each member
// records what it owns, and a checker verifies no partition ever has two owners.
TEST_F(GroupTest, NoPartitionIsEverOwnedTwiceWhileMembersComeAndGo) {
  std::mutex mu;
  std::map<TopicPartition, int> owner;  // partition -> member index
  std::atomic<bool> violation{false};
  auto produce = std::move(Producer::Create(log_.get(), {.linger = 0ms})).value();
  for (int i = 0; i < 600; ++i) {
    Record r;
    r.value = std::to_string(i);
    ASSERT_TRUE(produce->Send("t", r).ok());
  }
  std::atomic<int> consumed{0};
  auto member = [&](int id, std::chrono::milliseconds life) {
    auto c =
        std::move(Consumer::Create(log_.get(), {.group_id = "g", .max_poll_records = 7})).value();
    ASSERT_TRUE(c->Subscribe({"t"}).ok());
    auto end = std::chrono::steady_clock::now() + life;
    std::set<TopicPartition> mine;
    while (std::chrono::steady_clock::now() < end) {
      {
        // Release, in the shared map, what we no longer own, before Poll may hand it on.
        std::lock_guard lock(mu);
        for (auto& tp : mine) owner.erase(tp);
        mine.clear();
      }
      auto recs = c->Poll(2ms);
      ASSERT_TRUE(recs.ok()) << recs.status();
      consumed += static_cast<int>(recs->size());
      std::lock_guard lock(mu);
      for (auto& tp : c->assignment()) {
        auto [it, inserted] = owner.emplace(tp, id);
        if (!inserted && it->second != id) violation = true;
        mine.insert(tp);
      }
    }
    std::lock_guard lock(mu);
    for (auto& tp : mine) owner.erase(tp);
    c->Close();
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back(member, i, std::chrono::milliseconds(100 + 60 * i));
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(violation.load());
  EXPECT_GT(consumed.load(), 0);
}

}  // namespace
}  // namespace sluice
