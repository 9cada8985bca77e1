// Produce, Fetch and ListOffsets: the data path between Kafka clients and the core log.
#include <fmt/format.h>

#include <algorithm>

#include "core/batch_cursor.h"
#include "core/record_batch.h"
#include "core/record_batch_format.h"
#include "core/topic_config.h"
#include "core/validated_batch.h"
#include "server/protocol/error_codes.h"
#include "server/request_handler.h"

namespace sluice::kafka {
namespace {

Acks ToAcks(int16_t acks) {
  if (acks == 0) return Acks::kNone;
  if (acks == 1) return Acks::kLeader;
  return Acks::kAll;
}

// Splits a RECORDS blob into batches and validates each, once: Partition::Append takes the
// ValidatedBatch without checking it again. Nothing is appended unless all pass.
int16_t ValidateBatches(std::string_view records, int32_t max_message_bytes,
                        std::vector<ValidatedBatch>* batches, std::string* why) {
  if (records.empty()) {
    *why = "empty record set";
    return kInvalidRecord;
  }
  BatchCursor cursor(records);
  RecordBatchView framed;
  while (cursor.Next(&framed)) {
    if (framed.size() > static_cast<size_t>(max_message_bytes)) {
      *why = fmt::format("record batch of {} bytes exceeds the topic's max.message.bytes {}",
                         framed.size(), max_message_bytes);
      return kMessageTooLarge;
    }
    auto valid = ValidatedBatch::Validate(framed.bytes());
    if (!valid.ok()) {
      *why = valid.status().message();
      // A compressed batch whose data does not decompress to the records its header announces
      // is corrupt, whatever its CRC says.
      return framed.CrcMatches() && framed.compression() == 0 ? kInvalidRecord : kCorruptMessage;
    }
    const RecordBatchView& view = valid->view();
    if (view.is_control()) {
      *why =
          "control batches (transaction markers) are written by the transaction coordinator, "
          "not by producers";
      return kInvalidRecord;
    }
    if (view.is_transactional() && view.producer_id() < 0) {
      *why = "transactional batch without a producer id";
      return kInvalidRecord;
    }
    if (view.producer_id() >= 0 && view.base_sequence() < 0) {
      *why = "idempotent batch without a base sequence";
      return kInvalidRecord;
    }
    batches->push_back(*valid);
  }
  if (cursor.stop() != BatchCursor::Stop::kEnd) {  // a torn or garbage batch: length or magic
    *why = fmt::format("{} (at byte {} of the {} bytes sent)", cursor.status().message(),
                       cursor.valid_bytes(), records.size());
    return kCorruptMessage;
  }
  return kNone;
}

// Drops the batches of `records` that start at or after `limit` (whole batches only: a batch
// never straddles the last stable offset, which is a batch boundary or the high watermark).
void CutAt(std::string* records, int64_t limit) {
  BatchCursor cursor(*records);
  RecordBatchView b;
  size_t keep = 0;
  while (cursor.Next(&b) && b.base_offset().value() < limit) keep += b.size();
  records->resize(keep);
}

// The last offset of the last whole batch in `records` (non-empty).
int64_t LastOffsetOf(std::string_view records) {
  BatchCursor cursor(records);
  RecordBatchView b;
  int64_t last = -1;
  while (cursor.Next(&b)) last = b.last_offset().value();
  return last;
}

int16_t AppendErrorCode(const Status& st) {
  switch (st.code()) {
    case StatusCode::kCorruption:
      return kCorruptMessage;
    case StatusCode::kInvalidArgument:
      return kInvalidRecord;
    case StatusCode::kOutOfRange:
      return kOutOfOrderSequenceNumber;
    case StatusCode::kIOError:
      return kKafkaStorageError;
    default:
      return kUnknownServerError;
  }
}

}  // namespace

Reply RequestHandler::HandleProduce(const RequestHeader& h, const ProduceRequest& req,
                                    const ClientInfo& client) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  ProduceResponse resp;
  std::string errors;
  bool acks_ok = req.acks == 0 || req.acks == 1 || req.acks == -1;
  std::vector<std::string> denied;
  for (const auto& t : req.topics) {
    ProduceResponse::TopicResponse tr;
    tr.name = t.name;
    if (!Permitted(client, auth::ResourceType::kTopic, t.name, auth::kWrite)) {
      for (const auto& p : t.partitions) {
        ProduceResponse::PartitionResponse pr;
        pr.index = p.index;
        pr.error_code = kTopicAuthorizationFailed;
        pr.base_offset = -1;
        tr.partitions.push_back(pr);
      }
      denied.push_back(t.name);
      resp.topics.push_back(std::move(tr));
      continue;
    }
    bool name_ok = ValidateTopicName(t.name).ok();
    if (name_ok && acks_ok && !log_->HasTopic(t.name) && options_.auto_create_topics) {
      std::string msg;
      int16_t code = CreateTopicLocked(t.name, options_.default_partitions, nullptr, &msg);
      if (code != kNone && code != kTopicAlreadyExists) {
        errors += fmt::format("auto-create of '{}' failed: {}; ", t.name, msg);
      }
    }
    auto config = name_ok ? log_->DescribeTopic(t.name) : Result<TopicConfig>(NotFound("bad"));
    for (const auto& p : t.partitions) {
      ProduceResponse::PartitionResponse pr;
      pr.index = p.index;
      std::string why;
      if (h.api_version < 3) {
        // Advertised only because librdkafka compresses with gzip, snappy and lz4 only when the
        // broker's Produce range starts at 0 (Kafka 4 does the same, KAFKA-18659); v0-v2 carry
        // message format v0/v1, which this log does not store.
        pr.error_code = kUnsupportedVersion;
        why = fmt::format("Produce v{} (message format v0/v1) is not served; use v3 or later",
                          h.api_version);
      } else if (!acks_ok) {
        pr.error_code = kInvalidRequiredAcks;
        why = fmt::format("acks={} is not one of 0, 1, -1", req.acks);
      } else if (!name_ok) {
        pr.error_code = kInvalidTopicException;
        why = "invalid topic name; use 1..249 characters of [a-zA-Z0-9._-]";
      } else if (!config.ok() || p.index < 0 || p.index >= config->partitions) {
        pr.error_code = kUnknownTopicOrPartition;
        why = config.ok() ? fmt::format("topic has {} partitions", config->partitions)
                          : "unknown topic";
      } else {
        std::vector<ValidatedBatch> batches;
        std::string_view records = p.records ? std::string_view(*p.records) : std::string_view();
        pr.error_code = ValidateBatches(records, config->max_message_bytes, &batches, &why);
        auto part = pr.error_code == kNone ? log_->GetPartition(t.name, PartitionId(p.index))
                                           : Result<Partition*>(NotFound("skipped"));
        if (pr.error_code == kNone && !part.ok()) {
          pr.error_code = kUnknownTopicOrPartition;
          why = part.status().message();
        }
        // Transactional batches: the producer's transaction must hold this partition, checked
        // and appended under the coordinator's shared lock so no marker lands in between.
        std::shared_lock<std::shared_mutex> txn_lock(txns_.append_mutex(), std::defer_lock);
        for (size_t i = 0; pr.error_code == kNone && i < batches.size(); ++i) {
          const RecordBatchView& v = batches[i].view();
          if (!v.is_transactional()) continue;
          if (!txn_lock.owns_lock()) txn_lock.lock();
          pr.error_code = txns_.CheckTransactionalAppend(v.producer_id(), v.producer_epoch(),
                                                         {t.name, PartitionId(p.index)});
          if (pr.error_code != kNone) {
            why = fmt::format(
                "transactional batch of producer {} epoch {}: {}", v.producer_id(),
                v.producer_epoch(),
                pr.error_code == kInvalidProducerEpoch
                    ? "the producer is fenced (a newer instance or a timeout aborted it)"
                    : "the partition is not in an ongoing transaction (AddPartitionsToTxn first)");
          }
        }
        for (size_t i = 0; pr.error_code == kNone && i < batches.size(); ++i) {
          auto appended = (*part)->Append(batches[i], ToAcks(req.acks));
          if (!appended.ok()) {
            pr.error_code = AppendErrorCode(appended.status());
            why = appended.status().message();
          } else if (i == 0) {
            pr.base_offset = appended->base_offset.value();
          }
        }
        if (part.ok()) {
          pr.log_start_offset = (*part)->log_start_offset().value();
          fetch_waits_.Notify(t.name, p.index);
        }
      }
      if (pr.error_code != kNone) {
        pr.base_offset = -1;
        errors += fmt::format("Produce to {}[{}] rejected (error {}): {}; ", t.name, p.index,
                              pr.error_code, why);
      }
      tr.partitions.push_back(pr);
    }
    resp.topics.push_back(std::move(tr));
  }
  if (!denied.empty()) errors += Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED");
  if (req.acks == 0) {
    // No response at all; a failure closes the connection so the client notices (as Kafka).
    return {"", !errors.empty(), errors};
  }
  return {Frame(h, resp), false, errors};
}

