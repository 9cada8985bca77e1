// Admin APIs beyond topic creation: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
// DeleteRecords, DeleteGroups, OffsetDelete and DescribeCluster.
//
// Topic configs go through core's Kafka-named key table: a topic's configs are
// TopicConfig::KafkaConfigs() (every key, defaults included), and a change is applied with
// TopicConfig::Set and Validate, the checks CreateTopics and the CLI use. So a key core adds to
// the table is described and alterable here without a change in the server.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/internal/metadata_file.h"
#include "core/offset_store.h"
#include "core/topic_config.h"
#include "server/protocol/error_codes.h"
#include "server/request_handler.h"

namespace sluice::kafka {
namespace {

using ConfigMap = std::map<std::string, std::string>;

// Kafka topic configs the log does not implement (LogConfig's names): altering them gets
// INVALID_CONFIG saying so, not "unknown".
const std::set<std::string, std::less<>>& KafkaOnlyTopicConfigs() {
  static const auto* names = new std::set<std::string, std::less<>>{
      "compression.type",
      "file.delete.delay.ms",
      "flush.messages",
      "flush.ms",
      "follower.replication.throttled.replicas",
      "index.interval.bytes",
      "leader.replication.throttled.replicas",
      "local.retention.bytes",
      "local.retention.ms",
      "max.compaction.lag.ms",
      "message.downconversion.enable",
      "message.format.version",
      "message.timestamp.after.max.ms",
      "message.timestamp.before.max.ms",
      "message.timestamp.difference.max.ms",
      "min.insync.replicas",
      "preallocate",
      "remote.storage.enable",
      "segment.index.bytes",
      "segment.jitter.ms",
      "segment.ms",
      "unclean.leader.election.enable",
  };
  return *names;
}

// A topic's configs by Kafka name: every key of core's table (TopicConfig::KafkaConfigs), the
// compaction keys at their defaults included (`partitions` is not a config).
ConfigMap TopicConfigs(const TopicConfig& c) {
  ConfigMap out;
  for (auto& [k, v] : c.KafkaConfigs()) out.emplace(std::move(k), std::move(v));
  return out;
}

// Builds a TopicConfig from configs by Kafka name through the checks CreateTopics and the CLI
// use (TopicConfig::Set, then Validate), so a described value is accepted back unchanged.
Result<TopicConfig> FromConfigs(int32_t partitions, const ConfigMap& configs) {
  TopicConfig c;
  c.partitions = partitions;
  for (const auto& [name, value] : configs) SLUICE_RETURN_IF_ERROR(c.Set(name, value));
  SLUICE_RETURN_IF_ERROR(c.Validate());
  return c;
}

// Kafka's ConfigType for DescribeConfigs v3+: LONG (5) for numbers, STRING (2) otherwise, INT (3)
// for max.message.bytes, DOUBLE (6) for min.cleanable.dirty.ratio and LIST (7) for
// cleanup.policy, as in Kafka's LogConfig.
int8_t ConfigTypeOf(const std::string& name, const std::string& value) {
  if (name == "max.message.bytes") return 3;
  if (name == "min.cleanable.dirty.ratio") return 6;
  if (name == "cleanup.policy") return 7;
  int64_t v = 0;
  return sluice::internal::ParseDecimal(value, &v) ? 5 : 2;
}

// A consumer-protocol subscription's topics (ConsumerProtocolSubscription: version, topics, ...).
std::set<std::string> SubscribedTopics(std::string_view metadata) {
  std::set<std::string> out;
  WireReader r(metadata);
  r.Int16();
  int32_t n = r.ArrayCount(2);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string_view t = r.String();
    if (r.ok()) out.emplace(t);
  }
  return out;
}

}  // namespace

