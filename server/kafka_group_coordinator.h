// KafkaGroupCoordinator: the classic Kafka consumer-group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) with client-side assignment, as Apache Kafka's GroupCoordinator.
//
// The broker never interprets assignments: it picks a protocol every member supports (by
// vote), elects a leader, hands the leader every member's metadata, and relays the leader's
// per-member assignments. States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable,
// back to PreparingRebalance on any membership change. JoinGroup and follower SyncGroup replies
// are held (callbacks stored) until the phase completes; Tick() completes phases whose rebalance
// timeout passed and expires members whose session timed out. Committed offsets are not kept
// here (they go to the core OffsetStore); ValidateCommit checks a commit's generation/member.
//
// Static membership (KIP-345, group.instance.id): a member's instance id names it across process
// restarts. A new process joining with a known instance id and no member id takes the member's
// place under a new member id; in a Stable group whose protocol still fits nothing rebalances
// (same generation, it syncs its old assignment). Requests carrying the instance id with the
// old member id (the replaced process, or a duplicate) get FENCED_INSTANCE_ID, so two
// processes never hold one instance. A static member that goes silent past its session timeout
// is removed like any other.
//
// Membership lives in memory: after a server restart clients rejoin (their heartbeats get
// UNKNOWN_MEMBER_ID) and resume from their durable committed offsets.
//
// Thread safety: thread-safe. Callbacks run without the internal lock held, on the thread that
// completed them (a request thread or the Tick thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "server/protocol/group_messages.h"

namespace sluice::kafka {

struct GroupCoordinatorOptions {
  // Accepted session timeouts (Kafka group.min/max.session.timeout.ms). Default 6 s .. 30 min.
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
  // How long a new group waits for more members before its first generation
  // (Kafka group.initial.rebalance.delay.ms is 3000). Default 300 ms.
  int32_t initial_rebalance_delay_ms = 300;
};

class KafkaGroupCoordinator {
 public:
  using Clock = std::chrono::steady_clock;
  using JoinCallback = std::function<void(JoinGroupResponse)>;
  using SyncCallback = std::function<void(SyncGroupResponse)>;

  explicit KafkaGroupCoordinator(GroupCoordinatorOptions options = {});

  // Handles JoinGroup; `done` runs once the join phase completes (or at once on error).
  void Join(const JoinGroupRequest& req, const std::string& client_id,
            const std::string& client_host, JoinCallback done);
  // Handles SyncGroup; a follower's `done` waits for the leader's assignments.
  void Sync(const SyncGroupRequest& req, SyncCallback done);
  // Returns the Heartbeat error code (0, 22, 25 or 27) and refreshes the member's session.
  int16_t Heartbeat(const HeartbeatRequest& req);
  // Removes members; v0..2 use the top-level error, v3 the per-member ones.
  LeaveGroupResponse Leave(const LeaveGroupRequest& req);
  // Error code for an OffsetCommit with these membership fields (0 = accept).
  // A static member's instance id (OffsetCommit v7+) is checked too: FENCED_INSTANCE_ID when
  // it now belongs to another member id.
  int16_t ValidateCommit(const std::string& group_id, int32_t generation_id,
                         const std::string& member_id,
                         const std::optional<std::string>& instance_id = std::nullopt);
  // Error code for a TxnOffsetCommit (v3+ carries the consumer's group metadata) with these
  // membership fields, as Kafka's coordinator answers it: a group that does not exist takes
  // only generation -1 (else ILLEGAL_GENERATION); FENCED_INSTANCE_ID for an instance id held by
  // another member; a member id the group does not have is UNKNOWN_MEMBER_ID; a generation >= 0
  // other than the group's is ILLEGAL_GENERATION. Generation -1 and no member id (a producer
  // that sends only the group id) is accepted whatever the group's state.
  int16_t ValidateTxnCommit(const std::string& group_id, int32_t generation_id,
                            const std::string& member_id,
                            const std::optional<std::string>& instance_id);

  // Groups with members or a protocol type, sorted by id: (group id, protocol type).
  std::vector<std::pair<std::string, std::string>> ListGroups();
  // Describes one group; nullopt when the coordinator does not know it.
  std::optional<DescribeGroupsResponse::Group> Describe(const std::string& group_id);
  // DeleteGroups: forgets a group that has no members. NON_EMPTY_GROUP while it has members,
  // GROUP_ID_NOT_FOUND when the coordinator does not know it (it may still have offsets).
  int16_t DeleteGroup(const std::string& group_id);

  // Completes join phases past their deadline and expires silent members.
  void Tick(Clock::time_point now);
  // Answers every held request with COORDINATOR_NOT_AVAILABLE-free errors (server stop).
  void Shutdown();

 private:
  enum class State { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable };
  struct Member {
    std::string id;
    std::string client_id;
    std::string client_host;
    std::optional<std::string> group_instance_id;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<JoinGroupRequest::Protocol> protocols;
    std::string assignment;
    Clock::time_point last_heartbeat;
    uint64_t join_seq = 0;
    JoinCallback pending_join;
    SyncCallback pending_sync;
  };
  struct Group {
    State state = State::kEmpty;
    int32_t generation = 0;
    std::string protocol_type;
    std::string protocol_name;
    std::string leader;
    std::map<std::string, Member> members;
    Clock::time_point rebalance_deadline;
    Clock::time_point initial_delay_until;
  };
  // Deferred callback invocations, run after the lock is released.
  using Pending = std::vector<std::function<void()>>;

  static const char* StateName(State s);
  void PrepareRebalance(Group& g, Clock::time_point now, Pending& out);
  void MaybeCompleteJoin(Group& g, Clock::time_point now, Pending& out);
  void RemoveMember(Group& g, const std::string& member_id, Pending& out);
  std::string SelectProtocol(const Group& g) const;
  // The member id holding a static instance id, or "".
  static std::string StaticMemberId(const Group& g, const std::string& instance_id);
  // FENCED_INSTANCE_ID when `instance_id` is set and held by another member id, else NONE.
  static int16_t CheckStatic(const Group& g, const std::string& member_id,
                             const std::optional<std::string>& instance_id);
  // Gives a member a new id (a restarted static member); its held requests are answered
  // FENCED_INSTANCE_ID, leadership follows it.
  static void ReplaceMemberId(Group& g, const std::string& old_id, const std::string& new_id,
                              Pending& out);
  bool SupportsCommonProtocol(const Group& g, const JoinGroupRequest& req) const;
  std::string NewMemberId(const std::string& client_id);
  static void RunAll(Pending& p);

  GroupCoordinatorOptions options_;
  std::mutex mu_;
  std::map<std::string, Group> groups_;
  std::mt19937_64 rng_;
  uint64_t next_join_seq_ = 0;
};

}  // namespace sluice::kafka
