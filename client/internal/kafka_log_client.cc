#include "client/internal/kafka_log_client.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "core/partitioner.h"
#include "core/topic_config.h"

namespace sluice::client::internal {
namespace {

// The one place librdkafka error codes become a Status. `what` names the operation and its
// object ("create topic 'x'").
Status KafkaStatus(rd_kafka_resp_err_t err, std::string_view what, std::string_view detail = "") {
  std::string msg = detail.empty() ? rd_kafka_err2str(err) : std::string(detail);
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return Status::Ok();
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return NotFound("{}: {} (create the topic first, e.g. 'sluice topic create')", what, msg);
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
      return NotFound("{}: {}", what, msg);
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
      return Unavailable(
          "{}: {} (the group has active members; stop its consumers, or wait for their session "
          "timeout, and retry)",
          what, msg);
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return AlreadyExists("{}: {}", what, msg);
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
      return InvalidArgument("{}: {}", what, msg);
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      return OutOfRange("{}: {}", what, msg);
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
      return Unavailable("{}: {} (is the broker running and reachable? retry)", what, msg);
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
      return Aborted("{}: {} (this member left the group; rejoin and retry)", what, msg);
    default:
      return Internal("{}: {} (Kafka error {})", what, msg, static_cast<int>(err));
  }
}

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

PartitionList MakeList(const std::vector<TopicPartition>& tps, int64_t offset) {
  PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
  for (const auto& tp : tps) {
    rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition.value())->offset =
        offset;
  }
  return l;
}

// Attaches `metadata` to a list element (librdkafka frees it with the list).
void SetMetadata(rd_kafka_topic_partition_t* e, const std::string& metadata) {
  if (metadata.empty()) return;
  e->metadata = malloc(metadata.size());
  SLUICE_CHECK(e->metadata != nullptr);
  memcpy(e->metadata, metadata.data(), metadata.size());
  e->metadata_size = metadata.size();
}

std::string GetMetadata(const rd_kafka_topic_partition_t& e) {
  if (e.metadata == nullptr || e.metadata_size == 0) return std::string();
  return std::string(static_cast<const char*>(e.metadata), e.metadata_size);
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* l) {
  std::vector<TopicPartition> out;
  if (l == nullptr) return out;
  for (int i = 0; i < l->cnt; ++i) {
    out.push_back({l->elems[i].topic, PartitionId(l->elems[i].partition)});
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Builds a configuration for one handle: bootstrap servers, client id, never auto-create topics
// (a topic exists once CreateTopic says so, as in the embedded log), then `extra`, then the
// user's kafka_config.
Result<rd_kafka_conf_t*> NewConf(const ClientOptions& options,
                                 const std::vector<std::pair<std::string, std::string>>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> kv = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"allow.auto.create.topics", "false"},
      {"socket.timeout.ms", std::to_string(options.request_timeout.count())},
  };
  kv.insert(kv.end(), extra.begin(), extra.end());
  kv.insert(kv.end(), options.kafka_config.begin(), options.kafka_config.end());
  char err[512];
  for (const auto& [k, v] : kv) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgument("Kafka client property {}={}: {}", k, v, err);
    }
  }
  return conf;
}

Result<rd_kafka_t*> NewHandle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgument("cannot create a Kafka client: {}", err);
  }
  return rk;
}

// Partition counts of every topic the cluster has (one all-topics Metadata request, which never
// auto-creates anything).
Result<std::map<std::string, int32_t>> FetchTopics(rd_kafka_t* rk, const ClientOptions& options) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(options.request_timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaStatus(err, fmt::format("metadata from '{}'", options.bootstrap_servers));
  }
  std::map<std::string, int32_t> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    out[md->topics[i].topic] = md->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Status MissingTopic(const std::string& topic) {
  return NotFound("topic '{}' does not exist; create it with 'sluice topic create {}'", topic,
                  topic);
}

Status CheckPartition(const std::map<std::string, int32_t>& topics, const TopicPartition& tp) {
  auto it = topics.find(tp.topic);
  if (it == topics.end()) return MissingTopic(tp.topic);
  if (tp.partition.value() < 0 || tp.partition.value() >= it->second) {
    return NotFound("topic '{}' has {} partition{}; partition {} does not exist", tp.topic,
                    it->second, it->second == 1 ? "" : "s", tp.partition);
  }
  return Status::Ok();
}

// --- Producer ---------------------------------------------------------------------------------

struct DeliveryState {
  DeliveryCallback cb;
};

class KafkaProducer final : public LogProducer {
 public:
  KafkaProducer(ClientOptions options) : options_(std::move(options)) {}
  ~KafkaProducer() override {
    if (rk_ == nullptr) return;
    Flush().IgnoreError();
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    rd_kafka_destroy(rk_);
  }

  Status Init(const ProducerConfig& config) {
    batch_bytes_ = config.batch_bytes;
    transactional_id_ = config.transactional_id;
    const bool transactional = !config.transactional_id.empty();
    const bool idempotent = config.idempotent || transactional;
    const char* acks = config.acks == Acks::kNone ? "0" : config.acks == Acks::kAll ? "all" : "1";
    if (idempotent && config.acks != Acks::kAll) {
      // Kafka requires acks=all for idempotence; the embedded log accepts any level.
      acks = "all";
    }
    std::vector<std::pair<std::string, std::string>> props = {
        {"acks", acks},
        {"enable.idempotence", idempotent ? "true" : "false"},
        {"batch.size", std::to_string(config.batch_bytes)},
        {"linger.ms", std::to_string(config.linger.count())},
        {"partitioner", "murmur2_random"},
        {"compression.codec", codec::Name(static_cast<int>(config.compression))}};
    if (transactional) {
      props.push_back({"transactional.id", config.transactional_id});
      props.push_back(
          {"transaction.timeout.ms", std::to_string(config.transaction_timeout.count())});
    }
    auto conf = NewConf(options_, props);
    if (!conf.ok()) return conf.status();
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_dr_msg_cb(*conf, &KafkaProducer::OnDelivery);
    auto rk = NewHandle(RD_KAFKA_PRODUCER, *conf);
    if (!rk.ok()) return rk.status();
    rk_ = *rk;
    poller_ = std::thread([this] {
      while (!stop_) rd_kafka_poll(rk_, 50);
    });
    return Status::Ok();
  }

