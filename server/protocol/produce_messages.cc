#include "server/protocol/produce_messages.h"

namespace sluice::kafka {

Status ProduceRequest::Decode(WireReader& r, int16_t version) {
  if (version >= 3) {  // v0-v2 have no transactional id
    auto txn = r.NullableString();
    if (txn) transactional_id = std::string(*txn);
  }
  acks = r.Int16();
  timeout_ms = r.Int32();
  r.ResizeArray(topics, 2 + 4);
  for (auto& t : topics) {
    t.name = r.String();
    r.ResizeArray(t.partitions, 4 + 4);
    for (auto& p : t.partitions) {
      p.index = r.Int32();
      auto rec = r.NullableBytes();
      if (rec) p.records = std::string(*rec);
    }
  }
  return r.status();
}

void ProduceRequest::Encode(WireWriter& w, int16_t version) const {
  if (version >= 3) w.NullableString(transactional_id);
  w.Int16(acks);
  w.Int32(timeout_ms);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.NullableBytes(p.records);
    }
  }
}

void ProduceResponse::Encode(WireWriter& w, int16_t version) const {
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.Int16(p.error_code);
      w.Int64(p.base_offset);
      if (version >= 2) w.Int64(p.log_append_time_ms);
      if (version >= 5) w.Int64(p.log_start_offset);
    }
  }
  if (version >= 1) w.Int32(throttle_time_ms);
}

}  // namespace sluice::kafka
