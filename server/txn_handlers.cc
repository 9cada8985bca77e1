// Transaction APIs: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit. The state
// machine is in TransactionCoordinator; these translate requests and error codes.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "server/protocol/error_codes.h"
#include "server/request_handler.h"

namespace sluice::kafka {
namespace {

// PRODUCER_FENCED exists from AddPartitionsToTxn/AddOffsetsToTxn/EndTxn v2; older versions get
// INVALID_PRODUCER_EPOCH (Kafka's KafkaApis does the same rewrite).
int16_t ForVersion(int16_t code, int16_t version) {
  return code == kProducerFenced && version < 2 ? static_cast<int16_t>(kInvalidProducerEpoch)
                                                : code;
}

std::string Why(std::string_view api, const std::string& txn_id, int16_t code,
                const std::string& message) {
  if (code == kNone) return "";
  return fmt::format("{} '{}' (error {}): {}", api, txn_id, code, message);
}

}  // namespace

std::optional<std::string> RequestHandler::CheckTxnIdAccess(const RequestHeader& h,
                                                            const std::string& txn_id,
                                                            const ClientInfo& client) {
  if (Permitted(client, auth::ResourceType::kTransactionalId, txn_id, auth::kWrite)) {
    return std::nullopt;
  }
  return Denied(client, h, "transactional id", {txn_id}, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED");
}

Reply RequestHandler::HandleAddPartitionsToTxn(const RequestHeader& h,
                                               const AddPartitionsToTxnRequest& req,
                                               const ClientInfo& client) {
  AddPartitionsToTxnResponse resp;
  // Kafka's answer to a refusal: the refused partitions get the authorization error, the others
  // OPERATION_NOT_ATTEMPTED; nothing is added.
  auto refused = [&](const std::function<int16_t(const std::string&)>& code_of,
                     std::string why) -> Reply {
    for (const auto& t : req.topics) {
      AddPartitionsToTxnResponse::Topic rt{t.name, {}};
      for (int32_t p : t.partitions) rt.results.push_back({p, code_of(t.name)});
      resp.results.push_back(std::move(rt));
    }
    return {Frame(h, resp), false, std::move(why)};
  };
  if (auto why = CheckTxnIdAccess(h, req.transactional_id, client)) {
    return refused([](const std::string&) { return kTransactionalIdAuthorizationFailed; }, *why);
  }
  std::vector<std::string> denied;
  for (const auto& t : req.topics) {
    if (!Permitted(client, auth::ResourceType::kTopic, t.name, auth::kWrite)) {
      denied.push_back(t.name);
    }
  }
  if (!denied.empty()) {
    return refused(
        [&](const std::string& name) -> int16_t {
          return std::find(denied.begin(), denied.end(), name) != denied.end()
                     ? kTopicAuthorizationFailed
                     : kOperationNotAttempted;
        },
        Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED"));
  }
  std::vector<TopicPartition> parts;
  for (const auto& t : req.topics) {
    for (int32_t p : t.partitions) parts.push_back({t.name, PartitionId(p)});
  }
  std::string message;
  int16_t code = kInvalidRequest;
  if (req.transactional_id.empty()) {
    message = "empty transactional id";
  } else {
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    for (const auto& t : req.topics) {
      if (!ValidateTopicName(t.name).ok() || !log_->HasTopic(t.name)) {
        message = fmt::format("unknown topic '{}'", t.name);
        code = kUnknownTopicOrPartition;
      }
    }
    if (message.empty()) {
      code = txns_.AddPartitions(req.transactional_id, req.producer_id, req.producer_epoch, parts,
                                 &message);
    }
  }
  code = ForVersion(code, h.api_version);
  for (const auto& t : req.topics) {
    AddPartitionsToTxnResponse::Topic rt{t.name, {}};
    for (int32_t p : t.partitions) rt.results.push_back({p, code});
    resp.results.push_back(std::move(rt));
  }
  return {Frame(h, resp), false, Why("AddPartitionsToTxn", req.transactional_id, code, message)};
}

Reply RequestHandler::HandleAddOffsetsToTxn(const RequestHeader& h,
                                            const AddOffsetsToTxnRequest& req,
                                            const ClientInfo& client) {
  TxnErrorResponse resp;
  if (auto why = CheckTxnIdAccess(h, req.transactional_id, client)) {
    resp.error_code = kTransactionalIdAuthorizationFailed;
    return {Frame(h, resp), false, *why};
  }
  if (!Permitted(client, auth::ResourceType::kGroup, req.group_id, auth::kRead)) {
    resp.error_code = kGroupAuthorizationFailed;
    return {Frame(h, resp), false,
            Denied(client, h, "group", {req.group_id}, "GROUP_AUTHORIZATION_FAILED")};
  }
  std::string message;
  if (req.transactional_id.empty() || !ValidateGroupId(req.group_id).ok()) {
    resp.error_code = kInvalidRequest;
    message = "empty transactional id or invalid group id";
  } else {
    resp.error_code = ForVersion(txns_.AddOffsets(req.transactional_id, req.producer_id,
                                                  req.producer_epoch, req.group_id, &message),
                                 h.api_version);
  }
  return {Frame(h, resp), false,
          Why("AddOffsetsToTxn", req.transactional_id, resp.error_code, message)};
}

Reply RequestHandler::HandleEndTxn(const RequestHeader& h, const EndTxnRequest& req,
                                   const ClientInfo& client) {
  TxnErrorResponse resp;
  if (auto why = CheckTxnIdAccess(h, req.transactional_id, client)) {
    resp.error_code = kTransactionalIdAuthorizationFailed;
    return {Frame(h, resp), false, *why};
  }
  std::string message;
  if (req.transactional_id.empty()) {
    resp.error_code = kInvalidRequest;
    message = "empty transactional id";
  } else {
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    resp.error_code = ForVersion(txns_.EndTxn(req.transactional_id, req.producer_id,
                                              req.producer_epoch, req.committed, &message),
                                 h.api_version);
  }
  return {Frame(h, resp), false, Why("EndTxn", req.transactional_id, resp.error_code, message)};
}

Reply RequestHandler::HandleTxnOffsetCommit(const RequestHeader& h,
                                            const TxnOffsetCommitRequest& req,
                                            const ClientInfo& client) {
  std::map<TopicPartition, CommittedOffset> offsets;
  TxnOffsetCommitResponse resp;
  int16_t code = kNone;
  std::string message;
  std::string why;
  if (auto denied = CheckTxnIdAccess(h, req.transactional_id, client)) {
    code = kTransactionalIdAuthorizationFailed;
    why = *denied;
  } else if (!Permitted(client, auth::ResourceType::kGroup, req.group_id, auth::kRead)) {
    code = kGroupAuthorizationFailed;
    why = Denied(client, h, "group", {req.group_id}, "GROUP_AUTHORIZATION_FAILED");
  }
  if (code != kNone) {
    for (const auto& t : req.topics) {
      AddPartitionsToTxnResponse::Topic rt{t.name, {}};
      for (const auto& p : t.partitions) rt.results.push_back({p.partition_index, code});
      resp.results.push_back(std::move(rt));
    }
    return {Frame(h, resp), false, why};
  }
  {
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    for (const auto& t : req.topics) {
      auto config = ValidateTopicName(t.name).ok() ? log_->DescribeTopic(t.name)
                                                   : Result<TopicConfig>(NotFound("bad"));
      for (const auto& p : t.partitions) {
        if (!config.ok() || p.partition_index < 0 || p.partition_index >= config->partitions) {
          code = kUnknownTopicOrPartition;
          message = fmt::format("unknown partition {}-{}", t.name, p.partition_index);
        }
        offsets[{t.name, PartitionId(p.partition_index)}] = {
            Offset(p.committed_offset), p.committed_metadata.value_or(""), Now()};
      }
    }
  }
  if (code == kNone) {
    code = groups_.ValidateTxnCommit(req.group_id, req.generation_id, req.member_id,
                                     req.group_instance_id);
    if (code != kNone) {
      message = fmt::format("group {} refuses generation {} member '{}'", req.group_id,
                            req.generation_id, req.member_id);
    }
  }
  if (code == kNone) {
    code = txns_.StageOffsets(req.transactional_id, req.group_id, req.producer_id,
                              req.producer_epoch, offsets, &message);
    // No TxnOffsetCommit version has PRODUCER_FENCED; the Java client maps this to fenced.
    if (code == kProducerFenced) code = kInvalidProducerEpoch;
  }
  for (const auto& t : req.topics) {
    AddPartitionsToTxnResponse::Topic rt{t.name, {}};
    for (const auto& p : t.partitions) rt.results.push_back({p.partition_index, code});
    resp.results.push_back(std::move(rt));
  }
  return {Frame(h, resp), false, Why("TxnOffsetCommit", req.transactional_id, code, message)};
}

}  // namespace sluice::kafka