  Status Send(const std::string& topic, const Record& record, std::optional<PartitionId> partition,
              DeliveryCallback cb) override {
    SLUICE_ASSIGN_OR_RETURN(int32_t count, Partitions(topic));
    int32_t p = RD_KAFKA_PARTITION_UA;
    if (partition.has_value()) {
      if (partition->value() < 0 || partition->value() >= count) {
        return NotFound("topic '{}' has {} partition{}; partition {} does not exist", topic, count,
                        count == 1 ? "" : "s", *partition);
      }
      p = partition->value();
    } else if (record.key.has_value()) {
      // The Java client's function, computed here so both implementations agree by construction.
      p = PartitionForKey(*record.key, count).value();
    } else {
      p = StickyPartition(topic, count, record.value ? record.value->size() : 0);
    }
    rd_kafka_headers_t* headers = nullptr;
    if (!record.headers.empty()) {
      headers = rd_kafka_headers_new(record.headers.size());
      for (const auto& h : record.headers) {
        rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()),
                            h.value ? h.value->data() : nullptr,
                            h.value ? static_cast<ssize_t>(h.value->size()) : 0);
      }
    }
    DeliveryState* state = cb ? new DeliveryState{std::move(cb)} : nullptr;
    const char* key = record.key ? record.key->data() : nullptr;
    size_t key_len = record.key ? record.key->size() : 0;
    char* value = record.value ? const_cast<char*>(record.value->data()) : nullptr;
    size_t value_len = record.value ? record.value->size() : 0;
    int64_t ts = record.timestamp == kNoTimestamp ? 0 : record.timestamp.value();
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_TIMESTAMP(ts),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(state), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      delete state;
      return KafkaStatus(err, fmt::format("produce to topic '{}'", topic));
    }
    return Status::Ok();
  }

  Status Flush() override {
    while (rd_kafka_outq_len(rk_) > 0) {
      rd_kafka_resp_err_t err = rd_kafka_flush(rk_, 1000);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__TIMED_OUT) {
        return KafkaStatus(err, "flush");
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    Status s = std::move(first_error_);
    first_error_ = Status::Ok();
    return s;
  }

  // Transactions: librdkafka's transactional API, one call each.
  Status InitTransactions() override {
    SLUICE_RETURN_IF_ERROR(CheckTransactional());
    return TxnStatus(rd_kafka_init_transactions(rk_, TimeoutMs()), "init transactions");
  }
  Status BeginTransaction() override {
    SLUICE_RETURN_IF_ERROR(CheckTransactional());
    return TxnStatus(rd_kafka_begin_transaction(rk_), "begin transaction");
  }
  Status SendOffsetsToTransaction(const std::map<TopicPartition, Offset>& offsets,
                                  const std::string& group_id) override {
    SLUICE_RETURN_IF_ERROR(CheckTransactional());
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group_id));
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& [tp, off] : offsets) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value())
          ->offset = off.value();
    }
    rd_kafka_consumer_group_metadata_t* group =
        rd_kafka_consumer_group_metadata_new(group_id.c_str());
    rd_kafka_error_t* err =
        rd_kafka_send_offsets_to_transaction(rk_, list.get(), group, TimeoutMs());
    rd_kafka_consumer_group_metadata_destroy(group);
    return TxnStatus(err, fmt::format("send offsets of group '{}' to the transaction", group_id));
  }
  Status CommitTransaction() override {
    SLUICE_RETURN_IF_ERROR(CheckTransactional());
    rd_kafka_error_t* err = rd_kafka_commit_transaction(rk_, TimeoutMs());
    if (err != nullptr && rd_kafka_error_txn_requires_abort(err)) {
      // Nothing of it became visible; abort so the producer can begin the next one.
      std::string why = rd_kafka_error_string(err);
      rd_kafka_error_destroy(err);
      SLUICE_RETURN_IF_ERROR(AbortTransaction());
      return Aborted("transaction of '{}' failed and was aborted: {}; retry it", transactional_id_,
                     why);
    }
    return TxnStatus(err, "commit transaction");
  }
  Status AbortTransaction() override {
    SLUICE_RETURN_IF_ERROR(CheckTransactional());
    return TxnStatus(rd_kafka_abort_transaction(rk_, TimeoutMs()), "abort transaction");
  }

 private:
  Status CheckTransactional() const {
    if (!transactional_id_.empty()) return Status::Ok();
    return InvalidArgument(
        "this producer is not transactional; create it with ProducerConfig::transactional_id");
  }
  int TimeoutMs() const { return static_cast<int>(options_.request_timeout.count()); }
  // The one place a librdkafka transaction error becomes a Status (frees `err`).
  Status TxnStatus(rd_kafka_error_t* err, std::string_view what) const {
    if (err == nullptr) return Status::Ok();
    const rd_kafka_resp_err_t code = rd_kafka_error_code(err);
    std::string msg = rd_kafka_error_string(err);
    const bool fatal = rd_kafka_error_is_fatal(err);
    const bool abort = rd_kafka_error_txn_requires_abort(err);
    rd_kafka_error_destroy(err);
    if (code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
        code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH) {
      return Aborted("{}: another instance with transactional id '{}' started; stop this one ({})",
                     what, transactional_id_, msg);
    }
    if (fatal) {
      return Aborted("{}: fatal producer error, create a new producer ({})", what, msg);
    }
    if (abort) {
      return Aborted("{}: the transaction must be aborted ({}); abort it and retry", what, msg);
    }
    return KafkaStatus(code, what, msg);
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaProducer*>(opaque);
    std::unique_ptr<DeliveryState> state(static_cast<DeliveryState*>(m->_private));
    Status s;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      s = KafkaStatus(m->err, fmt::format("deliver to topic '{}' partition {}",
                                          rd_kafka_topic_name(m->rkt), m->partition));
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->first_error_.ok()) self->first_error_ = s;
    }
    if (state) {
      state->cb(s, TopicPartition{rd_kafka_topic_name(m->rkt), PartitionId(m->partition)},
                Offset(m->offset));
    }
  }

  // The topic's partition count, from a cache filled by one Metadata request per unknown topic.
  Result<int32_t> Partitions(const std::string& topic) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = partitions_.find(topic); it != partitions_.end()) return it->second;
    }
    auto topics = FetchTopics(rk_, options_);
    if (!topics.ok()) return topics.status();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [t, n] : *topics) partitions_[t] = n;
    if (auto it = partitions_.find(topic); it != partitions_.end()) return it->second;
    return MissingTopic(topic);
  }

  ClientOptions options_;
  // Unkeyed records stick to one partition per topic until about a batch's bytes went there,
  // then move on, as the embedded producer does (librdkafka's own sticky partitioner moves on by
  // time, so a fast writer could fill one partition).
  int32_t StickyPartition(const std::string& topic, int32_t count, size_t bytes) {
    std::lock_guard lock(sticky_mu_);
    Sticky& s = sticky_[topic];
    const int32_t p = s.partition % count;
    s.bytes += bytes;
    if (s.bytes >= batch_bytes_) {
      s.bytes = 0;
      s.partition = (p + 1) % count;
    }
    return p;
  }
  struct Sticky {
    int32_t partition = 0;
    size_t bytes = 0;
  };
  std::mutex sticky_mu_;
  std::map<std::string, Sticky> sticky_;
  size_t batch_bytes_ = 256 << 10;
  std::string transactional_id_;  // empty: not transactional

  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  std::mutex mu_;
  Status first_error_;
  std::map<std::string, int32_t> partitions_;
};

