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
  const bool flexible = version >= 3;
  auto str = [&] { return std::string(flexible ? r.CompactString() : r.String()); };
  transactional_id = str();
  group_id = str();
  producer_id = r.Int64();
  producer_epoch = r.Int16();
  if (version >= 3) {
    generation_id = r.Int32();
    member_id = str();
    auto g = r.CompactNullableString();
    if (g) group_instance_id = std::string(*g);
  }
  int32_t n = flexible ? r.CompactArrayCountOf<Topic>(1 + 1 + 1) : r.ArrayCountOf<Topic>(6);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Topic t;
    t.name = str();
    int32_t m = flexible ? r.CompactArrayCountOf<Partition>(4 + 8 + 4 + 1 + 1)
                         : r.ArrayCountOf<Partition>(14);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      Partition p;
      p.partition_index = r.Int32();
      p.committed_offset = r.Int64();
      if (version >= 2) p.committed_leader_epoch = r.Int32();
      auto md = flexible ? r.CompactNullableString() : r.NullableString();
      if (md) p.committed_metadata = std::string(*md);
      if (flexible) r.SkipTaggedFields();
      t.partitions.push_back(std::move(p));
    }
    if (flexible) r.SkipTaggedFields();
    topics.push_back(std::move(t));
  }
  if (flexible) r.SkipTaggedFields();
  return r.status();
}

void TxnOffsetCommitRequest::Encode(WireWriter& w, int16_t version) const {
  const bool flexible = version >= 3;
  auto str = [&](std::string_view v) { flexible ? w.CompactString(v) : w.String(v); };
  auto count = [&](size_t n) {
    flexible ? w.CompactArrayCount(static_cast<int32_t>(n)) : w.ArrayCount(static_cast<int32_t>(n));
  };
  str(transactional_id);
  str(group_id);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  if (version >= 3) {
    w.Int32(generation_id);
    str(member_id);
    w.CompactNullableString(group_instance_id);
  }
  count(topics.size());
  for (const Topic& t : topics) {
    str(t.name);
    count(t.partitions.size());
    for (const Partition& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.committed_offset);
      if (version >= 2) w.Int32(p.committed_leader_epoch);
      if (flexible) {
        w.CompactNullableString(p.committed_metadata);
        w.EmptyTaggedFields();
      } else {
        w.NullableString(p.committed_metadata);
      }
    }
    if (flexible) w.EmptyTaggedFields();
  }
  if (flexible) w.EmptyTaggedFields();
}

void TxnOffsetCommitResponse::Encode(WireWriter& w, int16_t version) const {
  if (version < 3) {
    static_cast<const AddPartitionsToTxnResponse&>(*this).Encode(w, version);
    return;
  }
  w.Int32(throttle_time_ms);
  w.CompactArrayCount(static_cast<int32_t>(results.size()));
  for (const Topic& t : results) {
    w.CompactString(t.name);
    w.CompactArrayCount(static_cast<int32_t>(t.results.size()));
    for (const PartitionResult& p : t.results) {
      w.Int32(p.partition_index);
      w.Int16(p.error_code);
      w.EmptyTaggedFields();
    }
    w.EmptyTaggedFields();
  }
  w.EmptyTaggedFields();
}

}  // namespace sluice::kafka
