#include "server/protocol/offset_messages.h"

namespace sluice::kafka {

Status OffsetCommitRequest::Decode(WireReader& r, int16_t version) {
  group_id = r.String();
  if (version >= 1) {
    generation_id = r.Int32();
    member_id = r.String();
  }
  if (version >= 7) {
    auto g = r.NullableString();
    if (g) group_instance_id = std::string(*g);
  }
  if (version >= 2 && version <= 4) retention_time_ms = r.Int64();
  size_t min_partition = 4 + 8 + 2 + (version >= 6 ? 4 : 0) + (version == 1 ? 8 : 0);
  r.ResizeArray(topics, 2 + 4);
  for (auto& t : topics) {
    t.name = r.String();
    r.ResizeArray(t.partitions, min_partition);
    for (auto& p : t.partitions) {
      p.partition_index = r.Int32();
      p.committed_offset = r.Int64();
      if (version >= 6) p.committed_leader_epoch = r.Int32();
      if (version == 1) p.commit_timestamp = r.Int64();
      auto m = r.NullableString();
      if (m) p.committed_metadata = std::string(*m);
    }
  }
  return r.status();
}

void OffsetCommitRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(group_id);
  if (version >= 1) {
    w.Int32(generation_id);
    w.String(member_id);
  }
  if (version >= 7) w.NullableString(group_instance_id);
  if (version >= 2 && version <= 4) w.Int64(retention_time_ms);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.committed_offset);
      if (version >= 6) w.Int32(p.committed_leader_epoch);
      if (version == 1) w.Int64(p.commit_timestamp);
      w.NullableString(p.committed_metadata);
    }
  }
}

void OffsetCommitResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 3) w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int16(p.error_code);
    }
  }
}

Status OffsetFetchRequest::Decode(WireReader& r, int16_t version) {
  const bool flexible = version >= 6;
  group_id = flexible ? r.CompactString() : r.String();
  int32_t n = flexible ? r.CompactArrayCountOf<Topic>(1 + 1 + 1, /*nullable=*/true)
                       : r.ArrayCountOf<Topic>(2 + 4, /*nullable=*/version >= 2);
  if (n >= 0) {
    topics.emplace();
    topics->resize(n);
    for (auto& t : *topics) {
      t.name = flexible ? r.CompactString() : r.String();
      if (flexible) {
        int32_t m = r.CompactArrayCountOf<int32_t>(4);
        if (m > 0) t.partition_indexes.resize(static_cast<size_t>(m));
        for (auto& p : t.partition_indexes) p = r.Int32();
        r.SkipTaggedFields();
      } else {
        r.ResizeArray(t.partition_indexes, 4);
        for (auto& p : t.partition_indexes) p = r.Int32();
      }
    }
  }
  if (version >= 7) require_stable = r.Bool();
  if (flexible) r.SkipTaggedFields();
  return r.status();
}

void OffsetFetchRequest::Encode(WireWriter& w, int16_t version) const {
  const bool flexible = version >= 6;
  auto str = [&](std::string_view s) { flexible ? w.CompactString(s) : w.String(s); };
  auto count = [&](int32_t c) { flexible ? w.CompactArrayCount(c) : w.ArrayCount(c); };
  str(group_id);
  if (!topics) {
    count(-1);
  } else {
    count(static_cast<int32_t>(topics->size()));
    for (const auto& t : *topics) {
      str(t.name);
      count(static_cast<int32_t>(t.partition_indexes.size()));
      for (int32_t p : t.partition_indexes) w.Int32(p);
      if (flexible) w.EmptyTaggedFields();
    }
  }
  if (version >= 7) w.Bool(require_stable);
  if (flexible) w.EmptyTaggedFields();
}

void OffsetFetchResponse::Encode(WireWriter& w, int16_t version) const {
  const bool flexible = version >= 6;
  auto str = [&](std::string_view s) { flexible ? w.CompactString(s) : w.String(s); };
  auto count = [&](size_t c) {
    flexible ? w.CompactArrayCount(static_cast<int32_t>(c)) : w.ArrayCount(static_cast<int32_t>(c));
  };
  if (version >= 3) w.Int32(throttle_time_ms);
  count(topics.size());
  for (const auto& t : topics) {
    str(t.name);
    count(t.partitions.size());
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.committed_offset);
      if (version >= 5) w.Int32(p.committed_leader_epoch);
      if (flexible) {
        w.CompactNullableString(p.metadata);
      } else {
        w.NullableString(p.metadata);
      }
      w.Int16(p.error_code);
      if (flexible) w.EmptyTaggedFields();
    }
    if (flexible) w.EmptyTaggedFields();
  }
  if (version >= 2) w.Int16(error_code);
  if (flexible) w.EmptyTaggedFields();
}

}  // namespace sluice::kafka