// --- Consumer ---------------------------------------------------------------------------------

// Messages returned by one Poll; destroyed with the ConsumerRecords that holds them.
struct PolledMessages {
  std::vector<rd_kafka_message_t*> messages;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<TopicPartition>> tps;
  ~PolledMessages() {
    for (auto* m : messages) rd_kafka_message_destroy(m);
  }
  // The TopicPartition of a message. Consecutive messages mostly share one partition, so the
  // last one is remembered by librdkafka's topic handle instead of building a key string and
  // searching the map for every record.
  const TopicPartition* Intern(const rd_kafka_message_t* m) {
    if (m->rkt == last_rkt_ && m->partition == last_partition_) return last_;
    auto& slot = tps[{rd_kafka_topic_name(m->rkt), m->partition}];
    if (!slot) {
      slot = std::make_unique<TopicPartition>(
          TopicPartition{rd_kafka_topic_name(m->rkt), PartitionId(m->partition)});
    }
    last_rkt_ = m->rkt;
    last_partition_ = m->partition;
    last_ = slot.get();
    return last_;
  }

 private:
  const rd_kafka_topic_t* last_rkt_ = nullptr;
  int32_t last_partition_ = -1;
  const TopicPartition* last_ = nullptr;
};

class KafkaConsumer final : public LogConsumer {
 public:
  KafkaConsumer(ClientOptions options, ConsumerConfig config)
      : options_(std::move(options)), config_(std::move(config)) {}
  ~KafkaConsumer() override {
    if (rk_ == nullptr) return;
    Close();
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    rd_kafka_destroy(rk_);
  }

  Status Init() {
    static std::atomic<int> counter{0};
    // librdkafka's consumer needs a group id even for Assign; a consumer without one gets a
    // private id that never joins a group or commits (Commit refuses without group_id).
    std::string group = config_.group_id.empty()
                            ? fmt::format("sluice-assign-{}-{}", ::getpid(), counter++)
                            : config_.group_id;
    const char* reset = config_.auto_offset_reset == AutoOffsetReset::kEarliest ? "earliest"
                        : config_.auto_offset_reset == AutoOffsetReset::kLatest ? "latest"
                                                                                : "error";
    auto conf = NewConf(
        options_,
        {{"group.id", group},
         {"enable.auto.commit", "false"},
         {"auto.offset.reset", reset},
         {"session.timeout.ms", std::to_string(config_.session_timeout.count())},
         {"heartbeat.interval.ms",
          std::to_string(std::max<int64_t>(config_.session_timeout.count() / 4, 1))},
         {"max.partition.fetch.bytes", std::to_string(config_.max_partition_fetch_bytes)},
         {"isolation.level",
          config_.isolation == Isolation::kReadCommitted ? "read_committed" : "read_uncommitted"},
         {"fetch.wait.max.ms", "100"}});
    if (!conf.ok()) return conf.status();
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_rebalance_cb(*conf, &KafkaConsumer::OnRebalance);
    auto rk = NewHandle(RD_KAFKA_CONSUMER, *conf);
    if (!rk.ok()) return rk.status();
    rk_ = *rk;
    rd_kafka_poll_set_consumer(rk_);
    queue_ = rd_kafka_queue_get_consumer(rk_);
    return Status::Ok();
  }

  Status Assign(const std::vector<TopicPartition>& tps) override {
    if (subscribed_) return InvalidArgument("consumer is subscribed; cannot also Assign");
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    for (const auto& tp : tps) SLUICE_RETURN_IF_ERROR(CheckPartition(topics, tp));
    // RD_KAFKA_OFFSET_STORED: the committed offset, else auto_offset_reset.
    auto list = MakeList(tps, RD_KAFKA_OFFSET_STORED);
    positions_.clear();
    return KafkaStatus(rd_kafka_assign(rk_, list.get()), "assign");
  }

