// LogClient: one interface for "a log" — produce, consume (assign or group member), admin — with
// two implementations: the embedded core log in this process, and the Kafka protocol through
// librdkafka (to `sluice serve` or any Kafka cluster). See client/README.md.
//
// Thread safety: LogClient and LogProducer are thread-safe; a LogConsumer is used by one thread at
// a time. Producers and consumers must be destroyed before the client that made them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/consumer.h"
#include "core/log.h"
#include "core/offset_store.h"
#include "core/partition.h"
#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::client {

struct ClientOptions {
  // Embedded: the data directory, opened as the writer (Log::Open). Empty: not embedded.
  std::string data_dir;
  // Embedded over a Log the caller opened and keeps open longer than the client (a job's or a
  // server's). Takes precedence over data_dir. Default none.
  Log* log = nullptr;
  // Embedded (data_dir) only: open the directory read-only. Takes no lock, so it works beside a
  // writer in another process and sees what it appends; producing, creating or deleting topics
  // and committing fail with kInvalidArgument. Default false (open as the writer).
  bool read_only = false;
  // Embedded (data_dir, writer) only: how long to wait for another process's lock before failing
  // with kUnavailable naming the holder. Default 0: fail at once.
  std::chrono::milliseconds lock_wait{0};
  // Embedded (data_dir) only: the file layer under the log. Default none: the real one. Tests
  // pass a fault-injecting one.
  FileSystem* fs = nullptr;
  // Kafka: "HOST:PORT[,HOST:PORT]". Empty: not Kafka. Exactly one of data_dir, log and
  // bootstrap_servers must be set.
  std::string bootstrap_servers;
  // Name sent to the broker (Kafka client.id) and recorded in the data directory's lock
  // (embedded). Default "sluice".
  std::string client_id = "sluice";
  // Upper bound of one admin call or metadata look-up; an unreachable broker fails with
  // kUnavailable after it. Default 30 s.
  std::chrono::milliseconds request_timeout{30000};
  // Extra librdkafka properties for every handle (Kafka only), applied last. Default none.
  std::map<std::string, std::string> kafka_config;
};

struct ProducerConfig {
  // Durability before a record counts as delivered: kNone (acks=0), kLeader (acks=1), kAll
  // (acks=all). Default kLeader.
  Acks acks = Acks::kLeader;
  // A partition's batch is sent once it holds this many bytes. Default 256 KiB.
  size_t batch_bytes = 256 << 10;
  // A non-full batch is sent after waiting this long. Default 5 ms.
  std::chrono::milliseconds linger{5};
  // Producer id + sequences so retried batches are stored once. Default true.
  bool idempotent = true;
  // Codec each batch is compressed with (Kafka: compression.codec). Default none.
  Codec compression = Codec::kNone;
  // Transactions (Kafka only, see client/README.md "Transactions"): the id that fences earlier
  // producers with the same id (Kafka transactional.id). Empty: not transactional. Setting it
  // forces idempotence and acks=all. The embedded log refuses it (kInvalidArgument).
  std::string transactional_id;
  // An open transaction older than this is aborted by the coordinator. Default 60 s.
  std::chrono::milliseconds transaction_timeout{60000};
};

// Called once per record with its offset, or the error that stopped it. Runs on a producer thread
// (see client/README.md) and must not call Flush, nor Send (with Kafka, a Send may wait for room
// in a queue that only that thread empties).
using DeliveryCallback = std::function<void(const Status&, const TopicPartition&, Offset)>;

// Called from inside Poll with the partitions gained or lost by a group rebalance.
using RebalanceCallback = std::function<void(const std::vector<TopicPartition>&)>;

struct ConsumerConfig {
  // Group id: required for Subscribe, Commit and Committed. Empty: no group.
  std::string group_id;
  // Where a partition without a committed offset (or with one out of range) starts. Default
  // kEarliest.
  AutoOffsetReset auto_offset_reset = AutoOffsetReset::kEarliest;
  // Upper bound of records one Poll returns. Default 10000.
  size_t max_poll_records = 10000;
  // Upper bound of bytes fetched from one partition per request. Default 1 MiB.
  size_t max_partition_fetch_bytes = 1 << 20;
  // A member that does not poll (embedded) or heartbeat (Kafka) for this long leaves the group.
  // Default 10 s.
  std::chrono::milliseconds session_timeout{10000};
  // kReadUncommitted (the default, as Kafka's Java client): every record. kReadCommitted: the
  // records of aborted transactions are skipped and reads stop at the last stable offset (the
  // first record of a transaction still open), which is then also "the end". Kafka:
  // isolation.level (always set: librdkafka's own default is read_committed).
  Isolation isolation = Isolation::kReadUncommitted;
  // Rebalance callbacks (Subscribe only). Default none.
  RebalanceCallback on_assigned;
  RebalanceCallback on_revoked;
};

