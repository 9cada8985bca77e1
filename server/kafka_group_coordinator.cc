#include "server/kafka_group_coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "server/protocol/error_codes.h"

namespace sluice::kafka {

KafkaGroupCoordinator::KafkaGroupCoordinator(GroupCoordinatorOptions options)
    : options_(options), rng_(std::random_device{}()) {}

const char* KafkaGroupCoordinator::StateName(State s) {
  switch (s) {
    case State::kEmpty:
      return "Empty";
    case State::kPreparingRebalance:
      return "PreparingRebalance";
    case State::kCompletingRebalance:
      return "CompletingRebalance";
    case State::kStable:
      return "Stable";
  }
  return "Dead";
}

void KafkaGroupCoordinator::RunAll(Pending& p) {
  for (auto& f : p) f();
  p.clear();
}

std::string KafkaGroupCoordinator::NewMemberId(const std::string& client_id) {
  uint64_t a = rng_(), b = rng_();
  return fmt::format("{}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                     client_id.empty() ? "member" : client_id, a >> 32, (a >> 16) & 0xffff,
                     a & 0xffff, b >> 48, b & 0xffffffffffffULL);
}

bool KafkaGroupCoordinator::SupportsCommonProtocol(const Group& g,
                                                   const JoinGroupRequest& req) const {
  // Candidate names = those every other member supports; the joiner must share one.
  std::set<std::string> common;
  bool first = true;
  for (const auto& [id, m] : g.members) {
    if (id == req.member_id) continue;
    std::set<std::string> names;
    for (const auto& p : m.protocols) names.insert(p.name);
    if (first) {
      common = std::move(names);
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), names.begin(), names.end(),
                            std::inserter(both, both.begin()));
      common = std::move(both);
    }
  }
  if (first) return true;
  return std::any_of(req.protocols.begin(), req.protocols.end(),
                     [&](const auto& p) { return common.count(p.name) > 0; });
}

