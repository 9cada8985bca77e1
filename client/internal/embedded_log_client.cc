#include "client/internal/embedded_log_client.h"

#include <algorithm>
#include <set>
#include <utility>

#include "core/consumer.h"
#include "core/group_coordinator.h"
#include "core/group_member_lock.h"
#include "core/producer.h"
#include "core/topic_config.h"

namespace sluice::client::internal {
namespace {

class EmbeddedProducer final : public LogProducer {
 public:
  explicit EmbeddedProducer(std::unique_ptr<Producer> p) : p_(std::move(p)) {}
  Status Send(const std::string& topic, const Record& record, std::optional<PartitionId> partition,
              DeliveryCallback cb) override {
    return p_->Send(topic, record, partition, std::move(cb));
  }
  Status Flush() override { return p_->Flush(); }

  // The embedded log has no transaction coordinator: NewProducer refuses a transactional id, so
  // this producer is never transactional and the calls say so.
  Status InitTransactions() override { return NoTransactions(); }
  Status BeginTransaction() override { return NoTransactions(); }
  Status SendOffsetsToTransaction(const std::map<TopicPartition, Offset>&,
                                  const std::string&) override {
    return NoTransactions();
  }
  Status CommitTransaction() override { return NoTransactions(); }
  Status AbortTransaction() override { return NoTransactions(); }

 private:
  static Status NoTransactions() {
    return InvalidArgument(
        "this producer is not transactional: transactions need a broker (connect with "
        "--bootstrap-server to 'sluice serve' or Kafka) and ProducerConfig::transactional_id");
  }
  std::unique_ptr<Producer> p_;
};

std::vector<TopicPartition> Minus(const std::vector<TopicPartition>& a,
                                  const std::vector<TopicPartition>& b) {
  std::set<TopicPartition> bs(b.begin(), b.end());
  std::vector<TopicPartition> out;
  for (const auto& tp : a) {
    if (!bs.contains(tp)) out.push_back(tp);
  }
  return out;
}

// A core Consumer. Rebalance callbacks: core's Consumer changes its assignment inside Poll (it
// releases revoked partitions before it may be granted new ones), so the callbacks report the
// difference between the assignment before and after each Poll, revoked first.
class EmbeddedConsumer final : public LogConsumer {
 public:
  EmbeddedConsumer(Log* log, ConsumerConfig config, std::unique_ptr<Consumer> c)
      : log_(log), config_(std::move(config)), c_(std::move(c)) {}
  ~EmbeddedConsumer() override { Close(); }

  Status Assign(const std::vector<TopicPartition>& tps) override {
    for (const auto& tp : tps)
      SLUICE_RETURN_IF_ERROR(log_->GetPartition(tp.topic, tp.partition).status());
    return c_->Assign(tps);
  }
  Status Subscribe(const std::vector<std::string>& topics) override {
    for (const auto& t : topics) SLUICE_RETURN_IF_ERROR(log_->DescribeTopic(t).status());
    subscribed_ = true;
    return c_->Subscribe(topics);
  }
  std::vector<TopicPartition> assignment() override { return c_->assignment(); }
  Status Seek(const TopicPartition& tp, Offset offset) override { return c_->Seek(tp, offset); }
  Status SeekToBeginning(const std::vector<TopicPartition>& tps) override {
    return c_->SeekToBeginning(tps);
  }
  Status SeekToEnd(const std::vector<TopicPartition>& tps) override { return c_->SeekToEnd(tps); }
  Status SeekToTime(const std::vector<TopicPartition>& tps, Timestamp ts) override {
    return c_->SeekToTime(tps, ts);
  }
  Result<Offset> Position(const TopicPartition& tp) override { return c_->Position(tp); }

  Result<ConsumerRecords> Poll(std::chrono::milliseconds timeout) override {
    auto polled = c_->Poll(timeout);
    if (subscribed_) NotifyRebalance();
    if (!polled.ok()) return polled.status();
    auto held = std::make_shared<sluice::ConsumerRecords>(std::move(polled).value());
    ConsumerRecords out;
    auto& recs = out.mutable_records();
    recs.reserve(held->size());
    for (const auto& r : *held) {
      ConsumedRecord c{.tp = r.tp,
                       .offset = r.record.offset,
                       .timestamp = r.record.timestamp,
                       .key = r.record.key_opt(),
                       .value = r.record.value_opt()};
      if (r.record.header_count > 0) {
        auto h = r.record.ParseHeaders();
        if (!h.ok()) return h.status();
        c.headers = std::move(h).value();
      }
      recs.push_back(std::move(c));
    }
    out.KeepAlive(std::move(held));
    return out;
  }

