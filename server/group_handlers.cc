// Consumer-group APIs: membership through KafkaGroupCoordinator, committed offsets through the
// core OffsetStore (durable; `sluice group describe` reads the same files).
#include <fmt/format.h>

#include <map>
#include <set>

#include "core/offset_store.h"
#include "server/protocol/error_codes.h"
#include "server/request_handler.h"

namespace sluice::kafka {
namespace {

// Kafka's offset.metadata.max.bytes.
constexpr size_t kMaxCommitMetadataBytes = 4096;

}  // namespace

void RequestHandler::HandleJoinGroup(const RequestHeader& h, const JoinGroupRequest& req,
                                     const ClientInfo& client, Done done) {
  if (!req.group_id.empty() && !ValidateGroupId(req.group_id).ok()) {
    JoinGroupResponse resp;
    resp.error_code = kInvalidGroupId;
    resp.member_id = req.member_id;
    return done({Frame(h, resp), false,
                 fmt::format("JoinGroup: group id '{}' is not 1..249 characters of "
                             "[a-zA-Z0-9._-]; choose another group id",
                             req.group_id)});
  }
  groups_.Join(req, h.client_id.value_or(""), "/" + client.host,
               [h, done](JoinGroupResponse resp) { done({Frame(h, resp)}); });
}

void RequestHandler::HandleSyncGroup(const RequestHeader& h, const SyncGroupRequest& req,
                                     Done done) {
  groups_.Sync(req, [h, done](SyncGroupResponse resp) { done({Frame(h, resp)}); });
}

Reply RequestHandler::HandleHeartbeat(const RequestHeader& h, const HeartbeatRequest& req) {
  HeartbeatResponse resp;
  resp.error_code = groups_.Heartbeat(req);
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleLeaveGroup(const RequestHeader& h, const LeaveGroupRequest& req) {
  return {Frame(h, groups_.Leave(req))};
}

Reply RequestHandler::HandleOffsetCommit(const RequestHeader& h, const OffsetCommitRequest& req,
                                         const ClientInfo& client) {
  OffsetCommitResponse resp;
  int16_t group_error = kNone;
  std::string why;
  std::vector<std::string> denied_topics;
  if (!Permitted(client, auth::ResourceType::kGroup, req.group_id, auth::kRead)) {
    group_error = kGroupAuthorizationFailed;
    why = Denied(client, h, "group", {req.group_id}, "GROUP_AUTHORIZATION_FAILED");
  } else if (!ValidateGroupId(req.group_id).ok()) {
    group_error = kInvalidGroupId;
    why = fmt::format("group id '{}' is not 1..249 characters of [a-zA-Z0-9._-]", req.group_id);
  } else {
    group_error = groups_.ValidateCommit(req.group_id, req.generation_id, req.member_id,
                                         req.group_instance_id);
  }
  std::map<TopicPartition, CommittedOffset> commit;
  std::vector<TopicPartition> uncommit;
  Timestamp now = Now();
  {
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    for (const auto& t : req.topics) {
      OffsetCommitResponse::Topic rt;
      rt.name = t.name;
      auto config = ValidateTopicName(t.name).ok() ? log_->DescribeTopic(t.name)
                                                   : Result<TopicConfig>(NotFound("bad"));
      bool topic_ok = Permitted(client, auth::ResourceType::kTopic, t.name, auth::kRead);
      if (!topic_ok && group_error == kNone) denied_topics.push_back(t.name);
      for (const auto& p : t.partitions) {
        int16_t code = group_error;
        if (code == kNone && !topic_ok) {
          code = kTopicAuthorizationFailed;
        } else if (code == kNone && (!config.ok() || p.partition_index < 0 ||
                                     p.partition_index >= config->partitions)) {
          code = kUnknownTopicOrPartition;
        } else if (code == kNone && p.committed_metadata &&
                   p.committed_metadata->size() > kMaxCommitMetadataBytes) {
          code = kInvalidCommitOffsetSize;
        }
        if (code == kNone && p.committed_offset < 0) {
          // Kafka stores any offset; clients read a negative committed offset (the -1/-2
          // placeholders kafkajs admin.resetOffsets commits) as "no committed offset" and apply
          // their reset policy. The OffsetStore holds real offsets only, so the partition's
          // committed offset is removed: OffsetFetch then answers -1, which clients read alike.
          uncommit.push_back({t.name, PartitionId(p.partition_index)});
        } else if (code == kNone) {
          commit[{t.name, PartitionId(p.partition_index)}] = {
              Offset(p.committed_offset), p.committed_metadata.value_or(""), now};
        }
        rt.partitions.push_back({p.partition_index, code});
      }
      resp.topics.push_back(std::move(rt));
    }
  }
  if (!commit.empty() || !uncommit.empty()) {
    Status st = commit.empty() ? Status::Ok() : log_->offsets().Commit(req.group_id, commit);
    if (st.ok() && !uncommit.empty()) {
      st = log_->offsets().DeleteOffsets(req.group_id, uncommit).status();
    }
    if (!st.ok()) {
      for (auto& t : resp.topics) {
        for (auto& p : t.partitions) {
          if (p.error_code == kNone) p.error_code = kUnknownServerError;
        }
      }
      why = st.ToString();
    }
  }
  if (!denied_topics.empty()) {
    why += Denied(client, h, "topic", denied_topics, "TOPIC_AUTHORIZATION_FAILED");
  }
  return {Frame(h, resp), false, why.empty() ? "" : "OffsetCommit: " + why};
}

Reply RequestHandler::HandleOffsetFetch(const RequestHeader& h, const OffsetFetchRequest& req,
                                        const ClientInfo& client) {
  OffsetFetchResponse resp;
  bool group_ok = Permitted(client, auth::ResourceType::kGroup, req.group_id, auth::kRead);
  if (!group_ok || !ValidateGroupId(req.group_id).ok()) {
    int16_t code = group_ok ? kInvalidGroupId : kGroupAuthorizationFailed;
    resp.error_code = code;
    if (req.topics) {
      for (const auto& t : *req.topics) {
        OffsetFetchResponse::Topic rt{t.name, {}};
        for (int32_t p : t.partition_indexes) {
          rt.partitions.push_back({p, -1, -1, std::string(), code});
        }
        resp.topics.push_back(std::move(rt));
      }
    }
    if (!group_ok) {
      return {Frame(h, resp), false,
              Denied(client, h, "group", {req.group_id}, "GROUP_AUTHORIZATION_FAILED")};
    }
    return {Frame(h, resp)};
  }
  auto committed = log_->offsets().Fetch(req.group_id);
  if (!committed.ok()) {
    resp.error_code = kUnknownServerError;
    return {Frame(h, resp), false, "OffsetFetch: " + committed.status().ToString()};
  }
  if (!req.topics) {
    std::map<std::string, OffsetFetchResponse::Topic> by_topic;
    for (const auto& [tp, c] : *committed) {
      // Offsets of topics the principal may not read are left out (as Kafka does).
      if (!Permitted(client, auth::ResourceType::kTopic, tp.topic, auth::kRead)) continue;
      auto& rt = by_topic[tp.topic];
      rt.name = tp.topic;
      if (req.require_stable && txns_.HasPendingOffset(req.group_id, tp)) {
        rt.partitions.push_back(
            {tp.partition.value(), -1, -1, std::string(), kUnstableOffsetCommit});
      } else {
        rt.partitions.push_back({tp.partition.value(), c.offset.value(), -1, c.metadata, kNone});
      }
    }
    for (auto& [name, rt] : by_topic) resp.topics.push_back(std::move(rt));
    return {Frame(h, resp)};
  }
  for (const auto& t : *req.topics) {
    OffsetFetchResponse::Topic rt{t.name, {}};
    for (int32_t p : t.partition_indexes) {
      auto it = committed->find({t.name, PartitionId(p)});
      if (req.require_stable && txns_.HasPendingOffset(req.group_id, {t.name, PartitionId(p)})) {
        // A transaction staged an offset here: the client retries until it commits or aborts.
        rt.partitions.push_back({p, -1, -1, std::string(), kUnstableOffsetCommit});
      } else if (it == committed->end()) {
        rt.partitions.push_back({p, -1, -1, std::string(), kNone});
      } else {
        rt.partitions.push_back({p, it->second.offset.value(), -1, it->second.metadata, kNone});
      }
    }
    resp.topics.push_back(std::move(rt));
  }
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleListGroups(const RequestHeader& h, const ListGroupsRequest& req,
                                       const ClientInfo& client) {
  std::map<std::string, std::string> all;
  for (auto& [id, type] : groups_.ListGroups()) all[id] = type;
  if (auto stored = log_->offsets().ListGroups(); stored.ok()) {
    // Groups known only by their committed offsets (e.g. after a restart) are consumer groups.
    for (const auto& id : *stored) all.emplace(id, "consumer");
  }
  ListGroupsResponse resp;
  for (auto& [id, type] : all) {
    // Only the groups the principal may read are listed.
    if (Permitted(client, auth::ResourceType::kGroup, id, auth::kRead)) {
      resp.groups.push_back({id, type});
    }
  }
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleDescribeGroups(const RequestHeader& h, const DescribeGroupsRequest& req,
                                           const ClientInfo& client) {
  DescribeGroupsResponse resp;
  std::vector<std::string> denied;
  std::set<std::string> stored;
  if (auto s = log_->offsets().ListGroups(); s.ok()) stored.insert(s->begin(), s->end());
  for (const auto& id : req.groups) {
    if (!Permitted(client, auth::ResourceType::kGroup, id, auth::kRead)) {
      DescribeGroupsResponse::Group g;
      g.group_id = id;
      g.error_code = kGroupAuthorizationFailed;
      denied.push_back(id);
      resp.groups.push_back(std::move(g));
      continue;
    }
    if (auto g = groups_.Describe(id)) {
      resp.groups.push_back(std::move(*g));
      continue;
    }
    DescribeGroupsResponse::Group g;
    g.group_id = id;
    if (stored.count(id)) {
      g.group_state = "Empty";
      g.protocol_type = "consumer";
    } else {
      g.group_state = "Dead";
    }
    resp.groups.push_back(std::move(g));
  }
  if (!denied.empty()) {
    return {Frame(h, resp), false,
            Denied(client, h, "group", denied, "GROUP_AUTHORIZATION_FAILED")};
  }
  return {Frame(h, resp)};
}

}  // namespace sluice::kafka