  Status AssignAt(const std::map<TopicPartition, Offset>& positions) override {
    if (subscribed_) return InvalidArgument("consumer is subscribed; cannot also Assign");
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    for (const auto& [tp, off] : positions) {
      SLUICE_RETURN_IF_ERROR(CheckPartition(topics, tp));
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value())
          ->offset = off.value();
    }
    positions_ = positions;
    return KafkaStatus(rd_kafka_assign(rk_, list.get()), "assign");
  }

  Status Subscribe(const std::vector<std::string>& topics) override {
    if (config_.group_id.empty()) {
      return InvalidArgument("Subscribe needs a group id (ConsumerConfig::group_id)");
    }
    SLUICE_ASSIGN_OR_RETURN(auto known, FetchTopics(rk_, options_));
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) {
      if (!known.contains(t)) return MissingTopic(t);
      rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    subscribed_ = true;
    return KafkaStatus(rd_kafka_subscribe(rk_, list.get()), "subscribe");
  }

  std::vector<TopicPartition> assignment() override {
    rd_kafka_topic_partition_list_t* l = nullptr;
    if (rd_kafka_assignment(rk_, &l) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
    PartitionList owned(l);
    return FromList(l);
  }

  Status Seek(const TopicPartition& tp, Offset offset) override { return SeekTo({{tp, offset}}); }
  Status SeekToBeginning(const std::vector<TopicPartition>& tps) override {
    return SeekToWatermark(tps, true);
  }
  Status SeekToEnd(const std::vector<TopicPartition>& tps) override {
    return SeekToWatermark(tps, false);
  }
  Status SeekToTime(const std::vector<TopicPartition>& tps, Timestamp ts) override {
    auto list = MakeList(tps, ts.value());
    SLUICE_RETURN_IF_ERROR(
        KafkaStatus(rd_kafka_offsets_for_times(rk_, list.get(), Timeout()), "offsets for times"));
    std::map<TopicPartition, Offset> to;
    for (int i = 0; i < list->cnt; ++i) {
      const auto& e = list->elems[i];
      TopicPartition tp{e.topic, PartitionId(e.partition)};
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(e.err, fmt::format("offsets for times of {}-{}", e.topic, e.partition)));
      if (e.offset >= 0) {
        to[tp] = Offset(e.offset);
      } else {  // no record at or after ts: the end
        SLUICE_ASSIGN_OR_RETURN(to[tp], Watermark(tp, false));
      }
    }
    return SeekTo(to);
  }

  Result<Offset> Position(const TopicPartition& tp) override {
    if (auto it = positions_.find(tp); it != positions_.end()) {
      // librdkafka's own position also steps over what it never hands out (transaction markers,
      // records of aborted transactions), so a read_committed consumer reaches the end offset.
      // It is invalid after a seek until something is consumed, so it never moves back.
      return std::max(it->second, LibraryPosition(tp));
    }
    auto owned = assignment();
    if (!std::binary_search(owned.begin(), owned.end(), tp)) {
      return InvalidArgument("{}-{} is not assigned to this consumer", tp.topic, tp.partition);
    }
    // Nothing consumed or sought yet: where the first fetch starts.
    if (!config_.group_id.empty()) {
      auto c = Committed({tp});
      if (!c.ok()) return c.status();
      if (auto it = c->find(tp); it != c->end()) return it->second;
    }
    return Watermark(tp, config_.auto_offset_reset != AutoOffsetReset::kLatest);
  }

  Result<ConsumerRecords> Poll(std::chrono::milliseconds timeout) override {
    if (!pending_error_.ok()) return std::exchange(pending_error_, Status::Ok());
    auto held = std::make_shared<PolledMessages>();
    // The first record waits up to `timeout`; the rest are taken in batches of what librdkafka
    // has already fetched (one queue operation per batch instead of per record).
    rd_kafka_message_t* first = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
    std::vector<rd_kafka_message_t*> batch;
    auto take = [&](rd_kafka_message_t* m) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        held->messages.push_back(m);
        return;
      }
      rd_kafka_resp_err_t err = m->err;
      Status s = KafkaStatus(err, "consume", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      if (err != RD_KAFKA_RESP_ERR__PARTITION_EOF && pending_error_.ok()) pending_error_ = s;
    };
    if (first != nullptr) {
      take(first);
      while (held->messages.size() < config_.max_poll_records && pending_error_.ok()) {
        batch.resize(config_.max_poll_records - held->messages.size());
        ssize_t k = rd_kafka_consume_batch_queue(queue_, 0, batch.data(), batch.size());
        if (k <= 0) break;
        for (ssize_t i = 0; i < k; ++i) take(batch[i]);
      }
    }
    // An error is returned at once when nothing was read before it, else by the next Poll.
    if (held->messages.empty() && !pending_error_.ok()) {
      return std::exchange(pending_error_, Status::Ok());
    }
    ConsumerRecords out;
    auto& recs = out.mutable_records();
    recs.reserve(held->messages.size());
    // Positions are updated once per partition after the loop (a map search per record cost
    // more than the rest of the conversion).
    const TopicPartition* run_tp = nullptr;
    Offset run_next;
    for (rd_kafka_message_t* m : held->messages) {
      const TopicPartition* tp = held->Intern(m);
      if (tp != run_tp) {
        if (run_tp != nullptr) positions_[*run_tp] = run_next;
        run_tp = tp;
      }
      run_next = Offset(m->offset + 1);
      ConsumedRecord r{.tp = tp,
                       .offset = Offset(m->offset),
                       .timestamp = Timestamp(rd_kafka_message_timestamp(m, nullptr))};
      if (m->key != nullptr) r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) {
        r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          Header h{.key = name};
          if (val != nullptr) h.value = std::string(static_cast<const char*>(val), size);
          r.headers.push_back(std::move(h));
        }
      }
      recs.push_back(std::move(r));
    }
    if (run_tp != nullptr) positions_[*run_tp] = run_next;
    out.KeepAlive(std::move(held));
    return out;
  }

  Status Commit() override {
    if (config_.group_id.empty()) return InvalidArgument("Commit needs a group id");
    std::map<TopicPartition, Offset> offsets;
    for (const auto& tp : assignment()) {
      SLUICE_ASSIGN_OR_RETURN(offsets[tp], Position(tp));
    }
    if (offsets.empty()) return Status::Ok();
    return Commit(offsets);
  }

  Status Commit(const std::map<TopicPartition, Offset>& offsets) override {
    std::map<TopicPartition, OffsetAndMetadata> with;
    for (const auto& [tp, off] : offsets) with[tp] = OffsetAndMetadata{off, std::string()};
    return CommitWithMetadata(with);
  }

  Status CommitWithMetadata(const std::map<TopicPartition, OffsetAndMetadata>& offsets) override {
    if (config_.group_id.empty()) return InvalidArgument("Commit needs a group id");
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& [tp, om] : offsets) {
      rd_kafka_topic_partition_t* e =
          rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value());
      e->offset = om.offset.value();
      SetMetadata(e, om.metadata);
    }
    SLUICE_RETURN_IF_ERROR(KafkaStatus(rd_kafka_commit(rk_, list.get(), 0),
                                       fmt::format("commit of group '{}'", config_.group_id)));
    for (int i = 0; i < list->cnt; ++i) {
      SLUICE_RETURN_IF_ERROR(KafkaStatus(
          list->elems[i].err, fmt::format("commit of {}-{} in group '{}'", list->elems[i].topic,
                                          list->elems[i].partition, config_.group_id)));
    }
    return Status::Ok();
  }

  Result<std::map<TopicPartition, Offset>> Committed(
      const std::vector<TopicPartition>& tps) override {
    SLUICE_ASSIGN_OR_RETURN(auto with, CommittedWithMetadata(tps));
    std::map<TopicPartition, Offset> out;
    for (const auto& [tp, om] : with) out[tp] = om.offset;
    return out;
  }

  Result<std::map<TopicPartition, OffsetAndMetadata>> CommittedWithMetadata(
      const std::vector<TopicPartition>& tps) override {
    if (config_.group_id.empty()) return InvalidArgument("Committed needs a group id");
    auto list = MakeList(tps, RD_KAFKA_OFFSET_INVALID);
    SLUICE_RETURN_IF_ERROR(KafkaStatus(rd_kafka_committed(rk_, list.get(), Timeout()),
                                       fmt::format("committed offsets of '{}'", config_.group_id)));
    std::map<TopicPartition, OffsetAndMetadata> out;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& e = list->elems[i];
      if (e.offset >= 0) {
        out[{e.topic, PartitionId(e.partition)}] =
            OffsetAndMetadata{Offset(e.offset), GetMetadata(e)};
      }
    }
    return out;
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    rd_kafka_consumer_close(rk_);
  }

 private:
  int Timeout() const { return static_cast<int>(options_.request_timeout.count()); }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    auto tps = FromList(parts);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (const auto& tp : tps) self->positions_.erase(tp);
      if (self->config_.on_assigned && !tps.empty()) self->config_.on_assigned(tps);
      rd_kafka_assign(rk, parts);
    } else {
      if (self->config_.on_revoked && !tps.empty()) self->config_.on_revoked(tps);
      for (const auto& tp : tps) self->positions_.erase(tp);
      rd_kafka_assign(rk, nullptr);
    }
  }

  // librdkafka's application position of `tp` (the offset after what it consumed), or -1.
  Offset LibraryPosition(const TopicPartition& tp) {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value());
    if (rd_kafka_position(rk_, list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return Offset(-1);
    const int64_t at = list.get()->elems[0].offset;
    return Offset(at >= 0 ? at : -1);
  }

  Result<Offset> Watermark(const TopicPartition& tp, bool low) {
    int64_t lo = 0, hi = 0;
    SLUICE_RETURN_IF_ERROR(
        KafkaStatus(rd_kafka_query_watermark_offsets(rk_, tp.topic.c_str(), tp.partition.value(),
                                                     &lo, &hi, Timeout()),
                    fmt::format("offsets of {}-{}", tp.topic, tp.partition)));
    return Offset(low ? lo : hi);
  }

  Status SeekToWatermark(const std::vector<TopicPartition>& tps, bool low) {
    std::map<TopicPartition, Offset> to;
    for (const auto& tp : tps) {
      SLUICE_ASSIGN_OR_RETURN(to[tp], Watermark(tp, low));
    }
    return SeekTo(to);
  }

  // Seeks by assigning the whole current assignment again with explicit start offsets:
  // librdkafka's seek refuses partitions whose first fetch has not started yet (ERR__STATE), which
  // is exactly when a caller seeks after Assign. The other partitions restart at their known
  // position, or at the committed offset if nothing was returned from them yet.
  Status SeekTo(const std::map<TopicPartition, Offset>& to) {
    auto owned = assignment();
    for (const auto& [tp, off] : to) {
      if (!std::binary_search(owned.begin(), owned.end(), tp)) {
        return InvalidArgument("{}-{} is not assigned to this consumer", tp.topic, tp.partition);
      }
    }
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(owned.size())));
    for (const auto& tp : owned) {
      int64_t offset = RD_KAFKA_OFFSET_STORED;
      if (auto it = to.find(tp); it != to.end()) {
        offset = it->second.value();
      } else if (auto pos = positions_.find(tp); pos != positions_.end()) {
        offset = pos->second.value();
      }
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value())
          ->offset = offset;
    }
    SLUICE_RETURN_IF_ERROR(KafkaStatus(rd_kafka_assign(rk_, list.get()), "seek"));
    for (const auto& [tp, off] : to) positions_[tp] = off;
    return Status::Ok();
  }

  ClientOptions options_;
  ConsumerConfig config_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer queue (records and rebalance events)
  bool subscribed_ = false;
  bool closed_ = false;
  Status pending_error_;
  // Next offset per partition once known here (consumed or sought); librdkafka's own position is
  // unset until the first record of a partition arrives.
  std::map<TopicPartition, Offset> positions_;
};