std::string KafkaGroupCoordinator::SelectProtocol(const Group& g) const {
  std::set<std::string> common;
  bool first = true;
  for (const auto& [id, m] : g.members) {
    std::set<std::string> names;
    for (const auto& p : m.protocols) names.insert(p.name);
    if (first) {
      common = std::move(names);
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), names.begin(), names.end(),
                            std::inserter(both, both.begin()));
      common = std::move(both);
    }
  }
  // Each member votes for its most preferred common protocol; most votes wins (ties: name order).
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members) {
    for (const auto& p : m.protocols) {
      if (common.count(p.name)) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best;
  int best_votes = -1;
  for (const auto& [name, n] : votes) {
    if (n > best_votes) {
      best = name;
      best_votes = n;
    }
  }
  return best;
}

void KafkaGroupCoordinator::Join(const JoinGroupRequest& req, const std::string& client_id,
                                 const std::string& client_host, JoinCallback done) {
  auto fail = [&](int16_t code) {
    JoinGroupResponse r;
    r.error_code = code;
    r.member_id = req.member_id;
    done(std::move(r));
  };
  if (req.group_id.empty()) return fail(kInvalidGroupId);
  if (req.session_timeout_ms < options_.min_session_timeout_ms ||
      req.session_timeout_ms > options_.max_session_timeout_ms) {
    return fail(kInvalidSessionTimeout);
  }
  if (req.protocol_type.empty() || req.protocols.empty()) return fail(kInconsistentGroupProtocol);

  Pending pending;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto now = Clock::now();
    Group& g = groups_[req.group_id];
    std::string member_id = req.member_id;
    if (req.group_instance_id) {
      // Static membership (KIP-345): the instance id names the member across restarts.
      std::string known = StaticMemberId(g, *req.group_instance_id);
      if (!member_id.empty() && !known.empty() && known != member_id) {
        return fail(kFencedInstanceId);
      }
      if (member_id.empty() && !known.empty()) {
        // A new process of a known instance: it takes the member's place under a new member
        // id, and the old id is fenced. A stable group whose protocol still fits keeps its
        // generation and assignments: no rebalance, the member syncs its old assignment.
        member_id = NewMemberId(client_id);
        bool old_leader = g.leader == known;
        ReplaceMemberId(g, known, member_id, pending);
        Member& m = g.members[member_id];
        bool fits = std::any_of(req.protocols.begin(), req.protocols.end(),
                                [&](const auto& p) { return p.name == g.protocol_name; });
        if (g.state == State::kStable && fits && req.protocol_type == g.protocol_type) {
          m.client_id = client_id;
          m.client_host = client_host;
          m.session_timeout_ms = req.session_timeout_ms;
          m.rebalance_timeout_ms =
              req.rebalance_timeout_ms > 0 ? req.rebalance_timeout_ms : req.session_timeout_ms;
          m.protocols = req.protocols;
          m.last_heartbeat = now;
          JoinGroupResponse r;
          r.generation_id = g.generation;
          r.protocol_name = g.protocol_name;
          // As Kafka: a rejoining leader is told the old leader id, so it does not assign (a
          // stable group would not hand out a new assignment) and syncs like a follower.
          r.leader = old_leader ? known : g.leader;
          r.member_id = member_id;
          lock.unlock();
          RunAll(pending);
          done(std::move(r));
          return;
        }
      }
    }
    if (!member_id.empty() && !g.members.count(member_id)) {
      if (g.members.empty() && g.state == State::kEmpty && g.protocol_type.empty()) {
        groups_.erase(req.group_id);
      }
      return fail(kUnknownMemberId);
    }
    if (!g.members.empty() &&
        (req.protocol_type != g.protocol_type || !SupportsCommonProtocol(g, req))) {
      return fail(kInconsistentGroupProtocol);
    }
    std::string id = member_id.empty() ? NewMemberId(client_id) : member_id;
    bool new_group = g.members.empty();
    Member& m = g.members[id];
    if (m.id.empty()) {
      m.id = id;
      m.join_seq = next_join_seq_++;
    }
    m.client_id = client_id;
    m.client_host = client_host;
    m.group_instance_id = req.group_instance_id;
    m.session_timeout_ms = req.session_timeout_ms;
    m.rebalance_timeout_ms =
        req.rebalance_timeout_ms > 0 ? req.rebalance_timeout_ms : req.session_timeout_ms;
    m.protocols = req.protocols;
    m.last_heartbeat = now;
    if (m.pending_join) {
      // A member re-sent JoinGroup while one was held: the newer request wins.
      auto old = std::move(m.pending_join);
      pending.push_back([old = std::move(old), id] {
        JoinGroupResponse r;
        r.error_code = kRebalanceInProgress;
        r.member_id = id;
        old(std::move(r));
      });
    }
    m.pending_join = std::move(done);
    g.protocol_type = req.protocol_type;
    if (new_group)
      g.initial_delay_until = now + std::chrono::milliseconds(options_.initial_rebalance_delay_ms);
    if (g.state != State::kPreparingRebalance) PrepareRebalance(g, now, pending);
    // A longer rebalance timeout from the joiner extends the phase.
    g.rebalance_deadline =
        std::max(g.rebalance_deadline, now + std::chrono::milliseconds(m.rebalance_timeout_ms));
    MaybeCompleteJoin(g, now, pending);
  }
  RunAll(pending);
}

std::string KafkaGroupCoordinator::StaticMemberId(const Group& g, const std::string& instance_id) {
  for (const auto& [id, m] : g.members) {
    if (m.group_instance_id == instance_id) return id;
  }
  return "";
}

int16_t KafkaGroupCoordinator::CheckStatic(const Group& g, const std::string& member_id,
                                           const std::optional<std::string>& instance_id) {
  if (!instance_id) return kNone;
  std::string known = StaticMemberId(g, *instance_id);
  if (!known.empty() && known != member_id) return kFencedInstanceId;
  return kNone;
}