// A committed next offset with the string its committer attached (Kafka's OffsetAndMetadata;
// the OffsetCommit metadata field). The runtime marks its commits with it, e.g. a job reset's
// "sluice-reset from=<P>" (runtime/commit_format.h).
struct OffsetAndMetadata {
  Offset offset;
  std::string metadata;
  bool operator==(const OffsetAndMetadata&) const = default;
};

// One consumed record. Views stay valid as long as the ConsumerRecords that holds them.
struct ConsumedRecord {
  const TopicPartition* tp = nullptr;
  Offset offset;
  Timestamp timestamp;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<Header> headers;
};

// What Poll returns: records in partition order, each partition's in offset order.
class ConsumerRecords {
 public:
  ConsumerRecords() = default;
  ConsumerRecords(ConsumerRecords&&) = default;
  ConsumerRecords& operator=(ConsumerRecords&&) = default;
  const std::vector<ConsumedRecord>& records() const { return records_; }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  auto begin() const { return records_.begin(); }
  auto end() const { return records_.end(); }

  // For implementations: appends a record and keeps `owner` (the memory its views point into)
  // alive as long as this object.
  std::vector<ConsumedRecord>& mutable_records() { return records_; }
  void KeepAlive(std::shared_ptr<void> owner) { owners_.push_back(std::move(owner)); }

 private:
  std::vector<ConsumedRecord> records_;
  std::vector<std::shared_ptr<void>> owners_;
};

class LogProducer {
 public:
  virtual ~LogProducer() = default;  // flushes
  // Queues a record for `topic`: to `partition` if set, else murmur2(key) % partitions for a
  // keyed record, else a partition the implementation spreads evenly. Fails at once (nothing
  // queued) for an unknown topic or partition. Delivery errors go to `cb` and to Flush.
  virtual Status Send(const std::string& topic, const Record& record,
                      std::optional<PartitionId> partition = std::nullopt,
                      DeliveryCallback cb = nullptr) = 0;
  // Sends every queued record and waits for its delivery; returns the first delivery error since
  // the previous Flush.
  virtual Status Flush() = 0;

  // Transactions: only for a producer made with ProducerConfig::transactional_id (else
  // kInvalidArgument). InitTransactions once, first: it fences every earlier producer with the
  // same id and aborts (or completes, if its commit was already under way) the transaction that
  // producer left open. Then per transaction: BeginTransaction, Sends, optionally
  // SendOffsetsToTransaction (the consumer group `group_id`'s next offsets, committed with the
  // records), CommitTransaction. Errors: a producer fenced by a newer one gets kAborted
  // ("another instance with transactional id X started; stop this one") and must be destroyed; a
  // failed CommitTransaction aborts the transaction and returns kAborted; unreachable coordinator
  // kUnavailable. Each call waits up to ClientOptions::request_timeout.
  virtual Status InitTransactions() = 0;
  virtual Status BeginTransaction() = 0;
  virtual Status SendOffsetsToTransaction(const std::map<TopicPartition, Offset>& offsets,
                                          const std::string& group_id) = 0;
  virtual Status CommitTransaction() = 0;
  virtual Status AbortTransaction() = 0;
};

class LogConsumer {
 public:
  virtual ~LogConsumer() = default;  // leaves the group
  // Reads exactly these partitions (no membership). Replaces the previous assignment.
  virtual Status Assign(const std::vector<TopicPartition>& tps) = 0;
  // Assign(the keys of `positions`), each partition starting at its offset. The default assigns,
  // then seeks each; Kafka does it in one step (a seek right after Assign re-assigns, and
  // librdkafka may trip over partitions it is still starting).
  virtual Status AssignAt(const std::map<TopicPartition, Offset>& positions) {
    std::vector<TopicPartition> tps;
    for (const auto& [tp, off] : positions) tps.push_back(tp);
    SLUICE_RETURN_IF_ERROR(Assign(tps));
    for (const auto& [tp, off] : positions) SLUICE_RETURN_IF_ERROR(Seek(tp, off));
    return Status::Ok();
  }
  // Joins group_id and reads what the group assigns. kInvalidArgument without a group id.
  virtual Status Subscribe(const std::vector<std::string>& topics) = 0;
  virtual std::vector<TopicPartition> assignment() = 0;