Reply RequestHandler::HandleDescribeCluster(const RequestHeader& h,
                                            const DescribeClusterRequest& req) {
  DescribeClusterResponse resp;
  resp.endpoint_type = req.endpoint_type;
  resp.cluster_id = options_.cluster_id;
  if (req.endpoint_type != 1) {
    // A broker describes brokers only (Kafka: controllers are described by controllers).
    resp.error_code = kUnsupportedEndpointType;
    resp.error_message =
        "The broker does not support DescribeCluster for controllers; ask for "
        "brokers (endpoint type 1)";
    return {Frame(h, resp)};
  }
  resp.controller_id = options_.node_id;
  resp.brokers.push_back({options_.node_id, advertised_host_, advertised_port_, std::nullopt});
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleDescribeConfigs(const RequestHeader& h,
                                            const DescribeConfigsRequest& req,
                                            const ClientInfo& client) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  DescribeConfigsResponse resp;
  std::vector<std::string> denied;
  auto add = [&](DescribeConfigsResponse::Result& out,
                 const std::optional<std::vector<std::string>>& keys, const std::string& name,
                 const std::string& value, bool read_only, int8_t source) {
    if (keys && std::find(keys->begin(), keys->end(), name) == keys->end()) return;
    DescribeConfigsResponse::Config c;
    c.name = name;
    c.value = value;
    c.read_only = read_only;
    c.is_default = source == kConfigSourceDefault;
    c.config_source = source;
    if (req.include_synonyms) c.synonyms.push_back({name, value, source});
    c.config_type = ConfigTypeOf(name, value);
    out.configs.push_back(std::move(c));
  };
  for (const auto& res : req.resources) {
    DescribeConfigsResponse::Result out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type == kResourceTopic) {
      if (!TopicVisible(client, res.resource_name)) {
        out.error_code = kTopicAuthorizationFailed;
        out.error_message = "Topic authorization failed.";
        denied.push_back(res.resource_name);
      } else if (auto config = ValidateTopicName(res.resource_name).ok()
                                   ? log_->DescribeTopic(res.resource_name)
                                   : Result<TopicConfig>(NotFound("invalid name"));
                 !config.ok()) {
        out.error_code = kUnknownTopicOrPartition;
        out.error_message = fmt::format("Topic {} does not exist", res.resource_name);
      } else {
        // A value that differs from the default is the topic's own (DYNAMIC_TOPIC_CONFIG, as
        // Kafka says of a topic override); the topic does not record which keys were named at
        // creation, so one set to its default value is described as the default.
        const ConfigMap defaults = TopicConfigs(TopicConfig{});
        for (const auto& [name, value] : TopicConfigs(*config)) {
          auto d = defaults.find(name);
          bool is_default = d != defaults.end() && d->second == value;
          add(out, res.configuration_keys, name, value, false,
              is_default ? kConfigSourceDefault : kConfigSourceDynamicTopic);
        }
      }
    } else if (res.resource_type == kResourceBroker) {
      if (!res.resource_name.empty() && res.resource_name != std::to_string(options_.node_id)) {
        out.error_code = kInvalidRequest;
        out.error_message =
            fmt::format("this is broker {}, not broker '{}'", options_.node_id, res.resource_name);
      } else {
        // The server's settings come from its command line: read-only, as Kafka's static ones.
        TopicConfig d;
        add(out, res.configuration_keys, "broker.id", std::to_string(options_.node_id), true,
            kConfigSourceStaticBroker);
        add(out, res.configuration_keys, "num.partitions",
            std::to_string(options_.default_partitions), true, kConfigSourceStaticBroker);
        add(out, res.configuration_keys, "auto.create.topics.enable",
            options_.auto_create_topics ? "true" : "false", true, kConfigSourceStaticBroker);
        add(out, res.configuration_keys, "default.replication.factor", "1", true,
            kConfigSourceDefault);
        add(out, res.configuration_keys, "message.max.bytes", std::to_string(d.max_message_bytes),
            true, kConfigSourceDefault);
        add(out, res.configuration_keys, "log.segment.bytes", std::to_string(d.segment_bytes), true,
            kConfigSourceDefault);
      }
    } else {
      out.error_code = kInvalidRequest;
      out.error_message = fmt::format(
          "resource type {} is not described by this broker; ask for topics (2) or the broker "
          "(4)",
          res.resource_type);
    }
    resp.results.push_back(std::move(out));
  }
  if (!denied.empty()) {
    return {Frame(h, resp), false,
            Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED")};
  }
  return {Frame(h, resp)};
}

