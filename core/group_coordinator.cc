#include "core/group_coordinator.h"

#include <algorithm>

#include "core/log.h"

namespace sluice {

Result<std::string> GroupCoordinator::Join(const std::string& group,
                                           const std::vector<std::string>& topics,
                                           std::chrono::milliseconds session_timeout) {
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
  if (topics.empty()) return InvalidArgument("subscribe to at least one topic");
  for (const std::string& t : topics) {
    SLUICE_RETURN_IF_ERROR(log_->DescribeTopic(t).status());
  }
  std::lock_guard lock(mu_);
  Group& g = groups_[group];
  // Zero-padded so that sorting member ids sorts by join order (RangeAssignor sorts by id).
  std::string id = fmt::format("{}-{:08d}", group, g.next_member++);
  Member m;
  m.topics = topics;
  m.session_timeout = session_timeout;
  m.last_seen = std::chrono::steady_clock::now();
  g.members.emplace(id, std::move(m));
  ExpireLocked(g);
  Rebalance(g);
  return id;
}

void GroupCoordinator::ExpireLocked(Group& g) {
  auto now = std::chrono::steady_clock::now();
  bool changed = false;
  for (auto it = g.members.begin(); it != g.members.end();) {
    if (now - it->second.last_seen > it->second.session_timeout) {
      it = g.members.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed) Rebalance(g);
}

void GroupCoordinator::Rebalance(Group& g) {
  ++g.generation;
  for (auto& [id, m] : g.members) m.target.clear();
  std::map<std::string, std::vector<std::string>> by_topic;  // topic -> sorted member ids
  for (auto& [id, m] : g.members) {
    for (const std::string& t : m.topics) by_topic[t].push_back(id);
  }
  for (auto& [topic, members] : by_topic) {
    auto config = log_->DescribeTopic(topic);
    if (!config.ok()) continue;  // deleted since; nobody owns its partitions
    int32_t n = config->partitions;
    int32_t k = static_cast<int32_t>(members.size());
    // Range assignment: the first n % k members get one extra partition.
    int32_t next = 0;
    for (int32_t i = 0; i < k; ++i) {
      int32_t count = n / k + (i < n % k ? 1 : 0);
      Member& m = g.members[members[i]];
      for (int32_t j = 0; j < count; ++j) m.target.push_back({topic, PartitionId(next++)});
    }
  }
}

Result<GroupAssignment> GroupCoordinator::Sync(const std::string& group, const std::string& member,
                                               const std::vector<TopicPartition>& owned) {
  std::lock_guard lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end() || !git->second.members.contains(member)) {
    return NotFound("member '{}' is no longer in group '{}' (its session timed out); join again",
                    member, group);
  }
  Group& g = git->second;
  Member& self = g.members[member];
  self.last_seen = std::chrono::steady_clock::now();
  self.owned = owned;
  ExpireLocked(g);
  if (!g.members.contains(member)) {
    return NotFound("member '{}' is no longer in group '{}'; join again", member, group);
  }
  Member& me = g.members[member];
  // A partition of our target is granted only once no other member still holds it, so two
  // members never own one partition at the same time.
  GroupAssignment out;
  out.generation = g.generation;
  for (const TopicPartition& tp : me.target) {
    bool held_elsewhere = false;
    for (const auto& [id, m] : g.members) {
      if (id != member && std::find(m.owned.begin(), m.owned.end(), tp) != m.owned.end()) {
        held_elsewhere = true;
        break;
      }
    }
    if (!held_elsewhere) out.partitions.push_back(tp);
  }
  // The member adopts exactly this set when the call returns, releasing everything else.
  me.owned = out.partitions;
  return out;
}

void GroupCoordinator::Leave(const std::string& group, const std::string& member) {
  std::lock_guard lock(mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return;
  if (git->second.members.erase(member) > 0) Rebalance(git->second);
  if (git->second.members.empty()) groups_.erase(git);
}

int32_t GroupCoordinator::Generation(const std::string& group) {
  std::lock_guard lock(mu_);
  auto git = groups_.find(group);
  return git == groups_.end() ? 0 : git->second.generation;
}

std::map<std::string, std::vector<GroupCoordinator::MemberInfo>> GroupCoordinator::Describe() {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<MemberInfo>> out;
  for (auto& [name, g] : groups_) {
    for (auto& [id, m] : g.members) out[name].push_back({id, m.owned});
  }
  return out;
}

}  // namespace sluice
