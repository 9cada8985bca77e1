#include "server/protocol/admin_api_messages.h"

#include <climits>

namespace sluice::kafka {
namespace {

// Reads the classic or the flexible (KIP-482) encoding of the same fields.
struct In {
  WireReader& r;
  bool flex;

  std::string Str() { return std::string(flex ? r.CompactString() : r.String()); }
  std::optional<std::string> NStr() {
    auto v = flex ? r.CompactNullableString() : r.NullableString();
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  // Every element takes at least one byte on the wire in either encoding.
  template <typename T>
  int32_t Count(bool nullable = false) {
    int32_t n = flex ? r.CompactArrayCount(1, nullable) : r.ArrayCount(1, nullable);
    if (n > 0) r.Charge(static_cast<size_t>(n) * sizeof(T));
    return n;
  }
  template <typename T>
  void Resize(std::vector<T>& v) {
    int32_t n = Count<T>();
    if (n > 0) v.resize(static_cast<size_t>(n));
  }
  void Tags() {
    if (flex) r.SkipTaggedFields();
  }
};

struct Out {
  WireWriter& w;
  bool flex;

  void Str(std::string_view s) { flex ? w.CompactString(s) : w.String(s); }
  void NStr(const std::optional<std::string>& s) {
    std::optional<std::string_view> v;
    if (s) v = *s;
    flex ? w.CompactNullableString(v) : w.NullableString(v);
  }
  void Count(size_t n) {
    flex ? w.CompactArrayCount(static_cast<int32_t>(n)) : w.ArrayCount(static_cast<int32_t>(n));
  }
  void NullCount() { flex ? w.CompactArrayCount(-1) : w.ArrayCount(-1); }
  void Tags() {
    if (flex) w.EmptyTaggedFields();
  }
};

}  // namespace

// DeleteRecords: flexible from v2.
Status DeleteRecordsRequest::Decode(WireReader& r, int16_t version) {
  In in{r, version >= 2};
  in.Resize(topics);
  for (auto& t : topics) {
    t.name = in.Str();
    in.Resize(t.partitions);
    for (auto& p : t.partitions) {
      p.partition_index = r.Int32();
      p.offset = r.Int64();
      in.Tags();
    }
    in.Tags();
  }
  timeout_ms = r.Int32();
  in.Tags();
  return r.status();
}

void DeleteRecordsRequest::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 2};
  out.Count(topics.size());
  for (const auto& t : topics) {
    out.Str(t.name);
    out.Count(t.partitions.size());
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.offset);
      out.Tags();
    }
    out.Tags();
  }
  w.Int32(timeout_ms);
  out.Tags();
}

void DeleteRecordsResponse::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 2};
  w.Int32(throttle_time_ms);
  out.Count(topics.size());
  for (const auto& t : topics) {
    out.Str(t.name);
    out.Count(t.partitions.size());
    for (const auto& p : t.partitions) {
      w.Int32(p.partition_index);
      w.Int64(p.low_watermark);
      w.Int16(p.error_code);
      out.Tags();
    }
    out.Tags();
  }
  out.Tags();
}

// DescribeConfigs: flexible from v4.
Status DescribeConfigsRequest::Decode(WireReader& r, int16_t version) {
  In in{r, version >= 4};
  in.Resize(resources);
  for (auto& res : resources) {
    res.resource_type = r.Int8();
    res.resource_name = in.Str();
    int32_t n = in.Count<std::string>(/*nullable=*/true);
    if (n >= 0) {
      res.configuration_keys.emplace();
      res.configuration_keys->reserve(static_cast<size_t>(n));
      for (int32_t i = 0; i < n && r.ok(); ++i) res.configuration_keys->push_back(in.Str());
    }
    in.Tags();
  }
  if (version >= 1) include_synonyms = r.Bool();
  if (version >= 3) include_documentation = r.Bool();
  in.Tags();
  return r.status();
}

void DescribeConfigsRequest::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 4};
  out.Count(resources.size());
  for (const auto& res : resources) {
    w.Int8(res.resource_type);
    out.Str(res.resource_name);
    if (!res.configuration_keys) {
      out.NullCount();
    } else {
      out.Count(res.configuration_keys->size());
      for (const auto& k : *res.configuration_keys) out.Str(k);
    }
    out.Tags();
  }
  if (version >= 1) w.Bool(include_synonyms);
  if (version >= 3) w.Bool(include_documentation);
  out.Tags();
}

void DescribeConfigsResponse::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 4};
  w.Int32(throttle_time_ms);
  out.Count(results.size());
  for (const auto& res : results) {
    w.Int16(res.error_code);
    out.NStr(res.error_message);
    w.Int8(res.resource_type);
    out.Str(res.resource_name);
    out.Count(res.configs.size());
    for (const auto& c : res.configs) {
      out.Str(c.name);
      out.NStr(c.value);
      w.Bool(c.read_only);
      if (version == 0) w.Bool(c.is_default);
      if (version >= 1) w.Int8(c.config_source);
      w.Bool(c.is_sensitive);
      if (version >= 1) {
        out.Count(c.synonyms.size());
        for (const auto& s : c.synonyms) {
          out.Str(s.name);
          out.NStr(s.value);
          w.Int8(s.source);
          out.Tags();
        }
      }
      if (version >= 3) {
        w.Int8(c.config_type);
        out.NStr(c.documentation);
      }
      out.Tags();
    }
    out.Tags();
  }
  out.Tags();
}