  Status Commit() override { return c_->Commit(); }
  Status Commit(const std::map<TopicPartition, Offset>& offsets) override {
    return c_->Commit(offsets);
  }
  Result<std::map<TopicPartition, Offset>> Committed(
      const std::vector<TopicPartition>& tps) override {
    if (config_.group_id.empty()) return InvalidArgument("Committed needs a group id");
    std::map<TopicPartition, Offset> out;
    for (const auto& tp : tps) {
      auto c = log_->offsets().Fetch(config_.group_id, tp);
      if (!c.ok()) return c.status();
      if (c->has_value()) out[tp] = (*c)->offset;
    }
    return out;
  }
  Status CommitWithMetadata(const std::map<TopicPartition, OffsetAndMetadata>& offsets) override {
    if (config_.group_id.empty()) return InvalidArgument("Commit needs a group id");
    std::map<TopicPartition, CommittedOffset> c;
    const Timestamp now = Now();
    for (const auto& [tp, om] : offsets) c[tp] = CommittedOffset{om.offset, om.metadata, now};
    return log_->offsets().Commit(config_.group_id, c);
  }
  Result<std::map<TopicPartition, OffsetAndMetadata>> CommittedWithMetadata(
      const std::vector<TopicPartition>& tps) override {
    if (config_.group_id.empty()) return InvalidArgument("Committed needs a group id");
    std::map<TopicPartition, OffsetAndMetadata> out;
    for (const auto& tp : tps) {
      auto c = log_->offsets().Fetch(config_.group_id, tp);
      if (!c.ok()) return c.status();
      if (c->has_value()) out[tp] = OffsetAndMetadata{(*c)->offset, (*c)->metadata};
    }
    return out;
  }
  // Reports the partitions given up before leaving, as Kafka's consumer does on close.
  void Close() override {
    if (closed_) return;
    closed_ = true;
    if (subscribed_ && !last_.empty() && config_.on_revoked) config_.on_revoked(last_);
    last_.clear();
    c_->Close();
  }

 private:
  void NotifyRebalance() {
    std::vector<TopicPartition> now = c_->assignment();
    std::sort(now.begin(), now.end());
    auto revoked = Minus(last_, now);
    auto assigned = Minus(now, last_);
    last_ = std::move(now);
    if (!revoked.empty() && config_.on_revoked) config_.on_revoked(revoked);
    if (!assigned.empty() && config_.on_assigned) config_.on_assigned(assigned);
  }

  Log* log_;
  ConsumerConfig config_;
  std::unique_ptr<Consumer> c_;
  bool subscribed_ = false;
  bool closed_ = false;
  std::vector<TopicPartition> last_;
};

class EmbeddedLogClient final : public LogClient {
 public:
  EmbeddedLogClient(std::unique_ptr<Log> owned, Log* log) : owned_(std::move(owned)), log_(log) {}
  ~EmbeddedLogClient() override { Close().IgnoreError(); }
  Status Close() override {
    if (!owned_ || closed_) return Status::Ok();
    closed_ = true;
    return owned_->Close();
  }
  std::string_view kind() const override { return "embedded"; }

  Result<std::unique_ptr<LogProducer>> NewProducer(const ProducerConfig& config) override {
    if (!config.transactional_id.empty()) {
      return InvalidArgument(
          "transactional id '{}': transactions need a broker; the embedded log has no transaction "
          "coordinator (connect with --bootstrap-server to 'sluice serve' or Kafka)",
          config.transactional_id);
    }
    ProducerOptions o{.acks = config.acks,
                      .batch_bytes = config.batch_bytes,
                      .linger = config.linger,
                      .idempotent = config.idempotent,
                      .compression = config.compression};
    auto p = Producer::Create(log_, o);
    if (!p.ok()) return p.status();
    return std::unique_ptr<LogProducer>(new EmbeddedProducer(std::move(p).value()));
  }

