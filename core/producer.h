// Producer: appends records to topics of a Log, batching them per partition.
//
// Records are encoded into a RecordBatch per partition on the calling thread; a batch is appended
// when it reaches batch_bytes, when it has waited `linger`, or on Flush. Keyed records go to
// murmur2(key) % partitions (as Kafka's Java client); unkeyed ones to a sticky partition that
// changes with every batch, so they spread evenly. With idempotence on (default), every batch
// carries the producer id, epoch and per-partition sequence, and the partition rejects duplicates.
//
// Thread safety: thread-safe; many threads may Send concurrently. Delivery callbacks run on the
// thread that appended the batch (a Send, Flush or the linger thread) and must not call Flush.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/log.h"
#include "core/record_batch.h"

namespace sluice {

struct ProducerOptions {
  // Durability required before a batch counts as delivered. Default kLeader.
  Acks acks = Acks::kLeader;
  // A partition's batch is appended once it holds this many bytes. Default 256 KiB.
  size_t batch_bytes = 256 << 10;
  // A non-full batch is appended after waiting this long. Default 5 ms. 0: append on every Send.
  std::chrono::milliseconds linger{5};
  // Attach producer id/epoch/sequences so retried batches are not duplicated. Default true.
  bool idempotent = true;
  // The codec each batch is compressed with (core/codec.h). Default kNone.
  Codec compression = Codec::kNone;
};

// Called once per record with its offset, or the error that stopped its batch.
using DeliveryCallback = std::function<void(const Status&, const TopicPartition&, Offset)>;

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> Create(Log* log, const ProducerOptions& options);
  ~Producer();  // flushes

  // Queues a record for `topic`. With `partition` set, it goes there; otherwise by key / sticky.
  // Fails at once (nothing queued) for an unknown topic or partition, or a record larger than the
  // topic's max_message_bytes. Errors while appending are reported to the callback and by Flush.
  Status Send(const std::string& topic, const Record& record,
              std::optional<PartitionId> partition = std::nullopt, DeliveryCallback cb = nullptr);

  // Appends every queued batch and waits; returns the first error since the last Flush.
  Status Flush();

  int64_t producer_id() const;

 private:
  class Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