// AlterConfigs: flexible from v2.
Status AlterConfigsRequest::Decode(WireReader& r, int16_t version) {
  In in{r, version >= 2};
  in.Resize(resources);
  for (auto& res : resources) {
    res.resource_type = r.Int8();
    res.resource_name = in.Str();
    in.Resize(res.configs);
    for (auto& c : res.configs) {
      c.name = in.Str();
      c.value = in.NStr();
      in.Tags();
    }
    in.Tags();
  }
  validate_only = r.Bool();
  in.Tags();
  return r.status();
}

void AlterConfigsRequest::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 2};
  out.Count(resources.size());
  for (const auto& res : resources) {
    w.Int8(res.resource_type);
    out.Str(res.resource_name);
    out.Count(res.configs.size());
    for (const auto& c : res.configs) {
      out.Str(c.name);
      out.NStr(c.value);
      out.Tags();
    }
    out.Tags();
  }
  w.Bool(validate_only);
  out.Tags();
}

void AlterConfigsResponse::EncodeAs(WireWriter& w, bool flexible) const {
  Out out{w, flexible};
  w.Int32(throttle_time_ms);
  out.Count(responses.size());
  for (const auto& res : responses) {
    w.Int16(res.error_code);
    out.NStr(res.error_message);
    w.Int8(res.resource_type);
    out.Str(res.resource_name);
    out.Tags();
  }
  out.Tags();
}

// IncrementalAlterConfigs: flexible from v1.
Status IncrementalAlterConfigsRequest::Decode(WireReader& r, int16_t version) {
  In in{r, version >= 1};
  in.Resize(resources);
  for (auto& res : resources) {
    res.resource_type = r.Int8();
    res.resource_name = in.Str();
    in.Resize(res.configs);
    for (auto& c : res.configs) {
      c.name = in.Str();
      c.config_operation = r.Int8();
      c.value = in.NStr();
      in.Tags();
    }
    in.Tags();
  }
  validate_only = r.Bool();
  in.Tags();
  return r.status();
}

void IncrementalAlterConfigsRequest::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 1};
  out.Count(resources.size());
  for (const auto& res : resources) {
    w.Int8(res.resource_type);
    out.Str(res.resource_name);
    out.Count(res.configs.size());
    for (const auto& c : res.configs) {
      out.Str(c.name);
      w.Int8(c.config_operation);
      out.NStr(c.value);
      out.Tags();
    }
    out.Tags();
  }
  w.Bool(validate_only);
  out.Tags();
}

// DeleteGroups: flexible from v2.
Status DeleteGroupsRequest::Decode(WireReader& r, int16_t version) {
  In in{r, version >= 2};
  int32_t n = in.Count<std::string>();
  groups_names.reserve(static_cast<size_t>(std::max(n, 0)));
  for (int32_t i = 0; i < n && r.ok(); ++i) groups_names.push_back(in.Str());
  in.Tags();
  return r.status();
}

void DeleteGroupsRequest::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 2};
  out.Count(groups_names.size());
  for (const auto& g : groups_names) out.Str(g);
  out.Tags();
}

void DeleteGroupsResponse::Encode(WireWriter& w, int16_t version) const {
  Out out{w, version >= 2};
  w.Int32(throttle_time_ms);
  out.Count(results.size());
  for (const auto& res : results) {
    out.Str(res.group_id);
    w.Int16(res.error_code);
    out.Tags();
  }
  out.Tags();
}

// OffsetDelete: v0 only, never flexible.
Status OffsetDeleteRequest::Decode(WireReader& r, int16_t version) {
  group_id = std::string(r.String());
  r.ResizeArray(topics, 2 + 4);
  for (auto& t : topics) {
    t.name = std::string(r.String());
    r.ResizeArray(t.partitions, 4);
    for (auto& p : t.partitions) p = r.Int32();
  }
  return r.status();
}

void OffsetDeleteRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(group_id);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (int32_t p : t.partitions) w.Int32(p);
  }
}

void OffsetDeleteResponse::Encode(WireWriter& w, int16_t version) const {
  w.Int16(error_code);
  w.Int32(throttle_time_ms);
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

// DescribeCluster: flexible in every version.
Status DescribeClusterRequest::Decode(WireReader& r, int16_t version) {
  include_cluster_authorized_operations = r.Bool();
  if (version >= 1) endpoint_type = r.Int8();
  r.SkipTaggedFields();
  return r.status();
}

void DescribeClusterRequest::Encode(WireWriter& w, int16_t version) const {
  w.Bool(include_cluster_authorized_operations);
  if (version >= 1) w.Int8(endpoint_type);
  w.EmptyTaggedFields();
}

void DescribeClusterResponse::Encode(WireWriter& w, int16_t version) const {
  Out out{w, true};
  w.Int32(throttle_time_ms);
  w.Int16(error_code);
  out.NStr(error_message);
  if (version >= 1) w.Int8(endpoint_type);
  out.Str(cluster_id);
  w.Int32(controller_id);
  out.Count(brokers.size());
  for (const auto& b : brokers) {
    w.Int32(b.broker_id);
    out.Str(b.host);
    w.Int32(b.port);
    out.NStr(b.rack);
    out.Tags();
  }
  w.Int32(cluster_authorized_operations);
  out.Tags();
}

}  // namespace sluice::kafka