  Result<std::unique_ptr<LogConsumer>> NewConsumer(const ConsumerConfig& config) override {
    ConsumerOptions o{.group_id = config.group_id,
                      .auto_offset_reset = config.auto_offset_reset,
                      .max_poll_records = config.max_poll_records,
                      .max_partition_fetch_bytes = config.max_partition_fetch_bytes,
                      .session_timeout = config.session_timeout,
                      .isolation = config.isolation};
    auto c = Consumer::Create(log_, o);
    if (!c.ok()) return c.status();
    return std::unique_ptr<LogConsumer>(new EmbeddedConsumer(log_, config, std::move(c).value()));
  }

  Status CreateTopic(const std::string& name, const TopicSpec& spec) override {
    TopicConfig c{.partitions = spec.partitions,
                  .retention_ms = spec.retention_ms,
                  .retention_bytes = spec.retention_bytes,
                  .segment_bytes = spec.segment_bytes,
                  .max_message_bytes = spec.max_message_bytes};
    for (const auto& [k, v] : spec.configs) SLUICE_RETURN_IF_ERROR(c.Set(k, v));
    return log_->CreateTopic(name, c);
  }
  // Drops the topic's committed offsets with it, as a Kafka broker does, so a topic created
  // again under the name does not inherit them.
  Status DeleteTopic(const std::string& name) override {
    SLUICE_RETURN_IF_ERROR(log_->DeleteTopic(name));
    return log_->offsets().DeleteTopic(name);
  }
  Result<std::vector<std::string>> ListTopics() override { return log_->ListTopics(); }

  Result<TopicDescription> DescribeTopic(const std::string& name) override {
    auto config = log_->DescribeTopic(name);
    if (!config.ok()) return config.status();
    TopicDescription d{.name = name, .configs_known = true};
    for (auto& [k, v] : config->KafkaConfigs()) d.configs[k] = v;
    for (int32_t i = 0; i < config->partitions; ++i) {
      auto p = Fresh(name, PartitionId(i));
      if (!p.ok()) return p.status();
      PartitionStats st = (*p)->Stats();
      const RecoveryReport& report = (*p)->recovery_report();
      d.partitions.push_back({PartitionId(i), (*p)->log_start_offset(), (*p)->high_watermark(),
                              static_cast<int64_t>(st.bytes), static_cast<int64_t>(st.segments),
                              report.damage, report.lost_begin});
    }
    return d;
  }

  Result<int32_t> PartitionCount(const std::string& topic) override {
    auto config = log_->DescribeTopic(topic);
    if (!config.ok()) return config.status();
    return config->partitions;
  }

  Result<std::vector<std::string>> ListGroups() override {
    auto stored = log_->offsets().ListGroups();
    if (!stored.ok()) return stored.status();
    std::set<std::string> all(stored->begin(), stored->end());
    for (const auto& [g, members] : log_->groups().Describe()) all.insert(g);
    return std::vector<std::string>(all.begin(), all.end());
  }

  Result<GroupDescription> DescribeGroup(const std::string& group) override {
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
    GroupDescription d{.group_id = group, .state = "Empty"};
    auto live = log_->groups().Describe();
    if (auto it = live.find(group); it != live.end() && !it->second.empty()) {
      d.state = "Stable";
      for (const auto& m : it->second) {
        d.members.push_back({.member_id = m.member_id, .assignment = m.owned});
      }
    }
    auto committed = log_->offsets().Fetch(group);
    if (!committed.ok()) return committed.status();
    for (const auto& [tp, c] : *committed) {
      d.committed[tp] = c.offset;
      if (!c.metadata.empty()) d.metadata[tp] = c.metadata;
    }
    if (d.members.empty() && d.committed.empty()) {
      return NotFound("group '{}' has no members and no committed offsets", group);
    }
    return d;
  }