FetchResponse RequestHandler::BuildFetch(const FetchRequest& req, bool* ready) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  FetchResponse resp;
  bool any_error = false;
  int64_t budget = req.max_bytes < 0 ? -1 : std::min(req.max_bytes, options_.max_fetch_bytes);
  const bool read_committed = req.isolation_level == 1;
  bool first_data = true;
  for (const auto& t : req.topics) {
    FetchResponse::Topic rt;
    rt.topic = t.topic;
    bool name_ok = ValidateTopicName(t.topic).ok();
    for (const auto& p : t.partitions) {
      FetchResponse::Partition rp;
      rp.partition_index = p.partition;
      auto part = name_ok ? log_->GetPartition(t.topic, PartitionId(p.partition))
                          : Result<Partition*>(NotFound("bad name"));
      if (!part.ok()) {
        rp.error_code = kUnknownTopicOrPartition;
      } else if (budget < 0 || p.partition_max_bytes < 0) {
        rp.error_code = kInvalidFetchSize;
      } else {
        Partition* pp = *part;
        rp.high_watermark = pp->high_watermark().value();
        rp.last_stable_offset = std::min(pp->last_stable_offset().value(), rp.high_watermark);
        // read_committed reads below the last stable offset only.
        const int64_t readable = read_committed ? rp.last_stable_offset : rp.high_watermark;
        rp.log_start_offset = pp->log_start_offset().value();
        // KIP-74: the first partition with data returns at least one whole batch.
        size_t limit = static_cast<size_t>(std::min<int64_t>(p.partition_max_bytes, budget));
        bool want = limit > 0 || first_data;
        if (want && p.fetch_offset != rp.high_watermark) {
          auto read = p.fetch_offset >= readable && p.fetch_offset <= rp.high_watermark
                          ? Result<ReadResult>(
                                ReadResult{"", Offset(rp.high_watermark), pp->log_start_offset()})
                          : pp->Read(Offset(p.fetch_offset), std::max<size_t>(limit, 1));
          if (!read.ok()) {
            rp.error_code = read.status().code() == StatusCode::kOutOfRange ? kOffsetOutOfRange
                                                                            : kUnknownServerError;
          } else {
            rp.records = std::move(read->data);
            rp.log_start_offset = read->log_start_offset.value();
            if (read_committed) {
              CutAt(&rp.records, readable);
              int64_t upper = readable;
              if (!rp.records.empty()) {
                upper = LastOffsetOf(rp.records) + 1;
              }
              for (const AbortedTxn& a :
                   pp->AbortedTransactions(Offset(p.fetch_offset), Offset(upper))) {
                rp.aborted_transactions.emplace_back(a.producer_id, a.first_offset.value());
              }
            } else {
              rp.high_watermark = read->high_watermark.value();
              rp.last_stable_offset = std::min(pp->last_stable_offset().value(), rp.high_watermark);
            }
          }
        }
        if (!rp.records.empty()) {
          first_data = false;
          budget = std::max<int64_t>(0, budget - static_cast<int64_t>(rp.records.size()));
        }
      }
      if (rp.error_code != kNone) any_error = true;
      rt.partitions.push_back(std::move(rp));
    }
    resp.topics.push_back(std::move(rt));
  }
  *ready = any_error || static_cast<int64_t>(resp.record_bytes()) >= std::max(1, req.min_bytes);
  return resp;
}

