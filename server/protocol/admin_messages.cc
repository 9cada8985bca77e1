#include "server/protocol/admin_messages.h"

#include "server/protocol/api_keys.h"

namespace sluice::kafka {

Status ApiVersionsRequest::Decode(WireReader& r, int16_t version) {
  if (version >= 3) {
    client_software_name = r.CompactString();
    client_software_version = r.CompactString();
    r.SkipTaggedFields();
  }
  return r.status();
}

void ApiVersionsRequest::Encode(WireWriter& w, int16_t version) const {
  if (version >= 3) {
    w.CompactString(client_software_name);
    w.CompactString(client_software_version);
    w.EmptyTaggedFields();
  }
}

ApiVersionsResponse ApiVersionsResponse::Supported(int16_t error_code, bool with_sasl) {
  ApiVersionsResponse resp;
  resp.error_code = error_code;
  for (const ApiInfo& a : SupportedApis()) {
    if (!with_sasl && (a.key == static_cast<int16_t>(ApiKey::kSaslHandshake) ||
                       a.key == static_cast<int16_t>(ApiKey::kSaslAuthenticate))) {
      continue;
    }
    resp.api_keys.push_back({a.key, a.min_version, a.max_version});
  }
  return resp;
}

void ApiVersionsResponse::Encode(WireWriter& w, int16_t version) const {
  bool flex = version >= 3;
  w.Int16(error_code);
  if (flex) {
    w.CompactArrayCount(static_cast<int32_t>(api_keys.size()));
  } else {
    w.ArrayCount(static_cast<int32_t>(api_keys.size()));
  }
  for (const auto& k : api_keys) {
    w.Int16(k.api_key);
    w.Int16(k.min_version);
    w.Int16(k.max_version);
    if (flex) w.EmptyTaggedFields();
  }
  if (version >= 1) w.Int32(throttle_time_ms);
  if (flex) w.EmptyTaggedFields();
}

Status MetadataRequest::Decode(WireReader& r, int16_t version) {
  int32_t n = r.ArrayCountOf<std::string>(2, /*nullable=*/version >= 1);
  if (n >= 0 && !(version == 0 && n == 0)) {
    topics.emplace();
    topics->reserve(n);
    for (int32_t i = 0; i < n && r.ok(); ++i) topics->emplace_back(r.String());
  }
  if (version >= 4) allow_auto_topic_creation = r.Bool();
  return r.status();
}

void MetadataRequest::Encode(WireWriter& w, int16_t version) const {
  if (!topics) {
    w.ArrayCount(version >= 1 ? -1 : 0);
  } else {
    w.ArrayCount(static_cast<int32_t>(topics->size()));
    for (const auto& t : *topics) w.String(t);
  }
  if (version >= 4) w.Bool(allow_auto_topic_creation);
}

void MetadataResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 3) w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(brokers.size()));
  for (const auto& b : brokers) {
    w.Int32(b.node_id);
    w.String(b.host);
    w.Int32(b.port);
    if (version >= 1) w.NullableString(b.rack);
  }
  if (version >= 2) w.NullableString(cluster_id);
  if (version >= 1) w.Int32(controller_id);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.Int16(t.error_code);
    w.String(t.name);
    if (version >= 1) w.Bool(t.is_internal);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int16(p.error_code);
      w.Int32(p.partition_index);
      w.Int32(p.leader_id);
      w.ArrayCount(static_cast<int32_t>(p.replica_nodes.size()));
      for (int32_t n : p.replica_nodes) w.Int32(n);
      w.ArrayCount(static_cast<int32_t>(p.isr_nodes.size()));
      for (int32_t n : p.isr_nodes) w.Int32(n);
    }
  }
}

Status CreateTopicsRequest::Decode(WireReader& r, int16_t version) {
  r.ResizeArray(topics, 2 + 4 + 2 + 4 + 4);
  for (auto& t : topics) {
    t.name = r.String();
    t.num_partitions = r.Int32();
    t.replication_factor = r.Int16();
    r.ResizeArray(t.assignments, 4 + 4);
    for (auto& a : t.assignments) {
      a.partition_index = r.Int32();
      r.ResizeArray(a.broker_ids, 4);
      for (auto& b : a.broker_ids) b = r.Int32();
    }
    r.ResizeArray(t.configs, 2 + 2);
    for (auto& c : t.configs) {
      c.name = r.String();
      auto v = r.NullableString();
      if (v) c.value = std::string(*v);
    }
  }
  timeout_ms = r.Int32();
  if (version >= 1) validate_only = r.Bool();
  return r.status();
}

void CreateTopicsRequest::Encode(WireWriter& w, int16_t version) const {
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.Int32(t.num_partitions);
    w.Int16(t.replication_factor);
    w.ArrayCount(static_cast<int32_t>(t.assignments.size()));
    for (const auto& a : t.assignments) {
      w.Int32(a.partition_index);
      w.ArrayCount(static_cast<int32_t>(a.broker_ids.size()));
      for (int32_t b : a.broker_ids) w.Int32(b);
    }
    w.ArrayCount(static_cast<int32_t>(t.configs.size()));
    for (const auto& c : t.configs) {
      w.String(c.name);
      w.NullableString(c.value);
    }
  }
  w.Int32(timeout_ms);
  if (version >= 1) w.Bool(validate_only);
}

void CreateTopicsResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 2) w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.Int16(t.error_code);
    if (version >= 1) w.NullableString(t.error_message);
  }
}

Status DeleteTopicsRequest::Decode(WireReader& r, int16_t version) {
  int32_t n = r.ArrayCountOf<std::string>(2);
  topic_names.reserve(n);
  for (int32_t i = 0; i < n && r.ok(); ++i) topic_names.emplace_back(r.String());
  timeout_ms = r.Int32();
  return r.status();
}

void DeleteTopicsRequest::Encode(WireWriter& w, int16_t version) const {
  w.ArrayCount(static_cast<int32_t>(topic_names.size()));
  for (const auto& t : topic_names) w.String(t);
  w.Int32(timeout_ms);
}

void DeleteTopicsResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(responses.size()));
  for (const auto& r : responses) {
    w.String(r.name);
    w.Int16(r.error_code);
  }
}

Status InitProducerIdRequest::Decode(WireReader& r, int16_t version) {
  auto t = r.NullableString();
  if (t) transactional_id = std::string(*t);
  transaction_timeout_ms = r.Int32();
  return r.status();
}

void InitProducerIdRequest::Encode(WireWriter& w, int16_t version) const {
  w.NullableString(transactional_id);
  w.Int32(transaction_timeout_ms);
}

void InitProducerIdResponse::Encode(WireWriter& w, int16_t version) const {
  w.Int32(throttle_time_ms);
  w.Int16(error_code);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
}

}  // namespace sluice::kafka