// --- Admin ------------------------------------------------------------------------------------

// Runs one admin request and returns its result event (destroyed by the caller).
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

std::string StateName(rd_kafka_consumer_group_state_t s) {
  switch (s) {
    case RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE:
      return "PreparingRebalance";
    case RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE:
      return "CompletingRebalance";
    case RD_KAFKA_CONSUMER_GROUP_STATE_STABLE:
      return "Stable";
    case RD_KAFKA_CONSUMER_GROUP_STATE_DEAD:
      return "Dead";
    case RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY:
      return "Empty";
    default:
      return "Unknown";
  }
}

class KafkaLogClient final : public LogClient {
 public:
  explicit KafkaLogClient(ClientOptions options) : options_(std::move(options)) {}
  ~KafkaLogClient() override {
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  Status Init() {
    auto conf = NewConf(options_, {});
    if (!conf.ok()) return conf.status();
    auto rk = NewHandle(RD_KAFKA_PRODUCER, *conf);
    if (!rk.ok()) return rk.status();
    rk_ = *rk;
    queue_ = rd_kafka_queue_new(rk_);
    auto topics = FetchTopics(rk_, options_);
    if (!topics.ok()) {
      return Unavailable(
          "no Kafka broker answered at '{}' within {} ms ({}); check the address and that the "
          "broker (e.g. 'sluice serve') is running",
          options_.bootstrap_servers, options_.request_timeout.count(), topics.status().message());
    }
    return Status::Ok();
  }

  std::string_view kind() const override { return "kafka"; }
  // Nothing is buffered here: each LogProducer flushes itself when destroyed.
  Status Close() override { return Status::Ok(); }

  Result<std::unique_ptr<LogProducer>> NewProducer(const ProducerConfig& config) override {
    if (config.batch_bytes < 1024) return InvalidArgument("batch_bytes must be at least 1024");
    auto p = std::make_unique<KafkaProducer>(options_);
    SLUICE_RETURN_IF_ERROR(p->Init(config));
    return std::unique_ptr<LogProducer>(std::move(p));
  }

  Result<std::unique_ptr<LogConsumer>> NewConsumer(const ConsumerConfig& config) override {
    if (config.max_poll_records == 0) return InvalidArgument("max_poll_records must be positive");
    if (!config.group_id.empty()) SLUICE_RETURN_IF_ERROR(ValidateGroupId(config.group_id));
    auto c = std::make_unique<KafkaConsumer>(options_, config);
    SLUICE_RETURN_IF_ERROR(c->Init());
    return std::unique_ptr<LogConsumer>(std::move(c));
  }

  Status CreateTopic(const std::string& name, const TopicSpec& spec) override {
    SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
    TopicConfig check{.partitions = spec.partitions,
                      .retention_ms = spec.retention_ms,
                      .retention_bytes = spec.retention_bytes,
                      .segment_bytes = spec.segment_bytes,
                      .max_message_bytes = spec.max_message_bytes};
    for (const auto& [k, v] : spec.configs) SLUICE_RETURN_IF_ERROR(check.Set(k, v));
    SLUICE_RETURN_IF_ERROR(check.Validate());
    char err[512];
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(name.c_str(), spec.partitions, -1, err, sizeof(err));
    if (nt == nullptr) return InvalidArgument("create topic '{}': {}", name, err);
    std::pair<const char*, std::string> configs[] = {
        {"retention.ms", std::to_string(spec.retention_ms)},
        {"retention.bytes", std::to_string(spec.retention_bytes)},
        {"segment.bytes", std::to_string(spec.segment_bytes)},
        {"max.message.bytes", std::to_string(spec.max_message_bytes)}};
    for (const auto& [k, v] : configs) rd_kafka_NewTopic_set_config(nt, k, v.c_str());
    for (const auto& [k, v] : spec.configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_CreateTopics(rk_, &nt, 1, AdminOptions(RD_KAFKA_ADMIN_OP_CREATETOPICS), queue_);
    rd_kafka_NewTopic_destroy(nt);
    std::string what = fmt::format("create topic '{}'", name);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_CREATETOPICS_RESULT, what));
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      const char* msg = rd_kafka_topic_result_error_string(res[i]);
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(rd_kafka_topic_result_error(res[i]), what, msg ? msg : ""));
    }
    return Status::Ok();
  }

  Status DeleteTopic(const std::string& name) override {
    SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    if (!topics.contains(name)) return NotFound("topic '{}' does not exist", name);
    rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(name.c_str());
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_DeleteTopics(rk_, &dt, 1, AdminOptions(RD_KAFKA_ADMIN_OP_DELETETOPICS), queue_);
    rd_kafka_DeleteTopic_destroy(dt);
    std::string what = fmt::format("delete topic '{}'", name);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_DELETETOPICS_RESULT, what));
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      const char* msg = rd_kafka_topic_result_error_string(res[i]);
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(rd_kafka_topic_result_error(res[i]), what, msg ? msg : ""));
    }
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListTopics() override {
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    std::vector<std::string> out;
    for (const auto& [t, n] : topics) {
      if (!t.starts_with("__")) out.push_back(t);
    }
    return out;
  }

  Result<TopicDescription> DescribeTopic(const std::string& name) override {
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    auto it = topics.find(name);
    if (it == topics.end()) return MissingTopic(name);
    TopicDescription d{.name = name};
    for (int32_t p = 0; p < it->second; ++p) {
      int64_t lo = 0, hi = 0;
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(rd_kafka_query_watermark_offsets(rk_, name.c_str(), p, &lo, &hi, Timeout()),
                      fmt::format("offsets of {}-{}", name, p)));
      d.partitions.push_back({PartitionId(p), Offset(lo), Offset(hi)});
    }
    SLUICE_RETURN_IF_ERROR(DescribeConfigs(&d));
    return d;
  }

  Result<int32_t> PartitionCount(const std::string& topic) override {
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    auto it = topics.find(topic);
    if (it == topics.end()) return MissingTopic(topic);
    return it->second;
  }

  Result<std::vector<std::string>> ListGroups() override {
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_ListConsumerGroups(rk_, AdminOptions(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS), queue_);
    SLUICE_ASSIGN_OR_RETURN(Event ev,
                            Wait(RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, "list groups"));
    const auto* result = rd_kafka_event_ListConsumerGroups_result(ev.get());
    size_t n = 0, nerr = 0;
    const rd_kafka_ConsumerGroupListing_t** valid =
        rd_kafka_ListConsumerGroups_result_valid(result, &n);
    const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &nerr);
    if (nerr > 0) {
      return KafkaStatus(rd_kafka_error_code(errors[0]), "list groups",
                         rd_kafka_error_string(errors[0]));
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
      out.emplace_back(rd_kafka_ConsumerGroupListing_group_id(valid[i]));
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<GroupDescription> DescribeGroup(const std::string& group) override {
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
    GroupDescription d{.group_id = group};
    {
      std::lock_guard<std::mutex> lock(admin_mu_);
      const char* groups[] = {group.c_str()};
      rd_kafka_DescribeConsumerGroups(
          rk_, groups, 1, AdminOptions(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS), queue_);
      std::string what = fmt::format("describe group '{}'", group);
      SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, what));
      size_t n = 0;
      const rd_kafka_ConsumerGroupDescription_t** descs =
          rd_kafka_DescribeConsumerGroups_result_groups(
              rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
      if (n != 1) return Internal("{}: the broker answered for {} groups", what, n);
      const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(descs[0]);
      if (e != nullptr) return KafkaStatus(rd_kafka_error_code(e), what, rd_kafka_error_string(e));
      d.state = StateName(rd_kafka_ConsumerGroupDescription_state(descs[0]));
      size_t members = rd_kafka_ConsumerGroupDescription_member_count(descs[0]);
      for (size_t i = 0; i < members; ++i) {
        const auto* m = rd_kafka_ConsumerGroupDescription_member(descs[0], i);
        const auto* a = rd_kafka_MemberDescription_assignment(m);
        d.members.push_back({.member_id = rd_kafka_MemberDescription_consumer_id(m),
                             .client_id = rd_kafka_MemberDescription_client_id(m),
                             .assignment = FromList(rd_kafka_MemberAssignment_partitions(a))});
      }
    }
    SLUICE_ASSIGN_OR_RETURN(auto committed, GroupOffsets(group));
    for (auto& [tp, om] : committed) {
      d.committed[tp] = om.offset;
      if (!om.metadata.empty()) d.metadata[tp] = std::move(om.metadata);
    }
    if (d.members.empty() && d.committed.empty()) {
      return NotFound("group '{}' has no members and no committed offsets", group);
    }
    if (d.members.empty()) d.state = "Empty";
    return d;
  }

  using LogClient::ResetGroupOffsets;
  Status ResetGroupOffsets(const std::string& group,
                           const std::map<TopicPartition, Offset>& offsets,
                           const std::string& metadata) override {
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
    auto d = DescribeGroup(group);
    if (!d.ok() && d.status().code() != StatusCode::kNotFound) return d.status();
    if (d.ok() && !d->members.empty()) {
      return Unavailable(
          "group '{}' has {} active member(s); stop its consumers (or wait for their session "
          "timeout) before resetting its offsets",
          group, d->members.size());
    }
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& [tp, off] : offsets) {
      SLUICE_RETURN_IF_ERROR(CheckPartition(topics, tp));
      rd_kafka_topic_partition_t* e =
          rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value());
      e->offset = off.value();
      SetMetadata(e, metadata);
    }
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_AlterConsumerGroupOffsets_t* req =
        rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
    rd_kafka_AlterConsumerGroupOffsets(
        rk_, &req, 1, AdminOptions(RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS), queue_);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    std::string what = fmt::format("reset offsets of group '{}'", group);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT, what));
    size_t n = 0;
    const rd_kafka_group_result_t** res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      SLUICE_RETURN_IF_ERROR(ErrorStatusCopy(rd_kafka_group_result_error(res[i]), what));
      const auto* parts = rd_kafka_group_result_partitions(res[i]);
      for (int j = 0; parts != nullptr && j < parts->cnt; ++j) {
        SLUICE_RETURN_IF_ERROR(KafkaStatus(parts->elems[j].err, what));
      }
    }
    return Status::Ok();
  }

  // AlterConfigs (librdkafka 2.0 has no IncrementalAlterConfigs) replaces a topic's whole set:
  // the topic's own values (DYNAMIC_TOPIC_CONFIG in DescribeConfigs) are sent along with `set`,
  // so the keys not named keep their values.
  Status AlterTopicConfig(const std::string& topic,
                          const std::map<std::string, std::string>& set) override {
    SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
    TopicConfig check;
    for (const auto& [k, v] : set) SLUICE_RETURN_IF_ERROR(check.Set(k, v));
    SLUICE_RETURN_IF_ERROR(check.Validate());
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    if (!topics.contains(topic)) return MissingTopic(topic);
    std::map<std::string, std::string> own;
    SLUICE_RETURN_IF_ERROR(DescribeConfigs(topic, nullptr, &own));
    for (const auto& [k, v] : set) own[k] = v;
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_ConfigResource_t* res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    for (const auto& [k, v] : own) rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
    rd_kafka_AlterConfigs(rk_, &res, 1, AdminOptions(RD_KAFKA_ADMIN_OP_ALTERCONFIGS), queue_);
    rd_kafka_ConfigResource_destroy(res);
    std::string what = fmt::format("alter configs of topic '{}'", topic);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, what));
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      const char* msg = rd_kafka_ConfigResource_error_string(rs[i]);
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(rd_kafka_ConfigResource_error(rs[i]), what, msg ? msg : ""));
    }
    return Status::Ok();
  }

  Result<Offset> DeleteRecords(const TopicPartition& tp, Offset before) override {
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    SLUICE_RETURN_IF_ERROR(CheckPartition(topics, tp));
    if (before < Offset(0)) {
      return InvalidArgument("delete records of {}-{} before {}: the offset must be 0 or more",
                             tp.topic, tp.partition, before);
    }
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value())->offset =
        before.value();
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_DeleteRecords_t* req = rd_kafka_DeleteRecords_new(list.get());
    rd_kafka_DeleteRecords(rk_, &req, 1, AdminOptions(RD_KAFKA_ADMIN_OP_DELETERECORDS), queue_);
    rd_kafka_DeleteRecords_destroy(req);
    std::string what =
        fmt::format("delete records of {}-{} before {}", tp.topic, tp.partition, before);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_DELETERECORDS_RESULT, what));
    const rd_kafka_topic_partition_list_t* parts =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev.get()));
    if (parts == nullptr || parts->cnt != 1)
      return Internal("{}: no answer for the partition", what);
    SLUICE_RETURN_IF_ERROR(KafkaStatus(parts->elems[0].err, what));
    return Offset(parts->elems[0].offset);
  }

  Status DeleteGroup(const std::string& group) override {
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_DeleteGroup_t* req = rd_kafka_DeleteGroup_new(group.c_str());
    rd_kafka_DeleteGroups(rk_, &req, 1, AdminOptions(RD_KAFKA_ADMIN_OP_DELETEGROUPS), queue_);
    rd_kafka_DeleteGroup_destroy(req);
    std::string what = fmt::format("delete group '{}'", group);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_DELETEGROUPS_RESULT, what));
    size_t n = 0;
    const rd_kafka_group_result_t** res =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      SLUICE_RETURN_IF_ERROR(ErrorStatusCopy(rd_kafka_group_result_error(res[i]), what));
    }
    return Status::Ok();
  }

  Result<std::map<TopicPartition, Offset>> ListOffsets(const std::vector<TopicPartition>& tps,
                                                       OffsetSpec spec) override {
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    std::map<TopicPartition, Offset> out;
    for (const auto& tp : tps) {
      SLUICE_RETURN_IF_ERROR(CheckPartition(topics, tp));
      int64_t lo = 0, hi = 0;
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(rd_kafka_query_watermark_offsets(rk_, tp.topic.c_str(), tp.partition.value(),
                                                       &lo, &hi, Timeout()),
                      fmt::format("offsets of {}-{}", tp.topic, tp.partition)));
      out[tp] = Offset(spec.kind == OffsetSpec::Kind::kEarliest ? lo : hi);
    }
    if (spec.kind != OffsetSpec::Kind::kTime || tps.empty()) return out;
    auto list = MakeList(tps, spec.time.value());
    SLUICE_RETURN_IF_ERROR(
        KafkaStatus(rd_kafka_offsets_for_times(rk_, list.get(), Timeout()), "offsets for times"));
    for (int i = 0; i < list->cnt; ++i) {
      const auto& e = list->elems[i];
      SLUICE_RETURN_IF_ERROR(
          KafkaStatus(e.err, fmt::format("offsets for times of {}-{}", e.topic, e.partition)));
      // -1: no record at or after the time; the end offset (already in `out`) answers.
      if (e.offset >= 0) out[{e.topic, PartitionId(e.partition)}] = Offset(e.offset);
    }
    return out;
  }

 private:
  int Timeout() const { return static_cast<int>(options_.request_timeout.count()); }

  static Status ErrorStatusCopy(const rd_kafka_error_t* e, std::string_view what) {
    if (e == nullptr) return Status::Ok();
    return KafkaStatus(rd_kafka_error_code(e), what, rd_kafka_error_string(e));
  }

  // Options with the request timeout; owned by admin_options_ (one per call, under admin_mu_).
  rd_kafka_AdminOptions_t* AdminOptions(rd_kafka_admin_op_t op) {
    admin_options_.reset(rd_kafka_AdminOptions_new(rk_, op));
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(admin_options_.get(), Timeout(), err, sizeof(err));
    return admin_options_.get();
  }

  // Waits for the result of the admin request just issued. REQUIRES: admin_mu_ held.
  // `raw`, if given, receives the request's error code.
  Result<Event> Wait(rd_kafka_event_type_t type, std::string_view what,
                     rd_kafka_resp_err_t* raw = nullptr) {
    auto deadline =
        std::chrono::steady_clock::now() + options_.request_timeout + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      Event ev(rd_kafka_queue_poll(queue_, 200));
      if (!ev) continue;
      if (rd_kafka_event_type(ev.get()) != type) continue;
      rd_kafka_resp_err_t err = rd_kafka_event_error(ev.get());
      if (raw != nullptr) *raw = err;
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* msg = rd_kafka_event_error_string(ev.get());
        return KafkaStatus(err, what, msg ? msg : "");
      }
      return ev;
    }
    return Unavailable("{}: no answer from '{}' within {} ms", what, options_.bootstrap_servers,
                       options_.request_timeout.count());
  }

  // The group's committed offsets in every partition of every topic (asked for explicitly: a
  // null partition list is not answered with "all" by every broker version).
  Result<std::map<TopicPartition, OffsetAndMetadata>> GroupOffsets(const std::string& group) {
    SLUICE_ASSIGN_OR_RETURN(auto topics, FetchTopics(rk_, options_));
    PartitionList all(rd_kafka_topic_partition_list_new(0));
    for (const auto& [t, n] : topics) {
      for (int32_t p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(all.get(), t.c_str(), p);
    }
    if (all->cnt == 0) return std::map<TopicPartition, OffsetAndMetadata>{};
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_ListConsumerGroupOffsets_t* req =
        rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), all.get());
    rd_kafka_ListConsumerGroupOffsets(
        rk_, &req, 1, AdminOptions(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS), queue_);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    std::string what = fmt::format("committed offsets of group '{}'", group);
    SLUICE_ASSIGN_OR_RETURN(Event ev, Wait(RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, what));
    size_t n = 0;
    const rd_kafka_group_result_t** res = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
    std::map<TopicPartition, OffsetAndMetadata> out;
    for (size_t i = 0; i < n; ++i) {
      SLUICE_RETURN_IF_ERROR(ErrorStatusCopy(rd_kafka_group_result_error(res[i]), what));
      const auto* parts = rd_kafka_group_result_partitions(res[i]);
      for (int j = 0; parts != nullptr && j < parts->cnt; ++j) {
        const rd_kafka_topic_partition_t& e = parts->elems[j];
        if (e.offset >= 0) {
          out[{e.topic, PartitionId(e.partition)}] =
              OffsetAndMetadata{Offset(e.offset), GetMetadata(e)};
        }
      }
    }
    return out;
  }

  // Fills d->configs from DescribeConfigs. A broker that does not serve it (sluice serve until
  // issue 12) leaves configs_known false; any other error is returned.
  Status DescribeConfigs(TopicDescription* d) { return DescribeConfigs(d->name, d, nullptr); }
  // As above; `own` (if not null) gets the topic's own values (source DYNAMIC_TOPIC_CONFIG), the
  // ones an AlterConfigs must repeat to keep.
  Status DescribeConfigs(const std::string& topic, TopicDescription* d,
                         std::map<std::string, std::string>* own) {
    std::lock_guard<std::mutex> lock(admin_mu_);
    rd_kafka_ConfigResource_t* res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_DescribeConfigs(rk_, &res, 1, AdminOptions(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS), queue_);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_resp_err_t raw = RD_KAFKA_RESP_ERR_NO_ERROR;
    auto ev = Wait(RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, "describe configs", &raw);
    if (!ev.ok()) {
      bool unsupported = raw == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
                         raw == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION;
      return unsupported ? Status::Ok() : ev.status();
    }
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(
        rd_kafka_event_DescribeConfigs_result(ev->get()), &n);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_ConfigResource_error(rs[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
      size_t cnt = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &cnt);
      for (size_t j = 0; j < cnt; ++j) {
        const char* v = rd_kafka_ConfigEntry_value(entries[j]);
        const char* name = rd_kafka_ConfigEntry_name(entries[j]);
        if (d != nullptr) d->configs[name] = v ? v : "";
        if (own != nullptr && v != nullptr &&
            rd_kafka_ConfigEntry_source(entries[j]) ==
                RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) {
          (*own)[name] = v;
        }
      }
      if (d != nullptr) d->configs_known = true;
    }
    return Status::Ok();
  }

  ClientOptions options_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::mutex admin_mu_;
  struct AdminOptionsDeleter {
    void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  };
  std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter> admin_options_;
};

}  // namespace

Result<std::unique_ptr<LogClient>> OpenKafkaLogClient(const ClientOptions& options) {
  auto c = std::make_unique<KafkaLogClient>(options);
  SLUICE_RETURN_IF_ERROR(c->Init());
  return std::unique_ptr<LogClient>(std::move(c));
}

}  // namespace sluice::client::internal