void RequestHandler::HandleFetch(const RequestHeader& h, std::shared_ptr<const FetchRequest> req,
                                 std::chrono::steady_clock::time_point deadline, Done done) {
  bool ready = false;
  FetchResponse resp = BuildFetch(*req, &ready);
  if (ready || std::chrono::steady_clock::now() >= deadline) {
    return done({Frame(h, resp)});
  }
  // Park until an append to a watched partition or the deadline; then rebuild.
  std::vector<FetchWaitList::Watched> watched;
  std::vector<int64_t> seen;
  for (size_t i = 0; i < req->topics.size(); ++i) {
    for (size_t j = 0; j < req->topics[i].partitions.size(); ++j) {
      watched.push_back({req->topics[i].topic, req->topics[i].partitions[j].partition});
      seen.push_back(resp.topics[i].partitions[j].high_watermark);
    }
  }
  auto still_waiting = [this, watched, seen] {
    std::shared_lock<std::shared_mutex> lock(topics_mu_);
    for (size_t i = 0; i < watched.size(); ++i) {
      auto part = log_->GetPartition(watched[i].topic, PartitionId(watched[i].partition));
      if (!part.ok() || (*part)->high_watermark().value() != seen[i]) return false;
    }
    return true;
  };
  auto retry = [this, h, req, deadline, done](bool expired) {
    if (expired) {
      bool ignored = false;
      return done({Frame(h, BuildFetch(*req, &ignored))});
    }
    HandleFetch(h, req, deadline, done);
  };
  fetch_waits_.Park(std::move(watched), deadline, std::move(retry), std::move(still_waiting));
}