void RequestHandler::AlterTopicConfig(
    const std::string& topic,
    const std::function<Status(std::map<std::string, std::string>&)>& edit, bool validate_only,
    const ClientInfo& client, const RequestHeader& h, AlterConfigsResponse::Result* result,
    std::string* errors) {
  auto fail = [&](int16_t code, std::string msg) {
    result->error_code = code;
    *errors += fmt::format("{} of topic '{}': {}; ", ApiName(h.api_key), topic, msg);
    result->error_message = std::move(msg);
  };
  if (!Permitted(client, auth::ResourceType::kTopic, topic, auth::kAdmin)) {
    result->error_code = kTopicAuthorizationFailed;
    result->error_message = "Topic authorization failed.";
    *errors += Denied(client, h, "topic", {topic}, "TOPIC_AUTHORIZATION_FAILED") + "; ";
    return;
  }
  auto config = ValidateTopicName(topic).ok() ? log_->DescribeTopic(topic)
                                              : Result<TopicConfig>(NotFound("invalid name"));
  if (!config.ok()) {
    result->error_code = kUnknownTopicOrPartition;
    result->error_message = fmt::format("Topic {} does not exist", topic);
    return;
  }
  ConfigMap next = TopicConfigs(*config);
  if (Status st = edit(next); !st.ok()) return fail(kInvalidConfig, st.message());
  const ConfigMap known = TopicConfigs(TopicConfig{});
  for (const auto& [name, value] : next) {
    if (known.count(name)) continue;
    if (KafkaOnlyTopicConfigs().count(name)) {
      std::vector<std::string> supported;
      for (const auto& k : known) supported.push_back(k.first);
      return fail(kInvalidConfig,
                  fmt::format("Topic config {} is not supported by sluice serve (it supports {})",
                              name, fmt::join(supported, ", ")));
    }
    return fail(kInvalidConfig, fmt::format("Unknown topic config name: {}", name));
  }
  auto parsed = FromConfigs(config->partitions, next);
  if (!parsed.ok()) return fail(kInvalidConfig, parsed.status().message());
  if (validate_only) return;
  // Applying reopens the topic's partitions: a job running in this server holds them.
  std::string user;
  if (options_.topic_in_use && !(user = options_.topic_in_use(topic)).empty()) {
    return fail(kPolicyViolation,
                fmt::format("the topic is in use by {}; stop it first to change its config", user));
  }
  if (Status st = log_->AlterTopicConfig(topic, *parsed); !st.ok()) {
    return fail(st.code() == StatusCode::kInvalidArgument ? kInvalidConfig : kUnknownServerError,
                st.message());
  }
}

namespace {

// Kafka's answer to a change of a broker config: every one is static on this server.
void RefuseBrokerChange(const std::string& name, const std::vector<std::string>& keys,
                        AlterConfigsResponse::Result* out) {
  out->error_code = kInvalidConfig;
  out->error_message = fmt::format(
      "Cannot update these configs dynamically: {}; sluice serve takes its settings from its "
      "command line (restart it with other options)",
      fmt::join(keys, ", "));
  (void)name;
}

}  // namespace

Reply RequestHandler::HandleAlterConfigs(const RequestHeader& h, const AlterConfigsRequest& req,
                                         const ClientInfo& client) {
  // A config change closes and reopens the topic's partitions: no Partition* may be in use.
  std::unique_lock<std::shared_mutex> lock(topics_mu_);
  AlterConfigsResponse resp;
  std::string errors;
  for (const auto& res : req.resources) {
    AlterConfigsResponse::Result out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type == kResourceTopic) {
      // AlterConfigs replaces the whole set: keys not named go back to their defaults.
      auto edit = [&](ConfigMap& m) -> Status {
        m = TopicConfigs(TopicConfig{});
        for (const auto& c : res.configs) {
          if (c.value) m[c.name] = *c.value;
        }
        return Status::Ok();
      };
      AlterTopicConfig(res.resource_name, edit, req.validate_only, client, h, &out, &errors);
    } else if (res.resource_type == kResourceBroker) {
      std::vector<std::string> keys;
      for (const auto& c : res.configs) keys.push_back(c.name);
      RefuseBrokerChange(res.resource_name, keys, &out);
    } else {
      out.error_code = kInvalidRequest;
      out.error_message = fmt::format("resource type {} has no configs here", res.resource_type);
    }
    resp.responses.push_back(std::move(out));
  }
  return {Frame(h, resp), false, errors};
}

