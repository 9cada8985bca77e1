// GroupCoordinator: consumer group membership inside one process (the embedded log).
//
// Members of a group subscribe to topics; the coordinator assigns partitions with the range
// strategy (per topic, sorted members get contiguous ranges, as Kafka's RangeAssignor) and bumps
// the group's generation whenever membership changes. A member learns its assignment for the
// current generation by calling Sync (the Consumer does so on every Poll). Invariant: at any moment
// no partition is owned by two members — a partition is handed to its new owner only after its
// previous owner has acknowledged the new generation (released it) or has been expelled by its
// session timeout.
//
// Thread safety: thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/offset_store.h"
#include "core/status.h"

namespace sluice {

class Log;

struct GroupAssignment {
  int32_t generation = 0;
  std::vector<TopicPartition> partitions;  // owned now; may be a subset while others release
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(Log* log) : log_(log) {}

  // Adds a member; returns its member id.
  Result<std::string> Join(const std::string& group, const std::vector<std::string>& topics,
                           std::chrono::milliseconds session_timeout);
  // Heartbeat + sync: records that `member` now holds only `owned` (it released the rest) and
  // returns what it may own now. Expels members whose session timed out. kNotFound if the member
  // was expelled (it must Join again).
  Result<GroupAssignment> Sync(const std::string& group, const std::string& member,
                               const std::vector<TopicPartition>& owned);
  void Leave(const std::string& group, const std::string& member);
  // The group's current generation (0 if it has no members); changes on every rebalance.
  int32_t Generation(const std::string& group);

  struct MemberInfo {
    std::string member_id;
    std::vector<TopicPartition> owned;
  };
  // Groups with live members in this process, and their members.
  std::map<std::string, std::vector<MemberInfo>> Describe();

 private:
  struct Member {
    std::vector<std::string> topics;
    std::chrono::milliseconds session_timeout;
    std::chrono::steady_clock::time_point last_seen;
    std::vector<TopicPartition> owned;   // as last reported by the member
    std::vector<TopicPartition> target;  // what the current generation gives it
  };
  struct Group {
    int32_t generation = 0;
    int64_t next_member = 0;
    std::map<std::string, Member> members;
  };
  void Rebalance(Group& g);
  void ExpireLocked(Group& g);

  Log* log_;
  std::mutex mu_;
  std::map<std::string, Group> groups_;
};

}  // namespace sluice
