// The classic group protocol state machine, driven directly (no sockets, no sleeps: timeouts
// are crossed by calling Tick with a time far in the future).
#include <gtest/gtest.h>

#include <optional>

#include "server/kafka_group_coordinator.h"
#include "server/protocol/error_codes.h"

namespace sluice::kafka {
namespace {

using Clock = KafkaGroupCoordinator::Clock;

GroupCoordinatorOptions TestOptions() {
  GroupCoordinatorOptions o;
  o.min_session_timeout_ms = 10;
  o.initial_rebalance_delay_ms = 0;
  return o;
}

JoinGroupRequest JoinReq(const std::string& member,
                         std::vector<std::string> protocols = {"range", "roundrobin"}) {
  JoinGroupRequest r;
  r.group_id = "g";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 10000;
  r.member_id = member;
  r.protocol_type = "consumer";
  for (auto& p : protocols) r.protocols.push_back({p, "meta-" + p});
  return r;
}

// Captures a held reply.
template <typename T>
struct Slot {
  std::optional<T> value;
  auto Callback() {
    return [this](T v) { value = std::move(v); };
  }
};

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  KafkaGroupCoordinator gc_{TestOptions()};

  JoinGroupResponse JoinNow(const JoinGroupRequest& req) {
    Slot<JoinGroupResponse> s;
    gc_.Join(req, "client", "/127.0.0.1", s.Callback());
    EXPECT_TRUE(s.value.has_value());
    return s.value.value_or(JoinGroupResponse{});
  }
  SyncGroupResponse SyncNow(const std::string& member, int32_t gen,
                            std::vector<SyncGroupRequest::Assignment> a = {}) {
    Slot<SyncGroupResponse> s;
    gc_.Sync({"g", gen, member, std::nullopt, std::move(a)}, s.Callback());
    EXPECT_TRUE(s.value.has_value());
    return s.value.value_or(SyncGroupResponse{});
  }
  int16_t Beat(const std::string& member, int32_t gen) {
    return gc_.Heartbeat({"g", gen, member, std::nullopt});
  }
};

TEST_F(GroupCoordinatorTest, FirstMemberBecomesLeaderOfGenerationOne) {
  auto j = JoinNow(JoinReq(""));
  EXPECT_EQ(j.error_code, kNone);
  EXPECT_EQ(j.generation_id, 1);
  EXPECT_EQ(j.leader, j.member_id);
  EXPECT_EQ(j.protocol_name, "range");
  EXPECT_EQ(j.member_id.rfind("client-", 0), 0u);
  ASSERT_EQ(j.members.size(), 1u);
  EXPECT_EQ(j.members[0].metadata, "meta-range");
  auto s = SyncNow(j.member_id, 1, {{j.member_id, "all-partitions"}});
  EXPECT_EQ(s.error_code, kNone);
  EXPECT_EQ(s.assignment, "all-partitions");
  EXPECT_EQ(Beat(j.member_id, 1), kNone);
  EXPECT_EQ(gc_.Describe("g")->group_state, "Stable");
}

TEST_F(GroupCoordinatorTest, SecondMemberTriggersARebalanceAndGetsTheLeadersAssignment) {
  auto a = JoinNow(JoinReq(""));
  SyncNow(a.member_id, 1, {{a.member_id, "a1"}});

  Slot<JoinGroupResponse> b_join;
  gc_.Join(JoinReq(""), "client", "/127.0.0.1", b_join.Callback());
  EXPECT_FALSE(b_join.value.has_value()) << "held until the existing member rejoins";
  EXPECT_EQ(Beat(a.member_id, 1), kRebalanceInProgress);

  auto a2 = JoinNow(JoinReq(a.member_id));
  ASSERT_TRUE(b_join.value.has_value());
  EXPECT_EQ(a2.generation_id, 2);
  EXPECT_EQ(a2.leader, a.member_id) << "the previous leader stays leader";
  EXPECT_EQ(a2.members.size(), 2u);
  EXPECT_TRUE(b_join.value->members.empty()) << "followers get no member list";
  std::string b = b_join.value->member_id;

  Slot<SyncGroupResponse> b_sync;
  gc_.Sync({"g", 2, b, std::nullopt, {}}, b_sync.Callback());
  EXPECT_FALSE(b_sync.value.has_value()) << "a follower waits for the leader's assignments";
  auto a_sync = SyncNow(a.member_id, 2, {{a.member_id, "a2"}, {b, "b2"}});
  EXPECT_EQ(a_sync.assignment, "a2");
  ASSERT_TRUE(b_sync.value.has_value());
  EXPECT_EQ(b_sync.value->assignment, "b2");
  EXPECT_EQ(Beat(b, 2), kNone);
  EXPECT_EQ(Beat(b, 1), kIllegalGeneration);
}

TEST_F(GroupCoordinatorTest, ProtocolIsChosenByVoteAndIncompatibleMembersAreRejected) {
  auto a = JoinNow(JoinReq("", {"roundrobin", "range"}));
  EXPECT_EQ(a.protocol_name, "roundrobin");
  auto kafkajs = JoinNow(JoinReq("", {"RoundRobinAssigner"}));
  EXPECT_EQ(kafkajs.error_code, kInconsistentGroupProtocol);
}

TEST_F(GroupCoordinatorTest, BadRequestsGetTheirErrorCodes) {
  EXPECT_EQ(JoinNow(JoinReq("ghost")).error_code, kUnknownMemberId);
  auto bad_timeout = JoinReq("");
  bad_timeout.session_timeout_ms = 1;
  EXPECT_EQ(JoinNow(bad_timeout).error_code, kInvalidSessionTimeout);
  auto no_group = JoinReq("");
  no_group.group_id = "";
  EXPECT_EQ(JoinNow(no_group).error_code, kInvalidGroupId);
  EXPECT_EQ(Beat("ghost", 1), kUnknownMemberId);
  auto a = JoinNow(JoinReq(""));
  EXPECT_EQ(SyncNow(a.member_id, 7).error_code, kIllegalGeneration);
  EXPECT_EQ(SyncNow("ghost", 1).error_code, kUnknownMemberId);
}

TEST_F(GroupCoordinatorTest, SilentMembersExpireAndTheRestRebalance) {
  auto a = JoinNow(JoinReq(""));
  SyncNow(a.member_id, 1, {{a.member_id, "x"}});
  gc_.Tick(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(Beat(a.member_id, 1), kUnknownMemberId);
  auto d = gc_.Describe("g");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->group_state, "Empty");
  EXPECT_TRUE(d->members.empty());
}

TEST_F(GroupCoordinatorTest, MembersThatDoNotRejoinInTimeAreDropped) {
  auto a = JoinNow(JoinReq(""));
  SyncNow(a.member_id, 1, {{a.member_id, "x"}});
  Slot<JoinGroupResponse> b;
  gc_.Join(JoinReq(""), "client", "/127.0.0.1", b.Callback());
  EXPECT_FALSE(b.value.has_value());
  // A never rejoins: past the rebalance timeout B completes the phase alone.
  gc_.Tick(Clock::now() + std::chrono::hours(1));
  ASSERT_TRUE(b.value.has_value());
  EXPECT_EQ(b.value->error_code, kNone);
  EXPECT_EQ(b.value->generation_id, 2);
  EXPECT_EQ(b.value->leader, b.value->member_id);
  EXPECT_EQ(Beat(a.member_id, 1), kUnknownMemberId);
}

TEST_F(GroupCoordinatorTest, LeaveRebalancesTheRestAndEmptiesTheGroup) {
  auto a = JoinNow(JoinReq(""));
  Slot<JoinGroupResponse> b;
  gc_.Join(JoinReq(""), "client", "/127.0.0.1", b.Callback());
  JoinNow(JoinReq(a.member_id));
  ASSERT_TRUE(b.value.has_value());
  std::string bid = b.value->member_id;
  SyncNow(a.member_id, 2, {{a.member_id, "a"}, {bid, "b"}});

  LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.members = {{bid, std::nullopt}};
  EXPECT_EQ(gc_.Leave(leave).error_code, kNone);
  EXPECT_EQ(Beat(a.member_id, 2), kRebalanceInProgress);
  leave.members = {{"ghost", std::nullopt}};
  EXPECT_EQ(gc_.Leave(leave).error_code, kUnknownMemberId);
  leave.members = {{a.member_id, std::nullopt}};
  EXPECT_EQ(gc_.Leave(leave).error_code, kNone);
  EXPECT_EQ(gc_.Describe("g")->group_state, "Empty");
}

TEST_F(GroupCoordinatorTest, CommitsAreValidatedAgainstMembershipAndGeneration) {
  EXPECT_EQ(gc_.ValidateCommit("g", -1, ""), kNone) << "standalone commit to an empty group";
  auto a = JoinNow(JoinReq(""));
  EXPECT_EQ(gc_.ValidateCommit("g", 1, a.member_id), kRebalanceInProgress) << "awaiting SyncGroup";
  SyncNow(a.member_id, 1, {{a.member_id, "x"}});
  EXPECT_EQ(gc_.ValidateCommit("g", 1, a.member_id), kNone);
  EXPECT_EQ(gc_.ValidateCommit("g", 0, a.member_id), kIllegalGeneration);
  EXPECT_EQ(gc_.ValidateCommit("g", 1, "ghost"), kUnknownMemberId);
  EXPECT_EQ(gc_.ValidateCommit("g", -1, ""), kUnknownMemberId) << "group has live members";
}

JoinGroupRequest StaticJoinReq(const std::string& member, const std::string& instance) {
  JoinGroupRequest r = JoinReq(member);
  r.group_instance_id = instance;
  return r;
}

// Static membership: a restarted member (same instance id, no member id) gets its assignment
// back in the same generation and nobody else rebalances; its old member id is fenced.
TEST_F(GroupCoordinatorTest, RestartedStaticMemberKeepsItsAssignmentWithoutARebalance) {
  auto a = JoinNow(StaticJoinReq("", "inst-a"));
  SyncNow(a.member_id, 1, {{a.member_id, "a1"}});
  Slot<JoinGroupResponse> b_join;
  gc_.Join(StaticJoinReq("", "inst-b"), "client", "/127.0.0.1", b_join.Callback());
  auto a2 = JoinNow(StaticJoinReq(a.member_id, "inst-a"));
  ASSERT_TRUE(b_join.value.has_value());
  std::string b = b_join.value->member_id;
  Slot<SyncGroupResponse> b_sync;
  gc_.Sync({"g", 2, b, std::string("inst-b"), {}}, b_sync.Callback());
  SyncNow(a.member_id, 2, {{a.member_id, "a2"}, {b, "b2"}});
  ASSERT_EQ(Beat(b, 2), kNone);

  // A new process of inst-b (the old one is gone, or still running: a duplicate).
  auto b_new = JoinNow(StaticJoinReq("", "inst-b"));
  EXPECT_EQ(b_new.error_code, kNone);
  EXPECT_EQ(b_new.generation_id, 2) << "same generation: no rebalance";
  EXPECT_NE(b_new.member_id, b);
  EXPECT_EQ(b_new.leader, a.member_id);
  EXPECT_TRUE(b_new.members.empty());
  EXPECT_EQ(Beat(a.member_id, 2), kNone) << "the other member is not asked to rejoin";
  Slot<SyncGroupResponse> again;
  gc_.Sync({"g", 2, b_new.member_id, std::string("inst-b"), {}}, again.Callback());
  ASSERT_TRUE(again.value.has_value());
  EXPECT_EQ(again.value->assignment, "b2") << "its assignment comes back";
  EXPECT_EQ(gc_.Heartbeat({"g", 2, b, std::string("inst-b")}), kFencedInstanceId);
  EXPECT_EQ(gc_.ValidateCommit("g", 2, b, std::string("inst-b")), kFencedInstanceId);
  EXPECT_EQ(gc_.ValidateCommit("g", 2, b_new.member_id, std::string("inst-b")), kNone);
  EXPECT_EQ(JoinNow(StaticJoinReq(b, "inst-b")).error_code, kFencedInstanceId);

  // The leader restarts: it is told the old leader id, so it syncs as a follower.
  auto a_new = JoinNow(StaticJoinReq("", "inst-a"));
  EXPECT_EQ(a_new.generation_id, 2);
  EXPECT_EQ(a_new.leader, a.member_id);
  EXPECT_NE(a_new.member_id, a.member_id);
  EXPECT_EQ(SyncNow(a_new.member_id, 2).assignment, "a2");
  EXPECT_EQ(Beat(b_new.member_id, 2), kNone);
}

TEST_F(GroupCoordinatorTest, LeaveGroupByInstanceIdRemovesTheStaticMember) {
  auto a = JoinNow(StaticJoinReq("", "inst-a"));
  SyncNow(a.member_id, 1, {{a.member_id, "a1"}});
  Slot<JoinGroupResponse> b_join;
  gc_.Join(StaticJoinReq("", "inst-b"), "client", "/127.0.0.1", b_join.Callback());
  JoinNow(StaticJoinReq(a.member_id, "inst-a"));
  ASSERT_TRUE(b_join.value.has_value());
  std::string b = b_join.value->member_id;
  SyncNow(a.member_id, 2, {{a.member_id, "a2"}, {b, "b2"}});

  LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.members = {{"", std::string("inst-b")},
                   {"wrong-id", std::string("inst-a")},
                   {"", std::string("inst-z")}};
  auto resp = gc_.Leave(leave);
  ASSERT_EQ(resp.members.size(), 3u);
  EXPECT_EQ(resp.members[0].error_code, kNone);
  EXPECT_EQ(resp.members[1].error_code, kFencedInstanceId);
  EXPECT_EQ(resp.members[2].error_code, kUnknownMemberId);
  EXPECT_EQ(Beat(a.member_id, 2), kRebalanceInProgress) << "a member left: rebalance";
  ASSERT_TRUE(gc_.Describe("g").has_value());
  EXPECT_EQ(gc_.Describe("g")->members.size(), 1u);
}

TEST_F(GroupCoordinatorTest, ShutdownAnswersHeldRequests) {
  auto a = JoinNow(JoinReq(""));
  SyncNow(a.member_id, 1, {{a.member_id, "x"}});
  Slot<JoinGroupResponse> b;
  gc_.Join(JoinReq(""), "client", "/127.0.0.1", b.Callback());
  EXPECT_FALSE(b.value.has_value());
  gc_.Shutdown();
  ASSERT_TRUE(b.value.has_value());
  EXPECT_NE(b.value->error_code, kNone);
}

}  // namespace
}  // namespace sluice::kafka