  virtual Status Seek(const TopicPartition& tp, Offset offset) = 0;
  virtual Status SeekToBeginning(const std::vector<TopicPartition>& tps) = 0;
  virtual Status SeekToEnd(const std::vector<TopicPartition>& tps) = 0;
  // First offset whose timestamp is >= ts; the end of the partition if none.
  virtual Status SeekToTime(const std::vector<TopicPartition>& tps, Timestamp ts) = 0;
  // The next offset Poll returns for an assigned partition.
  virtual Result<Offset> Position(const TopicPartition& tp) = 0;

  // Records from the assigned partitions, waiting up to `timeout` for at least one; empty on
  // timeout. Runs the rebalance callbacks.
  virtual Result<ConsumerRecords> Poll(std::chrono::milliseconds timeout) = 0;

  // Commits the positions of every assigned partition / the given next offsets, durably.
  virtual Status Commit() = 0;
  virtual Status Commit(const std::map<TopicPartition, Offset>& offsets) = 0;
  // The group's committed next offsets for `tps` (partitions without one are absent).
  virtual Result<std::map<TopicPartition, Offset>> Committed(
      const std::vector<TopicPartition>& tps) = 0;
  // As Commit(offsets), each offset with its metadata string. Kafka: the OffsetCommit metadata,
  // which a broker limits to offset.metadata.max.bytes (4096 by default and at `sluice serve`;
  // a longer one fails with the broker's error).
  virtual Status CommitWithMetadata(const std::map<TopicPartition, OffsetAndMetadata>& offsets) = 0;
  // As Committed, with the metadata string each offset was committed with ("" if none).
  virtual Result<std::map<TopicPartition, OffsetAndMetadata>> CommittedWithMetadata(
      const std::vector<TopicPartition>& tps) = 0;

  // Leaves the group. Idempotent.
  virtual void Close() = 0;
};

// Topic settings for CreateTopic. Defaults are TopicConfig's (-1: keep forever / no limit).
struct TopicSpec {
  int32_t partitions = 1;
  int64_t retention_ms = -1;
  int64_t retention_bytes = -1;
  int64_t segment_bytes = 64ll << 20;
  int32_t max_message_bytes = 1048588;
  // Further topic configs by Kafka's names (cleanup.policy, delete.retention.ms, ...; the table
  // is TopicConfig::Set's), sent as CreateTopics configs.
  std::map<std::string, std::string> configs;
};

struct PartitionInfo {
  PartitionId partition;
  Offset start_offset;  // log start (first readable offset)
  Offset end_offset;    // high watermark (next offset to be written)
  // Bytes and segment files on disk: known to the embedded implementation only (a Kafka
  // broker does not report them in Metadata or ListOffsets).
  std::optional<int64_t> bytes;
  std::optional<int64_t> segments;
  // Embedded: damage the partition's recovery found and would not cut (a missing or corrupt
  // segment holding fsynced data), naming the file and what to do; empty when the partition reads
  // whole. Records from the first damaged offset on cannot be read until it is repaired.
  std::string damage;
  Offset damaged_from;
};

struct TopicDescription {
  std::string name;
  std::vector<PartitionInfo> partitions;
  // Kafka config names ("retention.ms", ...) and values. Empty with configs_known = false when
  // the broker does not serve DescribeConfigs.
  std::map<std::string, std::string> configs;
  bool configs_known = false;
};

struct GroupMember {
  std::string member_id;
  std::string client_id;  // empty when unknown (embedded)
  std::vector<TopicPartition> assignment;
};

struct GroupDescription {
  std::string group_id;
  // "Stable", "PreparingRebalance", "CompletingRebalance", "Empty" (no active members) or "Dead".
  std::string state;
  std::vector<GroupMember> members;
  std::map<TopicPartition, Offset> committed;
  // The metadata string committed with each offset, for the offsets that have a non-empty one.
  std::map<TopicPartition, std::string> metadata;
};

// Which offset ListOffsets asks for.
struct OffsetSpec {
  enum class Kind { kEarliest, kLatest, kTime };
  Kind kind = Kind::kLatest;
  Timestamp time;  // kTime: first offset with timestamp >= time; the end offset if none
  static OffsetSpec Earliest() { return {Kind::kEarliest, Timestamp(0)}; }
  static OffsetSpec Latest() { return {Kind::kLatest, Timestamp(0)}; }
  static OffsetSpec ForTime(Timestamp t) { return {Kind::kTime, t}; }
};