  using LogClient::ResetGroupOffsets;
  Status ResetGroupOffsets(const std::string& group,
                           const std::map<TopicPartition, Offset>& offsets,
                           const std::string& metadata) override {
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
    auto live = log_->groups().Describe();
    if (auto it = live.find(group); it != live.end() && !it->second.empty()) {
      return Unavailable(
          "group '{}' has {} active member(s); stop its consumers (or wait for their session "
          "timeout) before resetting its offsets",
          group, it->second.size());
    }
    std::map<TopicPartition, CommittedOffset> c;
    for (const auto& [tp, off] : offsets) {
      SLUICE_RETURN_IF_ERROR(log_->GetPartition(tp.topic, tp.partition).status());
      c[tp] = CommittedOffset{.offset = off, .metadata = metadata, .commit_time = Now()};
    }
    return log_->offsets().Commit(group, c);
  }

  Result<std::map<TopicPartition, Offset>> ListOffsets(const std::vector<TopicPartition>& tps,
                                                       OffsetSpec spec) override {
    std::map<TopicPartition, Offset> out;
    for (const auto& tp : tps) {
      auto p = Fresh(tp.topic, tp.partition);
      if (!p.ok()) return p.status();
      switch (spec.kind) {
        case OffsetSpec::Kind::kEarliest:
          out[tp] = (*p)->log_start_offset();
          break;
        case OffsetSpec::Kind::kLatest:
          out[tp] = (*p)->high_watermark();
          break;
        case OffsetSpec::Kind::kTime: {
          auto o = (*p)->OffsetForTime(spec.time);
          if (!o.ok()) return o.status();
          out[tp] = *o;
          break;
        }
      }
    }
    return out;
  }

  Status AlterTopicConfig(const std::string& topic,
                          const std::map<std::string, std::string>& set) override {
    SLUICE_ASSIGN_OR_RETURN(TopicConfig c, log_->DescribeTopic(topic));
    for (const auto& [k, v] : set) SLUICE_RETURN_IF_ERROR(c.Set(k, v));
    SLUICE_RETURN_IF_ERROR(c.Validate());
    return log_->AlterTopicConfig(topic, c);
  }

  Result<Offset> DeleteRecords(const TopicPartition& tp, Offset before) override {
    SLUICE_ASSIGN_OR_RETURN(Partition * p, log_->GetPartition(tp.topic, tp.partition));
    return p->DeleteRecords(before);
  }

  Status DeleteGroup(const std::string& group) override {
    SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
    auto live = log_->groups().Describe();
    if (auto it = live.find(group); it != live.end() && !it->second.empty()) {
      return Unavailable(
          "group '{}' has {} active member(s); stop its consumers (or wait for their session "
          "timeout) before deleting it",
          group, it->second.size());
    }
    // A reader of the group in another process holds its member lock; hold it while deleting so
    // none joins meanwhile.
    auto lock = GroupMemberLock::Acquire(*log_, group, "sluice group delete");
    if (!lock.ok()) {
      if (lock.status().code() != StatusCode::kUnavailable) return lock.status();
      return Unavailable("group '{}' has an active member ({}); stop it before deleting the group",
                         group, lock.status().message());
    }
    Status st = log_->offsets().DeleteGroup(group);
    if (st.code() == StatusCode::kNotFound) {
      return NotFound("group '{}' has no members and no committed offsets", group);
    }
    return st;
  }

 private:
  // The partition, with a read-only log's view brought up to what the writer has appended.
  Result<Partition*> Fresh(const std::string& topic, PartitionId partition) {
    auto p = log_->GetPartition(topic, partition);
    if (!p.ok()) return p.status();
    if (log_->read_only()) SLUICE_RETURN_IF_ERROR((*p)->Refresh());
    return p;
  }

  std::unique_ptr<Log> owned_;
  Log* log_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<LogClient>> OpenEmbeddedLogClient(const ClientOptions& options) {
  if (options.log != nullptr) {
    return std::unique_ptr<LogClient>(new EmbeddedLogClient(nullptr, options.log));
  }
  LogOptions lo;
  lo.data_dir = options.data_dir;
  lo.lock_holder_label = options.client_id;
  lo.read_only = options.read_only;
  lo.lock_wait = options.lock_wait;
  lo.fs = options.fs;
  auto log = Log::Open(lo);
  if (!log.ok()) return log.status();
  Log* raw = log->get();
  return std::unique_ptr<LogClient>(new EmbeddedLogClient(std::move(log).value(), raw));
}

}  // namespace sluice::client::internal
