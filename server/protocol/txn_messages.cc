#include "server/protocol/txn_messages.h"

namespace sluice::kafka {

Status AddPartitionsToTxnRequest::Decode(WireReader& r, int16_t version) {
  transactional_id = std::string(r.String());
  producer_id = r.Int64();
  producer_epoch = r.Int16();
  int32_t n = r.ArrayCountOf<Topic>(6);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Topic t;
    t.name = std::string(r.String());
    int32_t m = r.ArrayCountOf<int32_t>(4);
    for (int32_t j = 0; j < m && r.ok(); ++j) t.partitions.push_back(r.Int32());
    topics.push_back(std::move(t));
  }
  return r.status();
}

void AddPartitionsToTxnRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(transactional_id);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const Topic& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (int32_t p : t.partitions) w.Int32(p);
  }
}

void AddPartitionsToTxnResponse::Encode(WireWriter& w, int16_t version) const {
  w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(results.size()));
  for (const Topic& t : results) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.results.size()));
    for (const PartitionResult& p : t.results) {
      w.Int32(p.partition_index);
      w.Int16(p.error_code);
    }
  }
}

Status AddOffsetsToTxnRequest::Decode(WireReader& r, int16_t version) {
  transactional_id = std::string(r.String());
  producer_id = r.Int64();
  producer_epoch = r.Int16();
  group_id = std::string(r.String());
  return r.status();
}

void AddOffsetsToTxnRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(transactional_id);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  w.String(group_id);
}

void TxnErrorResponse::Encode(WireWriter& w, int16_t version) const {
  w.Int32(throttle_time_ms);
  w.Int16(error_code);
}

Status EndTxnRequest::Decode(WireReader& r, int16_t version) {
  transactional_id = std::string(r.String());
  producer_id = r.Int64();
  producer_epoch = r.Int16();
  committed = r.Bool();
  return r.status();
}

void EndTxnRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(transactional_id);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  w.Bool(committed);
}

Status TxnOffsetCommitRequest::Decode(WireReader& r, int16_t version) {
  transactional_id = std::string(r.String());
  group_id = std::string(r.String());
  producer_id = r.Int64();
  producer_epoch = r.Int16();
  int32_t n = r.ArrayCountOf<Topic>(6);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Topic t;
    t.name = std::string(r.String());
    int32_t m = r.ArrayCountOf<Partition>(14);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      Partition p;
      p.partition_index = r.Int32();
      p.committed_offset = r.Int64();
      if (version >= 2) p.committed_leader_epoch = r.Int32();
      auto md = r.NullableString();
      if (md) p.committed_metadata = std::string(*md);
      t.partitions.push_back(std::move(p));
    }
    topics.push_back(std::move(t));
  }
  return r.status();
}

void TxnOffsetCommitRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(transactional_id);
  w.String(group_id);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const Topic& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const Partition& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.committed_offset);
      if (version >= 2) w.Int32(p.committed_leader_epoch);
      w.NullableString(p.committed_metadata);
    }
  }
}

}  // namespace sluice::kafka