void KafkaGroupCoordinator::ReplaceMemberId(Group& g, const std::string& old_id,
                                            const std::string& new_id, Pending& out) {
  auto node = g.members.extract(old_id);
  Member& m = node.mapped();
  // Requests the old process still has held are answered: it is fenced.
  if (m.pending_join) {
    out.push_back([cb = std::move(m.pending_join), old_id] {
      JoinGroupResponse r;
      r.error_code = kFencedInstanceId;
      r.member_id = old_id;
      cb(std::move(r));
    });
    m.pending_join = nullptr;
  }
  if (m.pending_sync) {
    out.push_back([cb = std::move(m.pending_sync)] {
      SyncGroupResponse r;
      r.error_code = kFencedInstanceId;
      cb(std::move(r));
    });
    m.pending_sync = nullptr;
  }
  m.id = new_id;
  node.key() = new_id;
  g.members.insert(std::move(node));
  if (g.leader == old_id) g.leader = new_id;
}

void KafkaGroupCoordinator::PrepareRebalance(Group& g, Clock::time_point now, Pending& out) {
  // Members waiting in SyncGroup learn that the generation they synced for is over.
  for (auto& [id, m] : g.members) {
    if (m.pending_sync) {
      auto cb = std::move(m.pending_sync);
      m.pending_sync = nullptr;
      out.push_back([cb = std::move(cb)] {
        SyncGroupResponse r;
        r.error_code = kRebalanceInProgress;
        cb(std::move(r));
      });
    }
  }
  int32_t timeout = 0;
  for (const auto& [id, m] : g.members) timeout = std::max(timeout, m.rebalance_timeout_ms);
  g.state = State::kPreparingRebalance;
  g.rebalance_deadline = now + std::chrono::milliseconds(timeout);
}

void KafkaGroupCoordinator::MaybeCompleteJoin(Group& g, Clock::time_point now, Pending& out) {
  if (g.state != State::kPreparingRebalance) return;
  bool all_joined = std::all_of(g.members.begin(), g.members.end(),
                                [](const auto& kv) { return bool(kv.second.pending_join); });
  bool timed_out = now >= g.rebalance_deadline;
  if (!timed_out && !(all_joined && now >= g.initial_delay_until)) return;

  // Members that did not rejoin in time leave the group.
  for (auto it = g.members.begin(); it != g.members.end();) {
    if (!it->second.pending_join) {
      it = g.members.erase(it);
    } else {
      ++it;
    }
  }
  ++g.generation;
  if (g.members.empty()) {
    g.state = State::kEmpty;
    g.leader.clear();
    g.protocol_name.clear();
    return;
  }
  g.protocol_name = SelectProtocol(g);
  if (!g.members.count(g.leader)) {
    const Member* first = nullptr;
    for (const auto& [id, m] : g.members) {
      if (!first || m.join_seq < first->join_seq) first = &m;
    }
    g.leader = first->id;
  }
  g.state = State::kCompletingRebalance;
  std::vector<JoinGroupResponse::Member> all;
  for (const auto& [id, m] : g.members) {
    std::string meta;
    for (const auto& p : m.protocols) {
      if (p.name == g.protocol_name) meta = p.metadata;
    }
    all.push_back({id, m.group_instance_id, std::move(meta)});
  }
  for (auto& [id, m] : g.members) {
    JoinGroupResponse r;
    r.generation_id = g.generation;
    r.protocol_name = g.protocol_name;
    r.leader = g.leader;
    r.member_id = id;
    if (id == g.leader) r.members = all;
    m.assignment.clear();
    m.last_heartbeat = now;
    auto cb = std::move(m.pending_join);
    m.pending_join = nullptr;
    out.push_back([cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
  }
}

void KafkaGroupCoordinator::Sync(const SyncGroupRequest& req, SyncCallback done) {
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto fail = [&](int16_t code) {
      pending.push_back([done = std::move(done), code] {
        SyncGroupResponse r;
        r.error_code = code;
        done(std::move(r));
      });
    };
    auto git = groups_.find(req.group_id);
    if (git != groups_.end() &&
        CheckStatic(git->second, req.member_id, req.group_instance_id) != kNone) {
      fail(kFencedInstanceId);
    } else if (git == groups_.end() || !git->second.members.count(req.member_id)) {
      fail(kUnknownMemberId);
    } else {
      Group& g = git->second;
      Member& m = g.members[req.member_id];
      m.last_heartbeat = Clock::now();
      if (req.generation_id != g.generation) {
        fail(kIllegalGeneration);
      } else if (g.state == State::kPreparingRebalance) {
        fail(kRebalanceInProgress);
      } else if (g.state == State::kStable) {
        pending.push_back([done = std::move(done), a = m.assignment] {
          SyncGroupResponse r;
          r.assignment = a;
          done(std::move(r));
        });
      } else {  // CompletingRebalance
        m.pending_sync = std::move(done);
        if (req.member_id == g.leader) {
          for (auto& [id, member] : g.members) member.assignment.clear();
          for (const auto& a : req.assignments) {
            auto it = g.members.find(a.member_id);
            if (it != g.members.end()) it->second.assignment = a.assignment;
          }
          g.state = State::kStable;
          for (auto& [id, member] : g.members) {
            if (!member.pending_sync) continue;
            auto cb = std::move(member.pending_sync);
            member.pending_sync = nullptr;
            pending.push_back([cb = std::move(cb), a = member.assignment] {
              SyncGroupResponse r;
              r.assignment = a;
              cb(std::move(r));
            });
          }
        }
      }
    }
  }
  RunAll(pending);
}

int16_t KafkaGroupCoordinator::Heartbeat(const HeartbeatRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  auto git = groups_.find(req.group_id);
  if (git == groups_.end()) return kUnknownMemberId;
  Group& g = git->second;
  if (CheckStatic(g, req.member_id, req.group_instance_id) != kNone) return kFencedInstanceId;
  auto mit = g.members.find(req.member_id);
  if (mit == g.members.end()) return kUnknownMemberId;
  mit->second.last_heartbeat = Clock::now();
  if (req.generation_id != g.generation) return kIllegalGeneration;
  if (g.state == State::kPreparingRebalance) return kRebalanceInProgress;
  return kNone;
}

void KafkaGroupCoordinator::RemoveMember(Group& g, const std::string& member_id, Pending& out) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member& m = it->second;
  if (m.pending_join) {
    out.push_back([cb = std::move(m.pending_join), member_id] {
      JoinGroupResponse r;
      r.error_code = kUnknownMemberId;
      r.member_id = member_id;
      cb(std::move(r));
    });
  }
  if (m.pending_sync) {
    out.push_back([cb = std::move(m.pending_sync)] {
      SyncGroupResponse r;
      r.error_code = kUnknownMemberId;
      cb(std::move(r));
    });
  }
  g.members.erase(it);
}

