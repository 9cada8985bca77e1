// Produce, Fetch and ListOffsets: the data path between Kafka clients and the core log.
#include <fmt/format.h>

#include <algorithm>

#include "core/record_batch.h"
#include "core/record_batch_format.h"
#include "core/topic_config.h"
#include "server/protocol/error_codes.h"
#include "server/request_handler.h"

namespace sluice::kafka {
namespace {

Acks ToAcks(int16_t acks) {
  if (acks == 0) return Acks::kNone;
  if (acks == 1) return Acks::kLeader;
  return Acks::kAll;
}

// Splits a RECORDS blob into batches and validates each; nothing is appended unless all pass.
int16_t ValidateBatches(std::string_view records, int32_t max_message_bytes,
                        std::vector<std::string_view>* batches, std::string* why) {
  if (records.empty()) {
    *why = "empty record set";
    return kInvalidRecord;
  }
  while (!records.empty()) {
    int64_t size = BatchSizeAt(records);
    if (size <= 0 || static_cast<uint64_t>(size) > records.size()) {
      *why = fmt::format(
          "record batch length field is impossible or runs past the {} bytes "
          "sent",
          records.size());
      return kCorruptMessage;
    }
    std::string_view bytes = records.substr(0, static_cast<size_t>(size));
    if (bytes.size() <= batch_format::kMagic ||
        bytes[batch_format::kMagic] != batch_format::kMagicV2) {
      *why = "record batch magic is not 2 (only the v2 record format is accepted)";
      return kCorruptMessage;
    }
    if (size > max_message_bytes) {
      *why = fmt::format("record batch of {} bytes exceeds the topic's max.message.bytes {}", size,
                         max_message_bytes);
      return kMessageTooLarge;
    }
    auto view = RecordBatchView::Parse(bytes);
    if (!view.ok()) {
      *why = view.status().message();
      return kCorruptMessage;
    }
    if (Status st = view->Validate(); !st.ok()) {
      *why = st.message();
      return view->CrcMatches() ? kInvalidRecord : kCorruptMessage;
    }
    if (view->is_control() || (view->attributes() & batch_format::kTransactionalBit)) {
      *why =
          "transactional and control batches are not accepted (transactions are not "
          "supported)";
      return kInvalidRecord;
    }
    if (view->producer_id() >= 0 && view->base_sequence() < 0) {
      *why = "idempotent batch without a base sequence";
      return kInvalidRecord;
    }
    batches->push_back(bytes);
    records.remove_prefix(static_cast<size_t>(size));
  }
  return kNone;
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
      if (!acks_ok) {
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
        std::vector<std::string_view> batches;
        std::string_view records = p.records ? std::string_view(*p.records) : std::string_view();
        pr.error_code = ValidateBatches(records, config->max_message_bytes, &batches, &why);
        auto part = pr.error_code == kNone ? log_->GetPartition(t.name, PartitionId(p.index))
                                           : Result<Partition*>(NotFound("skipped"));
        if (pr.error_code == kNone && !part.ok()) {
          pr.error_code = kUnknownTopicOrPartition;
          why = part.status().message();
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
        rp.last_stable_offset = rp.high_watermark;
        rp.log_start_offset = pp->log_start_offset().value();
        // KIP-74: the first partition with data returns at least one whole batch.
        size_t limit = static_cast<size_t>(std::min<int64_t>(p.partition_max_bytes, budget));
        bool want = limit > 0 || first_data;
        if (want && p.fetch_offset != rp.high_watermark) {
          auto read = pp->Read(Offset(p.fetch_offset), std::max<size_t>(limit, 1));
          if (!read.ok()) {
            rp.error_code = read.status().code() == StatusCode::kOutOfRange ? kOffsetOutOfRange
                                                                            : kUnknownServerError;
          } else {
            rp.records = std::move(read->data);
            rp.high_watermark = read->high_watermark.value();
            rp.last_stable_offset = rp.high_watermark;
            rp.log_start_offset = read->log_start_offset.value();
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

namespace {

// The first record at or after `from` with timestamp >= ts, looking inside batches; falls back
// to a compressed batch's base offset and max timestamp.
std::pair<int64_t, int64_t> FindByTime(Partition* p, Offset from, int64_t ts) {
  Offset hw = p->high_watermark();
  Offset pos = from;
  while (pos < hw) {
    auto read = p->Read(pos, 1 << 20);
    if (!read.ok() || read->data.empty()) break;
    std::string_view data = read->data;
    while (!data.empty()) {
      int64_t size = BatchSizeAt(data);
      if (size <= 0 || static_cast<size_t>(size) > data.size()) return {-1, -1};
      auto view = RecordBatchView::Parse(data.substr(0, static_cast<size_t>(size)));
      data.remove_prefix(static_cast<size_t>(size));
      if (!view.ok()) return {-1, -1};
      pos = view->last_offset() + 1;
      if (view->max_timestamp().value() < ts) continue;
      if (view->compression() != 0) {
        return {std::max(view->base_offset(), from).value(), view->max_timestamp().value()};
      }
      std::pair<int64_t, int64_t> found{-1, -1};
      Status st = view->ForEachRecord([&](const RecordView& r) {
        if (found.first < 0 && r.offset >= from && r.timestamp.value() >= ts) {
          found = {r.offset.value(), r.timestamp.value()};
        }
      });
      if (st.ok() && found.first >= 0) return found;
    }
  }
  return {-1, -1};
}

}  // namespace

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
        rp.offset = (*part)->high_watermark().value();
      } else if (p.timestamp == -2) {
        rp.offset = (*part)->log_start_offset().value();
      } else if (p.timestamp < 0) {
        rp.error_code = kInvalidRequest;
      } else {
        auto at = (*part)->OffsetForTime(Timestamp(p.timestamp));
        if (!at.ok()) {
          rp.error_code = kUnknownServerError;
        } else if (*at < (*part)->high_watermark()) {
          auto [offset, ts] = FindByTime(*part, *at, p.timestamp);
          rp.offset = offset;
          rp.timestamp = ts;
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
