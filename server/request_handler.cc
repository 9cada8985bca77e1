// Request dispatch and the metadata/admin APIs. Data-path APIs are in data_handlers.cc, group
// APIs in group_handlers.cc.
#include "server/request_handler.h"

#include <fmt/format.h>

#include "core/topic_config.h"
#include "server/protocol/api_keys.h"
#include "server/protocol/error_codes.h"

namespace sluice::kafka {

RequestHandler::RequestHandler(Log* log, const ServerOptions& options, std::string advertised_host,
                               int32_t advertised_port, Executor executor)
    : log_(log),
      options_(options),
      advertised_host_(std::move(advertised_host)),
      advertised_port_(advertised_port),
      fetch_waits_(std::move(executor)),
      groups_(options.groups),
      txns_(log) {
  // A marker moves the last stable offset: parked read_committed fetches answer now, not at the
  // next housekeeping poll.
  txns_.SetMarkerListener(
      [this](const TopicPartition& tp) { fetch_waits_.Notify(tp.topic, tp.partition.value()); });
}

void RequestHandler::Handle(std::string frame, const ClientInfo& client, Done done) {
  request_bytes_.fetch_add(static_cast<int64_t>(frame.size()) + 4, std::memory_order_relaxed);
  RequestHeader peeked;
  const int16_t api_key =
      !(client.sasl && client.sasl->raw_tokens) && PeekRequestHeader(frame, &peeked).ok()
          ? peeked.api_key
          : int16_t{-1};
  done = [this, api_key, start = std::chrono::steady_clock::now(),
          done = std::move(done)](Reply reply) {
    Account(api_key, start, reply);
    done(std::move(reply));
  };
  if (client.sasl && client.sasl->raw_tokens) {
    done(HandleRawSaslToken(frame, client));
    return;
  }
  auto decoded = DecodeRequest(frame, static_cast<size_t>(options_.max_decoded_request_bytes));
  if (!decoded.ok()) {
    RequestHeader h;
    if (decoded.status().code() == StatusCode::kOutOfRange && PeekRequestHeader(frame, &h).ok() &&
        h.api_key == static_cast<int16_t>(ApiKey::kApiVersions)) {
      // Version negotiation, not a client error (KIP-511): a client opens with the newest
      // ApiVersions it knows (Java 4.4: v5) and retries with the table's. Kafka's broker logs
      // nothing for it either; a line per Java connection only crowded the client-error log.
      done({UnsupportedApiVersionsFrame(h, sasl_enabled()), false, ""});
      return;
    }
    if (decoded.status().code() == StatusCode::kOutOfRange && PeekRequestHeader(frame, &h).ok()) {
      WireReader r(frame);
      (void)ReadRequestHeader(r, &h);  // for the client id; the fixed fields are already read
      // Not served: Kafka closes the connection too (its clients never send what ApiVersions
      // did not advertise; they report the API as unsupported themselves).
      done({"", true, UnservedRequestLine(h, client)});
      return;
    }
    done({"", true, fmt::format("{}; closing the connection", decoded.status().message())});
    return;
  }
  HandleDecoded(std::move(decoded).value(), client, std::move(done));
}

void RequestHandler::Account(int16_t api_key, std::chrono::steady_clock::time_point start,
                             const Reply& reply) {
  const size_t slot =
      api_key >= 0 && static_cast<size_t>(api_key) < kApiSlots ? api_key : kApiSlots;
  api_counters_[slot].requests.fetch_add(1, std::memory_order_relaxed);
  if (reply.close || !reply.error.empty()) {
    api_counters_[slot].errors.fetch_add(1, std::memory_order_relaxed);
  }
  response_bytes_.fetch_add(static_cast<int64_t>(reply.frame.size()), std::memory_order_relaxed);
  if (api_key == static_cast<int16_t>(ApiKey::kProduce)) {
    produce_latency_.Record(std::chrono::steady_clock::now() - start);
  } else if (api_key == static_cast<int16_t>(ApiKey::kFetch)) {
    fetch_latency_.Record(std::chrono::steady_clock::now() - start);
  }
}

void RequestHandler::AppendMetrics(PrometheusText& out) {
  auto api_label = [](size_t slot) {
    return slot == kApiSlots ? std::string("unknown")
                             : std::string(KafkaApiName(static_cast<int16_t>(slot)));
  };
  for (size_t i = 0; i <= kApiSlots; ++i) {
    const int64_t n = api_counters_[i].requests.load(std::memory_order_relaxed);
    if (n == 0) continue;
    out.Counter("sluice_server_requests_total", "Requests handled, by Kafka API",
                {{"api", api_label(i)}}, static_cast<double>(n));
  }
  for (size_t i = 0; i <= kApiSlots; ++i) {
    if (api_counters_[i].requests.load(std::memory_order_relaxed) == 0) continue;
    out.Counter("sluice_server_request_errors_total",
                "Requests answered with a client error or a closed connection, by Kafka API",
                {{"api", api_label(i)}},
                static_cast<double>(api_counters_[i].errors.load(std::memory_order_relaxed)));
  }
  out.Counter("sluice_server_request_bytes_total", "Bytes of request frames received", {},
              static_cast<double>(request_bytes_.load(std::memory_order_relaxed)));
  out.Counter("sluice_server_response_bytes_total", "Bytes of response frames sent", {},
              static_cast<double>(response_bytes_.load(std::memory_order_relaxed)));
  out.Histogram("sluice_server_produce_seconds", "Produce latency, request decoded to response", {},
                produce_latency_.Read());
  out.Histogram("sluice_server_fetch_seconds",
                "Fetch latency, request decoded to response (long polls included)", {},
                fetch_latency_.Read());
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  AppendLogMetrics(*log_, out);
}

std::string RequestHandler::UnservedRequestLine(const RequestHeader& h, const ClientInfo& client) {
  std::string client_id = h.client_id.value_or("");
  auto now = std::chrono::steady_clock::now();
  int64_t left_out = 0;
  {
    std::lock_guard<std::mutex> lock(unserved_mu_);
    if (unserved_.size() > 10000) unserved_.clear();  // bounded, whatever clients send
    auto [it, fresh] = unserved_.try_emplace({h.api_key, client_id, client.host});
    if (!fresh && now - it->second.last < std::chrono::minutes(1)) {
      ++it->second.suppressed;
      return "";
    }
    it->second.last = now;
    left_out = std::exchange(it->second.suppressed, 0);
  }
  const ApiInfo* api = FindApi(h.api_key);
  std::string served =
      api ? fmt::format("this broker serves {} v{}..v{}", api->name, api->min_version,
                        api->max_version)
          : std::string("this broker does not serve this API (ApiVersions lists what it serves)");
  return fmt::format(
      "{} (API key {}) v{} from client id '{}' at {} is not served: {}; closing the connection, "
      "as Kafka does{}",
      KafkaApiName(h.api_key), h.api_key, h.api_version, client_id, client.host, served,
      left_out > 0
          ? fmt::format(" ({} more such requests from this client in the last minute)", left_out)
          : std::string());
}

void RequestHandler::HandleDecoded(DecodedRequest req, const ClientInfo& client, Done done) {
  const RequestHeader& h = req.header;
  const bool sasl_api = h.api_key == static_cast<int16_t>(ApiKey::kSaslHandshake) ||
                        h.api_key == static_cast<int16_t>(ApiKey::kSaslAuthenticate);
  if (!sasl_enabled() && sasl_api) {
    // Exactly as before SASL existed: an API this listener does not serve.
    done({"", true,
          fmt::format("{} v{} is not served: SASL is not enabled on this listener; closing the "
                      "connection",
                      ApiName(h.api_key), h.api_version)});
    return;
  }
  if (sasl_enabled() && !client.sasl->authenticated && !sasl_api &&
      h.api_key != static_cast<int16_t>(ApiKey::kApiVersions)) {
    done({"", true,
          fmt::format("{} v{} before SASL authentication (only ApiVersions, SaslHandshake and "
                      "SaslAuthenticate are served until then); closing the connection",
                      ApiName(h.api_key), h.api_version)});
    return;
  }
  if (sasl_enabled() && !sasl_api) {
    if (auto refused = CheckGroupAccess(h, req.body, client)) return done(std::move(*refused));
  }
  switch (static_cast<ApiKey>(h.api_key)) {
#define SLUICE_API_SERVE(name, key, min_v, max_v, flex, type, handler) \
  case ApiKey::k##name:                                                \
    return Serve(&RequestHandler::handler, h, std::get<type>(req.body), client, std::move(done));
    SLUICE_KAFKA_APIS(SLUICE_API_SERVE)
#undef SLUICE_API_SERVE
  }
  done({"", true, fmt::format("API key {} has no handler; closing the connection", h.api_key)});
}

bool RequestHandler::Permitted(const ClientInfo& client, auth::ResourceType type,
                               std::string_view name, uint8_t ops) const {
  if (!sasl_enabled()) return true;
  return client.sasl && client.sasl->authenticated &&
         options_.credentials->Allowed(client.sasl->principal, type, name, ops);
}

bool RequestHandler::TopicVisible(const ClientInfo& client, std::string_view topic) const {
  using auth::ResourceType;
  return Permitted(client, ResourceType::kTopic, topic, auth::kRead) ||
         Permitted(client, ResourceType::kTopic, topic, auth::kWrite) ||
         Permitted(client, ResourceType::kTopic, topic, auth::kAdmin);
}

std::string RequestHandler::Denied(const ClientInfo& client, const RequestHeader& h,
                                   const char* what, const std::vector<std::string>& names,
                                   const char* error) {
  return fmt::format(
      "principal '{}' is not permitted {} v{} on {} '{}' ({}); grant it with "
      "`sluice user grant`",
      client.sasl ? client.sasl->principal : std::string(), ApiName(h.api_key), h.api_version, what,
      fmt::join(names, "', '"), error);
}

std::optional<Reply> RequestHandler::CheckGroupAccess(const RequestHeader& h,
                                                      const RequestBody& body,
                                                      const ClientInfo& client) {
  auto refuse = [&](auto resp, const std::string& group) -> std::optional<Reply> {
    if (Permitted(client, auth::ResourceType::kGroup, group, auth::kRead)) return std::nullopt;
    resp.error_code = kGroupAuthorizationFailed;
    return Reply{Frame(h, resp), false,
                 Denied(client, h, "group", {group}, "GROUP_AUTHORIZATION_FAILED")};
  };
  if (auto* r = std::get_if<JoinGroupRequest>(&body)) {
    JoinGroupResponse resp;
    resp.member_id = r->member_id;
    return refuse(std::move(resp), r->group_id);
  }
  if (auto* r = std::get_if<SyncGroupRequest>(&body))
    return refuse(SyncGroupResponse{}, r->group_id);
  if (auto* r = std::get_if<HeartbeatRequest>(&body))
    return refuse(HeartbeatResponse{}, r->group_id);
  if (auto* r = std::get_if<LeaveGroupRequest>(&body)) {
    return refuse(LeaveGroupResponse{}, r->group_id);
  }
  if (auto* r = std::get_if<FindCoordinatorRequest>(&body); r && r->key_type == 0) {
    FindCoordinatorResponse resp;
    resp.node_id = -1;
    resp.port = -1;
    return refuse(std::move(resp), r->key);
  }
  if (auto* r = std::get_if<FindCoordinatorRequest>(&body); r && r->key_type == 1) {
    if (auto why = CheckTxnIdAccess(h, r->key, client)) {
      FindCoordinatorResponse resp;
      resp.node_id = -1;
      resp.port = -1;
      resp.error_code = kTransactionalIdAuthorizationFailed;
      return Reply{Frame(h, resp), false, *why};
    }
  }
  return std::nullopt;
}

void RequestHandler::StartFetch(const RequestHeader& h, FetchRequest& req, const ClientInfo& client,
                                Done done) {
  std::vector<std::string> denied;
  for (const auto& t : req.topics) {
    if (!Permitted(client, auth::ResourceType::kTopic, t.topic, auth::kRead)) {
      denied.push_back(t.topic);
    }
  }
  if (!denied.empty()) {
    // Answered at once: the readable topics as they are now, the others refused.
    bool ignored = false;
    FetchResponse resp = BuildFetch(req, &ignored);
    for (size_t i = 0; i < req.topics.size(); ++i) {
      if (std::find(denied.begin(), denied.end(), req.topics[i].topic) == denied.end()) continue;
      auto& partitions = resp.topics[i].partitions;
      for (size_t j = 0; j < partitions.size(); ++j) {
        partitions[j] = FetchResponse::Partition{};
        partitions[j].partition_index = req.topics[i].partitions[j].partition;
        partitions[j].error_code = kTopicAuthorizationFailed;
      }
    }
    return done(
        {Frame(h, resp), false, Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED")});
  }
  auto fetch = std::make_shared<const FetchRequest>(std::move(req));
  auto wait = std::chrono::milliseconds(std::max(0, fetch->max_wait_ms));
  HandleFetch(h, std::move(fetch), std::chrono::steady_clock::now() + wait, std::move(done));
}

void RequestHandler::Tick(std::chrono::steady_clock::time_point now) {
  fetch_waits_.Tick(now);
  groups_.Tick(now);
  if (now >= next_txn_expiry_check_) {  // Kafka checks every 10 s; a second is cheap here
    next_txn_expiry_check_ = now + std::chrono::seconds(1);
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    txns_.AbortExpired(std::chrono::system_clock::now());
  }
}

void RequestHandler::Shutdown() {
  fetch_waits_.Shutdown();
  groups_.Shutdown();
}

Reply RequestHandler::HandleApiVersions(const RequestHeader& h, const ApiVersionsRequest& req) {
  return {Frame(h, ApiVersionsResponse::Supported(kNone, sasl_enabled()))};
}

int16_t RequestHandler::CreateTopicLocked(const std::string& topic, int32_t partitions,
                                          const TopicConfig* config, std::string* message) {
  std::lock_guard<std::mutex> lock(create_mu_);
  if (log_->HasTopic(topic)) {
    *message = fmt::format("topic '{}' already exists", topic);
    return kTopicAlreadyExists;
  }
  auto topics = log_->ListTopics();
  if (topics.ok() && static_cast<int64_t>(topics->size()) >= options_.max_topics) {
    *message = fmt::format(
        "the server already has {} topics (its limit, max_topics); delete "
        "topics or raise the limit",
        topics->size());
    return kPolicyViolation;
  }
  TopicConfig c = config ? *config : TopicConfig{};
  c.partitions = partitions;
  Status st = log_->CreateTopic(topic, c);
  if (st.ok()) return kNone;
  *message = st.message();
  if (st.code() == StatusCode::kAlreadyExists) return kTopicAlreadyExists;
  if (st.code() == StatusCode::kInvalidArgument) return kInvalidConfig;
  return kUnknownServerError;
}

Reply RequestHandler::HandleMetadata(const RequestHeader& h, const MetadataRequest& req,
                                     const ClientInfo& client) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  MetadataResponse resp;
  resp.brokers.push_back({options_.node_id, advertised_host_, advertised_port_, std::nullopt});
  resp.cluster_id = options_.cluster_id;
  resp.controller_id = options_.node_id;
  std::vector<std::string> names;
  if (req.topics) {
    names = *req.topics;
  } else if (auto all = log_->ListTopics(); all.ok()) {
    // Every topic = every topic this principal may see.
    for (std::string& n : *all) {
      if (TopicVisible(client, n)) names.push_back(std::move(n));
    }
  }
  std::vector<std::string> denied;
  bool may_create = options_.auto_create_topics &&
                    (h.api_version < 4 || req.allow_auto_topic_creation) && req.topics;
  std::string errors;
  for (const std::string& name : names) {
    MetadataResponse::Topic t;
    t.name = name;
    if (!ValidateTopicName(name).ok()) {
      t.error_code = kInvalidTopicException;
      resp.topics.push_back(std::move(t));
      continue;
    }
    if (!TopicVisible(client, name)) {
      t.error_code = kTopicAuthorizationFailed;
      denied.push_back(name);
      resp.topics.push_back(std::move(t));
      continue;
    }
    auto config = log_->DescribeTopic(name);
    // Auto-creation needs write or admin on the topic.
    if (!config.ok() && may_create &&
        (Permitted(client, auth::ResourceType::kTopic, name, auth::kWrite) ||
         Permitted(client, auth::ResourceType::kTopic, name, auth::kAdmin))) {
      std::string msg;
      int16_t code = CreateTopicLocked(name, options_.default_partitions, nullptr, &msg);
      if (code != kNone && code != kTopicAlreadyExists) {
        errors += fmt::format("auto-create of '{}' failed: {}; ", name, msg);
      }
      config = log_->DescribeTopic(name);
    }
    if (!config.ok()) {
      t.error_code = kUnknownTopicOrPartition;
      resp.topics.push_back(std::move(t));
      continue;
    }
    for (int32_t p = 0; p < config->partitions; ++p) {
      t.partitions.push_back({kNone, p, options_.node_id, {options_.node_id}, {options_.node_id}});
    }
    resp.topics.push_back(std::move(t));
  }
  if (!denied.empty()) errors += Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED");
  return {Frame(h, resp), false, errors};
}

namespace {

// Maps CreateTopics configs onto a TopicConfig through its Kafka-named key table
// (TopicConfig::Set); returns an error message for unknown or bad ones.
std::string ApplyConfigs(const std::vector<CreateTopicsRequest::Config>& configs, TopicConfig* c) {
  for (const auto& kv : configs) {
    if (!kv.value) continue;
    if (Status st = c->Set(kv.name, *kv.value); !st.ok()) return st.message();
  }
  Status st = c->Validate();
  return st.ok() ? std::string() : st.message();
}

}  // namespace

Reply RequestHandler::HandleCreateTopics(const RequestHeader& h, const CreateTopicsRequest& req,
                                         const ClientInfo& client) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  CreateTopicsResponse resp;
  std::string errors;
  for (const auto& t : req.topics) {
    CreateTopicsResponse::Result r;
    r.name = t.name;
    auto fail = [&](int16_t code, std::string msg) {
      r.error_code = code;
      r.error_message = std::move(msg);
    };
    int32_t partitions = t.num_partitions;
    if (partitions == -1 && !t.assignments.empty()) {
      partitions = static_cast<int32_t>(t.assignments.size());
    }
    if (partitions == -1) partitions = options_.default_partitions;
    TopicConfig config;
    std::string config_error = ApplyConfigs(t.configs, &config);
    if (!Permitted(client, auth::ResourceType::kTopic, t.name, auth::kAdmin)) {
      fail(kTopicAuthorizationFailed, "Topic authorization failed.");
      errors += Denied(client, h, "topic", {t.name}, "TOPIC_AUTHORIZATION_FAILED") + "; ";
      resp.topics.push_back(std::move(r));
      continue;
    }
    if (Status st = ValidateTopicName(t.name); !st.ok()) {
      fail(kInvalidTopicException, st.message());
    } else if (partitions < 1 || partitions > options_.max_partitions_per_topic) {
      fail(kInvalidPartitions, fmt::format("num_partitions {} is outside 1..{}", partitions,
                                           options_.max_partitions_per_topic));
    } else if (t.replication_factor != -1 && t.replication_factor != 1) {
      fail(kInvalidReplicationFactor,
           fmt::format("replication factor {} is impossible on this single-node server; use 1",
                       t.replication_factor));
    } else if (!config_error.empty()) {
      fail(kInvalidConfig, config_error);
    } else if (req.validate_only) {
      if (log_->HasTopic(t.name)) fail(kTopicAlreadyExists, "topic already exists");
    } else {
      std::string msg;
      int16_t code = CreateTopicLocked(t.name, partitions, &config, &msg);
      if (code != kNone) fail(code, msg);
    }
    if (r.error_code != kNone && r.error_code != kTopicAlreadyExists) {
      errors += fmt::format("CreateTopics '{}': {}; ", t.name, r.error_message.value_or(""));
    }
    resp.topics.push_back(std::move(r));
  }
  return {Frame(h, resp), false, errors};
}

Reply RequestHandler::HandleDeleteTopics(const RequestHeader& h, const DeleteTopicsRequest& req,
                                         const ClientInfo& client) {
  std::unique_lock<std::shared_mutex> lock(topics_mu_);
  DeleteTopicsResponse resp;
  std::string refused;
  for (const auto& name : req.topic_names) {
    int16_t code = kNone;
    std::string user;
    if (!Permitted(client, auth::ResourceType::kTopic, name, auth::kAdmin)) {
      code = kTopicAuthorizationFailed;
      refused += Denied(client, h, "topic", {name}, "TOPIC_AUTHORIZATION_FAILED") + "; ";
    } else if (!ValidateTopicName(name).ok()) {
      code = kInvalidTopicException;
    } else if (!log_->HasTopic(name)) {
      code = kUnknownTopicOrPartition;
    } else if (options_.topic_in_use && !(user = options_.topic_in_use(name)).empty()) {
      code = kPolicyViolation;
      refused += fmt::format(
          "DeleteTopics '{}' refused: the topic is in use by {}; stop it first; ", name, user);
    } else if (Status st = log_->DeleteTopic(name); !st.ok()) {
      code = st.code() == StatusCode::kNotFound ? kUnknownTopicOrPartition : kUnknownServerError;
    }
    resp.responses.push_back({name, code});
  }
  return {Frame(h, resp), false, refused};
}

Reply RequestHandler::HandleInitProducerId(const RequestHeader& h, const InitProducerIdRequest& req,
                                           const ClientInfo& client) {
  InitProducerIdResponse resp;
  // A transactional producer needs write on its transactional id (Kafka's WRITE on the
  // TransactionalId resource).
  if (req.transactional_id) {
    if (auto why = CheckTxnIdAccess(h, *req.transactional_id, client)) {
      resp.error_code = kTransactionalIdAuthorizationFailed;
      return {Frame(h, resp), false, *why};
    }
  }
  // An idempotent producer id is a cluster-wide resource: a principal that may write no topic
  // has no use for one (Kafka: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic). A
  // transactional one needs write on its transactional id only (checked above), as in Kafka.
  if (!req.transactional_id && sasl_enabled() &&
      !(client.sasl && client.sasl->authenticated &&
        options_.credentials->AllowedAnywhere(client.sasl->principal, auth::ResourceType::kTopic,
                                              auth::kWrite))) {
    resp.error_code = kClusterAuthorizationFailed;
    return {Frame(h, resp), false,
            Denied(client, h, "cluster", {"write on any topic"}, "CLUSTER_AUTHORIZATION_FAILED")};
  }
  if (req.transactional_id) {
    if (req.transactional_id->empty()) {
      resp.error_code = kInvalidRequest;
      return {Frame(h, resp), false, "InitProducerId with an empty transactional id"};
    }
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    auto r = txns_.InitProducerId(*req.transactional_id, req.transaction_timeout_ms);
    // PRODUCER_FENCED is InitProducerId v4+; older versions say INVALID_PRODUCER_EPOCH.
    resp.error_code =
        r.error == kProducerFenced ? static_cast<int16_t>(kInvalidProducerEpoch) : r.error;
    resp.producer_id = r.producer_id;
    resp.producer_epoch = r.epoch;
    return {Frame(h, resp), false,
            r.error == kNone
                ? ""
                : fmt::format("InitProducerId '{}': {}", *req.transactional_id, r.message)};
  }
  auto id = log_->AllocateProducerId();
  if (!id.ok()) {
    resp.error_code = kUnknownServerError;
    return {Frame(h, resp), false, id.status().ToString()};
  }
  resp.producer_id = *id;
  resp.producer_epoch = 0;
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleFindCoordinator(const RequestHeader& h,
                                            const FindCoordinatorRequest& req) {
  FindCoordinatorResponse resp;
  if (req.key_type != 0 && req.key_type != 1) {  // 0 group, 1 transaction: both are us
    resp.error_code = kInvalidRequest;
    resp.error_message = fmt::format("unknown coordinator key type {}", req.key_type);
    resp.node_id = -1;
    resp.port = -1;
    return {Frame(h, resp)};
  }
  resp.node_id = options_.node_id;
  resp.host = advertised_host_;
  resp.port = advertised_port_;
  return {Frame(h, resp)};
}

}  // namespace sluice::kafka