Reply RequestHandler::HandleListOffsets(const RequestHeader& h, const ListOffsetsRequest& req,
                                        const ClientInfo& client) {
  std::shared_lock<std::shared_mutex> lock(topics_mu_);
  ListOffsetsResponse resp;
  std::vector<std::string> denied;
  for (const auto& t : req.topics) {
    ListOffsetsResponse::Topic rt;
    rt.name = t.name;
    bool name_ok = ValidateTopicName(t.name).ok();
    bool permitted = Permitted(client, auth::ResourceType::kTopic, t.name, auth::kRead);
    if (!permitted) denied.push_back(t.name);
    for (const auto& p : t.partitions) {
      ListOffsetsResponse::Partition rp;
      rp.partition_index = p.partition_index;
      if (!permitted) {
        rp.error_code = kTopicAuthorizationFailed;
        rt.partitions.push_back(rp);
        continue;
      }
      auto part = name_ok ? log_->GetPartition(t.name, PartitionId(p.partition_index))
                          : Result<Partition*>(NotFound("bad name"));
      if (!part.ok()) {
        rp.error_code = kUnknownTopicOrPartition;
      } else if (p.timestamp == -1) {
        // LATEST is the last stable offset for read_committed (Kafka), else the high watermark.
        rp.offset = (*part)->high_watermark().value();
        if (req.isolation_level == 1) {
          rp.offset = std::min(rp.offset, (*part)->last_stable_offset().value());
        }
      } else if (p.timestamp == -2) {
        rp.offset = (*part)->log_start_offset().value();
      } else if (p.timestamp < 0) {
        rp.error_code = kInvalidRequest;
      } else {
        auto at = (*part)->OffsetForTime(Timestamp(p.timestamp));
        if (!at.ok()) {
          rp.error_code = kUnknownServerError;
        } else if (at->timestamp != kNoTimestamp) {  // else none: offset and timestamp stay -1
          rp.offset = at->offset.value();
          rp.timestamp = at->timestamp.value();
        }
      }
      rt.partitions.push_back(rp);
    }
    resp.topics.push_back(std::move(rt));
  }
  if (!denied.empty()) {
    return {Frame(h, resp), false,
            Denied(client, h, "topic", denied, "TOPIC_AUTHORIZATION_FAILED")};
  }
  return {Frame(h, resp)};
}

}  // namespace sluice::kafka