Reply RequestHandler::HandleIncrementalAlterConfigs(const RequestHeader& h,
                                                    const IncrementalAlterConfigsRequest& req,
                                                    const ClientInfo& client) {
  std::unique_lock<std::shared_mutex> lock(topics_mu_);
  IncrementalAlterConfigsResponse resp;
  std::string errors;
  using Op = IncrementalAlterConfigsRequest::Op;
  for (const auto& res : req.resources) {
    AlterConfigsResponse::Result out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type == kResourceTopic) {
      auto edit = [&](ConfigMap& m) -> Status {
        const ConfigMap defaults = TopicConfigs(TopicConfig{});
        for (const auto& c : res.configs) {
          switch (c.config_operation) {
            case Op::kSet:
              if (!c.value) return InvalidArgument("Null value not supported for : {}", c.name);
              m[c.name] = *c.value;
              break;
            case Op::kDelete:
              // Back to the default (a key with no default has nothing to delete).
              if (auto d = defaults.find(c.name); d != defaults.end()) {
                m[c.name] = d->second;
              } else {
                m.erase(c.name);
              }
              break;
            case Op::kAppend:
            case Op::kSubtract:
              // Kafka allows them on list-typed configs only; none of these is a list.
              return InvalidArgument("Config value append is not allowed for config key: {}",
                                     c.name);
            default:
              return InvalidArgument("Unknown config operation {} for {}", c.config_operation,
                                     c.name);
          }
        }
        return Status::Ok();
      };
      AlterTopicConfig(res.resource_name, edit, req.validate_only, client, h, &out, &errors);
    } else if (res.resource_type == kResourceBroker) {
      std::vector<std::string> keys;
      for (const auto& c : res.configs) keys.push_back(c.name);
      RefuseBrokerChange(res.resource_name, keys, &out);
    } else {
      out.error_code = kInvalidRequest;
      out.error_message = fmt::format("resource type {} has no configs here", res.resource_type);
    }
    resp.responses.push_back(std::move(out));
  }
  return {Frame(h, resp), false, errors};
}

Reply RequestHandler::HandleDeleteRecords(const RequestHeader& h, const DeleteRecordsRequest& req,
                                          const ClientInfo& client) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  DeleteRecordsResponse resp;
  std::string errors;
  std::vector<std::string> denied;
  for (const auto& t : req.topics) {
    DeleteRecordsResponse::Topic rt;
    rt.name = t.name;
    // Kafka needs DELETE on the topic; here deleting data is an admin right, as DeleteTopics.
    bool allowed = Permitted(client, auth::ResourceType::kTopic, t.name, auth::kAdmin);
    if (!allowed) denied.push_back(t.name);
    for (const auto& p : t.partitions) {
      DeleteRecordsResponse::Partition rp;
      rp.partition_index = p.partition_index;
      if (!allowed) {
        rp.error_code = kTopicAuthorizationFailed;
        rt.partitions.push_back(rp);
        continue;
      }
      Result<Partition*> part = ValidateTopicName(t.name).ok()
                                    ? log_->GetPartition(t.name, PartitionId(p.partition_index))
                                    : Result<Partition*>(NotFound("invalid topic name"));
      if (!part.ok()) {
        rp.error_code = kUnknownTopicOrPartition;
        rt.partitions.push_back(rp);
        continue;
      }
      Partition* partition = *part;
      int64_t hw = partition->high_watermark().value();
      int64_t target = p.offset == -1 ? hw : p.offset;
      if (target < 0 || target > hw) {
        rp.error_code = kOffsetOutOfRange;
        rp.low_watermark = partition->log_start_offset().value();
        errors += fmt::format("DeleteRecords {}-{} before {}: outside 0..{} (high watermark); ",
                              t.name, p.partition_index, p.offset, hw);
        rt.partitions.push_back(rp);
        continue;
      }
      // As Kafka: the log start moves to `target` exactly (fsynced before the answer); the
      // answer is the log start the partition has now (higher if it already was).
      if (auto deleted = partition->DeleteRecords(Offset(target)); !deleted.ok()) {
        rp.error_code = kKafkaStorageError;
        errors += fmt::format("DeleteRecords {}-{}: {}; ", t.name, p.partition_index,
                              deleted.status().ToString());
      }
      rp.low_watermark = partition->log_start_offset().value();
      rt.partitions.push_back(rp);
    }
    resp.topics.push_back(std::move(rt));
  }
  if (!denied.empty()) errors += Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED");
  return {Frame(h, resp), false, errors};
}