LeaveGroupResponse KafkaGroupCoordinator::Leave(const LeaveGroupRequest& req) {
  LeaveGroupResponse resp;
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto git = groups_.find(req.group_id);
    bool any_removed = false;
    for (const auto& lm : req.members) {
      int16_t code = kUnknownMemberId;
      std::string id = lm.member_id;
      if (git != groups_.end() && lm.group_instance_id) {
        // LeaveGroup v3+ may name members by instance id (member id empty: any member of it).
        std::string known = StaticMemberId(git->second, *lm.group_instance_id);
        if (!known.empty() && !id.empty() && id != known) {
          resp.members.push_back({lm.member_id, lm.group_instance_id, kFencedInstanceId});
          continue;
        }
        id = known;
      }
      if (git != groups_.end() && !id.empty() && git->second.members.count(id)) {
        RemoveMember(git->second, id, pending);
        code = kNone;
        any_removed = true;
      }
      resp.members.push_back({lm.member_id, lm.group_instance_id, code});
    }
    if (req.members.size() == 1) resp.error_code = resp.members[0].error_code;
    if (any_removed) {
      Group& g = git->second;
      auto now = Clock::now();
      if (g.members.empty()) {
        ++g.generation;
        g.state = State::kEmpty;
        g.leader.clear();
        g.protocol_name.clear();
      } else {
        if (g.state != State::kPreparingRebalance) PrepareRebalance(g, now, pending);
        MaybeCompleteJoin(g, now, pending);
      }
    }
  }
  RunAll(pending);
  return resp;
}