class LogClient {
 public:
  virtual ~LogClient() = default;
  // "embedded" or "kafka".
  virtual std::string_view kind() const = 0;

  virtual Result<std::unique_ptr<LogProducer>> NewProducer(const ProducerConfig& config) = 0;
  virtual Result<std::unique_ptr<LogConsumer>> NewConsumer(const ConsumerConfig& config) = 0;

  // kAlreadyExists if it exists; kInvalidArgument for a bad name or spec.
  virtual Status CreateTopic(const std::string& name, const TopicSpec& spec) = 0;
  // kNotFound if absent.
  virtual Status DeleteTopic(const std::string& name) = 0;
  // Topic names, sorted (Kafka internal topics starting with "__" omitted).
  virtual Result<std::vector<std::string>> ListTopics() = 0;
  // kNotFound naming the topic if absent.
  virtual Result<TopicDescription> DescribeTopic(const std::string& name) = 0;
  // Number of partitions of `topic`; kNotFound if absent.
  virtual Result<int32_t> PartitionCount(const std::string& topic) = 0;

  // Groups with committed offsets or live members, sorted.
  virtual Result<std::vector<std::string>> ListGroups() = 0;
  // kNotFound if the group has neither members nor committed offsets.
  virtual Result<GroupDescription> DescribeGroup(const std::string& group) = 0;
  // Sets the group's committed offsets, each with `metadata` (empty: none). kUnavailable while
  // the group has active members.
  Status ResetGroupOffsets(const std::string& group,
                           const std::map<TopicPartition, Offset>& offsets) {
    return ResetGroupOffsets(group, offsets, std::string());
  }
  virtual Status ResetGroupOffsets(const std::string& group,
                                   const std::map<TopicPartition, Offset>& offsets,
                                   const std::string& metadata) = 0;

  // The offset `spec` names in each partition. kNotFound for an unknown topic or partition.
  virtual Result<std::map<TopicPartition, Offset>> ListOffsets(
      const std::vector<TopicPartition>& tps, OffsetSpec spec) = 0;

  // Sets topic configs by Kafka's names (TopicConfig::Set's table: retention.ms,
  // retention.bytes, segment.bytes, max.message.bytes, cleanup.policy, delete.retention.ms,
  // min.cleanable.dirty.ratio, min.compaction.lag.ms); the others keep their values. The new
  // config is checked as CreateTopic checks one (TopicConfig::Set, then Validate) before anything
  // changes: kInvalidArgument naming the bad key and what it takes. kNotFound for an unknown
  // topic. Embedded: the topic's partitions are reopened with it (no Partition* of the topic may
  // be in use, as Log::AlterTopicConfig says).
  virtual Status AlterTopicConfig(const std::string& topic,
                                  const std::map<std::string, std::string>& set) = 0;
  // Kafka's DeleteRecords: the partition's log start moves to `before` exactly (durably), the
  // records below it are no longer readable and whole segments below it are freed. Returns the
  // log start now (the low watermark; higher than `before` if it already was). kOutOfRange when
  // `before` is above the high watermark, kNotFound for an unknown topic or partition.
  virtual Result<Offset> DeleteRecords(const TopicPartition& tp, Offset before) = 0;
  // Deletes a consumer group: its committed offsets. kUnavailable while the group has active
  // members (as Kafka's NON_EMPTY_GROUP), naming what to stop; kNotFound if the group has no
  // committed offsets and no members.
  virtual Status DeleteGroup(const std::string& group) = 0;

  // Ends the client and returns what the destructor could only drop. Embedded over a data
  // directory it opened: closes the log (the final flush, fsync and close of every partition,
  // then the lock) and returns the first error of that. Embedded over a caller's Log: nothing to
  // close (the caller closes it). Kafka: nothing is buffered in the client (producers flush
  // themselves); Ok. REQUIRES: its producers and consumers are destroyed. After it, only the
  // destructor may be called. Idempotent.
  virtual Status Close() = 0;
};

// Opens the embedded log (data_dir or log) or connects to Kafka (bootstrap_servers). A Kafka
// client checks the broker is reachable (kUnavailable naming the address after request_timeout).
Result<std::unique_ptr<LogClient>> OpenLogClient(const ClientOptions& options);

}  // namespace sluice::client
