#include "server/protocol/fetch_messages.h"

namespace sluice::kafka {

Status FetchRequest::Decode(WireReader& r, int16_t version) {
  replica_id = r.Int32();
  max_wait_ms = r.Int32();
  min_bytes = r.Int32();
  if (version >= 3) max_bytes = r.Int32();
  if (version >= 4) isolation_level = r.Int8();
  if (version >= 7) {
    session_id = r.Int32();
    session_epoch = r.Int32();
  }
  size_t min_partition = 4 + 8 + 4 + (version >= 9 ? 4 : 0) + (version >= 5 ? 8 : 0);
  r.ResizeArray(topics, 2 + 4);
  for (auto& t : topics) {
    t.topic = r.String();
    r.ResizeArray(t.partitions, min_partition);
    for (auto& p : t.partitions) {
      p.partition = r.Int32();
      if (version >= 9) p.current_leader_epoch = r.Int32();
      p.fetch_offset = r.Int64();
      if (version >= 5) p.log_start_offset = r.Int64();
      p.partition_max_bytes = r.Int32();
    }
  }
  if (version >= 7) {
    r.ResizeArray(forgotten_topics, 2 + 4);
    for (auto& t : forgotten_topics) {
      t.topic = r.String();
      r.ResizeArray(t.partitions, 4);
      for (auto& p : t.partitions) p = r.Int32();
    }
  }
  if (version >= 11) rack_id = r.String();
  return r.status();
}

void FetchRequest::Encode(WireWriter& w, int16_t version) const {
  w.Int32(replica_id);
  w.Int32(max_wait_ms);
  w.Int32(min_bytes);
  if (version >= 3) w.Int32(max_bytes);
  if (version >= 4) w.Int8(isolation_level);
  if (version >= 7) {
    w.Int32(session_id);
    w.Int32(session_epoch);
  }
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.topic);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition);
      if (version >= 9) w.Int32(p.current_leader_epoch);
      w.Int64(p.fetch_offset);
      if (version >= 5) w.Int64(p.log_start_offset);
      w.Int32(p.partition_max_bytes);
    }
  }
  if (version >= 7) {
    w.ArrayCount(static_cast<int32_t>(forgotten_topics.size()));
    for (const auto& t : forgotten_topics) {
      w.String(t.topic);
      w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
      for (int32_t p : t.partitions) w.Int32(p);
    }
  }
  if (version >= 11) w.String(rack_id);
}

void FetchResponse::Encode(WireWriter& w, int16_t version) const {
  // Record sets dominate the size: allocate once, copy the stored batches once.
  size_t fixed = 64;
  for (const auto& t : topics) fixed += 8 + t.topic.size() + t.partitions.size() * 64;
  w.Reserve(fixed + record_bytes());
  if (version >= 1) w.Int32(throttle_time_ms);
  if (version >= 7) {
    w.Int16(error_code);
    w.Int32(session_id);
  }
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.topic);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int16(p.error_code);
      w.Int64(p.high_watermark);
      if (version >= 4) w.Int64(p.last_stable_offset);
      if (version >= 5) w.Int64(p.log_start_offset);
      if (version >= 4) {
        w.ArrayCount(static_cast<int32_t>(p.aborted_transactions.size()));
        for (const auto& [producer_id, first_offset] : p.aborted_transactions) {
          w.Int64(producer_id);
          w.Int64(first_offset);
        }
      }
      if (version >= 11) w.Int32(-1);  // preferred_read_replica: read from us
      w.Bytes(p.records);
    }
  }
}

size_t FetchResponse::record_bytes() const {
  size_t n = 0;
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) n += p.records.size();
  }
  return n;
}

Status ListOffsetsRequest::Decode(WireReader& r, int16_t version) {
  replica_id = r.Int32();
  if (version >= 2) isolation_level = r.Int8();
  r.ResizeArray(topics, 2 + 4);
  for (auto& t : topics) {
    t.name = r.String();
    r.ResizeArray(t.partitions, 4 + 8);
    for (auto& p : t.partitions) {
      p.partition_index = r.Int32();
      p.timestamp = r.Int64();
    }
  }
  return r.status();
}

void ListOffsetsRequest::Encode(WireWriter& w, int16_t version) const {
  w.Int32(replica_id);
  if (version >= 2) w.Int8(isolation_level);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.timestamp);
    }
  }
}

void ListOffsetsResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 2) w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int16(p.error_code);
      w.Int64(p.timestamp);
      w.Int64(p.offset);
    }
  }
}

}  // namespace sluice::kafka