int16_t KafkaGroupCoordinator::ValidateCommit(const std::string& group_id, int32_t generation_id,
                                              const std::string& member_id,
                                              const std::optional<std::string>& instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto git = groups_.find(group_id);
  if (git != groups_.end() && CheckStatic(git->second, member_id, instance_id) != kNone) {
    return kFencedInstanceId;
  }
  bool empty = git == groups_.end() || git->second.members.empty();
  if (generation_id < 0 && member_id.empty()) return empty ? kNone : kUnknownMemberId;
  if (empty || !git->second.members.count(member_id)) return kUnknownMemberId;
  const Group& g = git->second;
  if (generation_id != g.generation) return kIllegalGeneration;
  if (g.state == State::kCompletingRebalance) return kRebalanceInProgress;
  git->second.members[member_id].last_heartbeat = Clock::now();
  return kNone;
}

int16_t KafkaGroupCoordinator::ValidateTxnCommit(const std::string& group_id, int32_t generation_id,
                                                 const std::string& member_id,
                                                 const std::optional<std::string>& instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto git = groups_.find(group_id);
  if (git == groups_.end()) return generation_id < 0 ? kNone : kIllegalGeneration;
  const Group& g = git->second;
  if (instance_id) {
    std::string known = StaticMemberId(g, *instance_id);
    if (known.empty()) return kUnknownMemberId;
    if (known != member_id) return kFencedInstanceId;
  }
  if (generation_id < 0 && member_id.empty()) return kNone;
  if (!g.members.count(member_id)) return kUnknownMemberId;
  if (generation_id >= 0 && generation_id != g.generation) return kIllegalGeneration;
  return kNone;
}

std::vector<std::pair<std::string, std::string>> KafkaGroupCoordinator::ListGroups() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, g] : groups_) out.emplace_back(id, g.protocol_type);
  return out;
}

std::optional<DescribeGroupsResponse::Group> KafkaGroupCoordinator::Describe(
    const std::string& group_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto git = groups_.find(group_id);
  if (git == groups_.end()) return std::nullopt;
  const Group& g = git->second;
  DescribeGroupsResponse::Group d;
  d.group_id = group_id;
  d.group_state = StateName(g.state);
  d.protocol_type = g.protocol_type;
  d.protocol_data = g.protocol_name;
  for (const auto& [id, m] : g.members) {
    DescribeGroupsResponse::Member dm;
    dm.member_id = id;
    dm.group_instance_id = m.group_instance_id;
    dm.client_id = m.client_id;
    dm.client_host = m.client_host;
    for (const auto& p : m.protocols) {
      if (p.name == g.protocol_name) dm.member_metadata = p.metadata;
    }
    if (g.state == State::kStable) dm.member_assignment = m.assignment;
    d.members.push_back(std::move(dm));
  }
  return d;
}

int16_t KafkaGroupCoordinator::DeleteGroup(const std::string& group_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return kGroupIdNotFound;
  if (!it->second.members.empty()) return kNonEmptyGroup;
  groups_.erase(it);
  return kNone;
}

void KafkaGroupCoordinator::Tick(Clock::time_point now) {
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [gid, g] : groups_) {
      bool expired_any = false;
      for (auto it = g.members.begin(); it != g.members.end();) {
        Member& m = it->second;
        bool expired = !m.pending_join &&
                       now - m.last_heartbeat > std::chrono::milliseconds(m.session_timeout_ms);
        if (expired) {
          std::string id = it->first;
          ++it;
          RemoveMember(g, id, pending);
          expired_any = true;
        } else {
          ++it;
        }
      }
      if (expired_any) {
        if (g.members.empty()) {
          if (g.state != State::kEmpty) ++g.generation;
          g.state = State::kEmpty;
          g.leader.clear();
          g.protocol_name.clear();
        } else if (g.state != State::kPreparingRebalance) {
          PrepareRebalance(g, now, pending);
        }
      }
      MaybeCompleteJoin(g, now, pending);
    }
  }
  RunAll(pending);
}

void KafkaGroupCoordinator::Shutdown() {
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [gid, g] : groups_) {
      std::vector<std::string> ids;
      for (const auto& [id, m] : g.members) ids.push_back(id);
      for (const auto& id : ids) RemoveMember(g, id, pending);
      g.state = State::kEmpty;
    }
  }
  RunAll(pending);
}

}  // namespace sluice::kafka