Reply RequestHandler::HandleDeleteGroups(const RequestHeader& h, const DeleteGroupsRequest& req,
                                         const ClientInfo& client) {
  DeleteGroupsResponse resp;
  std::vector<std::string> denied;
  std::string errors;
  for (const auto& id : req.groups_names) {
    DeleteGroupsResponse::Result r;
    r.group_id = id;
    if (!Permitted(client, auth::ResourceType::kGroup, id, auth::kRead)) {
      r.error_code = kGroupAuthorizationFailed;
      denied.push_back(id);
    } else if (!ValidateGroupId(id).ok()) {
      r.error_code = kInvalidGroupId;
    } else {
      // A live group with members is refused; one known only from its offsets is deleted too.
      int16_t live = groups_.DeleteGroup(id);
      if (live == kNonEmptyGroup) {
        r.error_code = kNonEmptyGroup;
      } else {
        Status st = log_->offsets().DeleteGroup(id);
        if (st.code() == StatusCode::kNotFound) {
          r.error_code = live == kNone ? kNone : kGroupIdNotFound;
        } else if (!st.ok()) {
          r.error_code = kUnknownServerError;
          errors += fmt::format("DeleteGroups '{}': {}; ", id, st.ToString());
        }
      }
    }
    resp.results.push_back(std::move(r));
  }
  if (!denied.empty()) errors += Denied(client, h, "group", denied, "GROUP_AUTHORIZATION_FAILED");
  return {Frame(h, resp), false, errors};
}

Reply RequestHandler::HandleOffsetDelete(const RequestHeader& h, const OffsetDeleteRequest& req,
                                         const ClientInfo& client) {
  OffsetDeleteResponse resp;
  auto answer_all = [&](int16_t code) {
    resp.error_code = code;
    return Frame(h, resp);
  };
  if (!Permitted(client, auth::ResourceType::kGroup, req.group_id, auth::kRead)) {
    return {answer_all(kGroupAuthorizationFailed), false,
            Denied(client, h, "group", {req.group_id}, "GROUP_AUTHORIZATION_FAILED")};
  }
  if (!ValidateGroupId(req.group_id).ok()) return {answer_all(kInvalidGroupId)};
  auto live = groups_.Describe(req.group_id);
  auto committed = log_->offsets().Fetch(req.group_id);
  if (!committed.ok()) {
    return {answer_all(kUnknownServerError), false,
            "OffsetDelete: " + committed.status().ToString()};
  }
  bool has_members = live && !live->members.empty();
  if (!has_members && committed->empty()) return {answer_all(kGroupIdNotFound)};
  // As Kafka: a group with members may lose the offsets of topics none of them subscribes to;
  // only a consumer group's subscriptions can be read.
  std::set<std::string> subscribed;
  if (has_members) {
    if (live->protocol_type != "consumer") return {answer_all(kNonEmptyGroup)};
    for (const auto& m : live->members) {
      auto topics = SubscribedTopics(m.member_metadata);
      subscribed.insert(topics.begin(), topics.end());
    }
  }
  std::vector<TopicPartition> remove;
  std::vector<std::string> denied;
  for (const auto& t : req.topics) {
    OffsetDeleteResponse::Topic rt;
    rt.name = t.name;
    bool readable = Permitted(client, auth::ResourceType::kTopic, t.name, auth::kRead);
    if (!readable) denied.push_back(t.name);
    for (int32_t p : t.partitions) {
      int16_t code = kNone;
      if (!readable) {
        code = kTopicAuthorizationFailed;
      } else if (subscribed.count(t.name)) {
        code = kGroupSubscribedToTopic;
      } else {
        remove.push_back({t.name, PartitionId(p)});
      }
      rt.partitions.push_back({p, code});
    }
    resp.topics.push_back(std::move(rt));
  }
  std::string errors;
  if (!remove.empty()) {
    if (auto n = log_->offsets().DeleteOffsets(req.group_id, remove); !n.ok()) {
      errors = "OffsetDelete: " + n.status().ToString();
      return {answer_all(kUnknownServerError), false, errors};
    }
  }
  if (!denied.empty()) errors += Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED");
  return {Frame(h, resp), false, errors};
}

}  // namespace sluice::kafka
