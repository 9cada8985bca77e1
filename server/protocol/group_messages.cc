#include "server/protocol/group_messages.h"

namespace sluice::kafka {

namespace {
std::optional<std::string> ToOpt(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}
}  // namespace

Status FindCoordinatorRequest::Decode(WireReader& r, int16_t version) {
  key = r.String();
  if (version >= 1) key_type = r.Int8();
  return r.status();
}

void FindCoordinatorRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(key);
  if (version >= 1) w.Int8(key_type);
}

void FindCoordinatorResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.Int16(error_code);
  if (version >= 1) w.NullableString(error_message);
  w.Int32(node_id);
  w.String(host);
  w.Int32(port);
}

Status JoinGroupRequest::Decode(WireReader& r, int16_t version) {
  group_id = r.String();
  session_timeout_ms = r.Int32();
  rebalance_timeout_ms = version >= 1 ? r.Int32() : session_timeout_ms;
  member_id = r.String();
  if (version >= 5) group_instance_id = ToOpt(r.NullableString());
  protocol_type = r.String();
  r.ResizeArray(protocols, 2 + 4);
  for (auto& p : protocols) {
    p.name = r.String();
    p.metadata = r.Bytes();
  }
  return r.status();
}

void JoinGroupRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(group_id);
  w.Int32(session_timeout_ms);
  if (version >= 1) w.Int32(rebalance_timeout_ms);
  w.String(member_id);
  if (version >= 5) w.NullableString(group_instance_id);
  w.String(protocol_type);
  w.ArrayCount(static_cast<int32_t>(protocols.size()));
  for (const auto& p : protocols) {
    w.String(p.name);
    w.Bytes(p.metadata);
  }
}

void JoinGroupResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 2) w.Int32(throttle_time_ms);
  w.Int16(error_code);
  w.Int32(generation_id);
  w.String(protocol_name);
  w.String(leader);
  w.String(member_id);
  w.ArrayCount(static_cast<int32_t>(members.size()));
  for (const auto& m : members) {
    w.String(m.member_id);
    if (version >= 5) w.NullableString(m.group_instance_id);
    w.Bytes(m.metadata);
  }
}

Status SyncGroupRequest::Decode(WireReader& r, int16_t version) {
  group_id = r.String();
  generation_id = r.Int32();
  member_id = r.String();
  if (version >= 3) group_instance_id = ToOpt(r.NullableString());
  r.ResizeArray(assignments, 2 + 4);
  for (auto& a : assignments) {
    a.member_id = r.String();
    a.assignment = r.Bytes();
  }
  return r.status();
}

void SyncGroupRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(group_id);
  w.Int32(generation_id);
  w.String(member_id);
  if (version >= 3) w.NullableString(group_instance_id);
  w.ArrayCount(static_cast<int32_t>(assignments.size()));
  for (const auto& a : assignments) {
    w.String(a.member_id);
    w.Bytes(a.assignment);
  }
}

void SyncGroupResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.Int16(error_code);
  w.Bytes(assignment);
}

Status HeartbeatRequest::Decode(WireReader& r, int16_t version) {
  group_id = r.String();
  generation_id = r.Int32();
  member_id = r.String();
  if (version >= 3) group_instance_id = ToOpt(r.NullableString());
  return r.status();
}

void HeartbeatRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(group_id);
  w.Int32(generation_id);
  w.String(member_id);
  if (version >= 3) w.NullableString(group_instance_id);
}

void HeartbeatResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.Int16(error_code);
}

Status LeaveGroupRequest::Decode(WireReader& r, int16_t version) {
  group_id = r.String();
  if (version < 3) {
    members.push_back({std::string(r.String()), std::nullopt});
  } else {
    r.ResizeArray(members, 2 + 2);
    for (auto& m : members) {
      m.member_id = r.String();
      m.group_instance_id = ToOpt(r.NullableString());
    }
  }
  return r.status();
}

void LeaveGroupRequest::Encode(WireWriter& w, int16_t version) const {
  w.String(group_id);
  if (version < 3) {
    w.String(members.empty() ? std::string_view() : std::string_view(members[0].member_id));
  } else {
    w.ArrayCount(static_cast<int32_t>(members.size()));
    for (const auto& m : members) {
      w.String(m.member_id);
      w.NullableString(m.group_instance_id);
    }
  }
}

void LeaveGroupResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.Int16(error_code);
  if (version >= 3) {
    w.ArrayCount(static_cast<int32_t>(members.size()));
    for (const auto& m : members) {
      w.String(m.member_id);
      w.NullableString(m.group_instance_id);
      w.Int16(m.error_code);
    }
  }
}

void ListGroupsResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.Int16(error_code);
  w.ArrayCount(static_cast<int32_t>(groups.size()));
  for (const auto& g : groups) {
    w.String(g.group_id);
    w.String(g.protocol_type);
  }
}

Status DescribeGroupsRequest::Decode(WireReader& r, int16_t version) {
  int32_t n = r.ArrayCountOf<std::string>(2);
  groups.reserve(n);
  for (int32_t i = 0; i < n && r.ok(); ++i) groups.emplace_back(r.String());
  if (version >= 3) include_authorized_operations = r.Bool();
  return r.status();
}

void DescribeGroupsRequest::Encode(WireWriter& w, int16_t version) const {
  w.ArrayCount(static_cast<int32_t>(groups.size()));
  for (const auto& g : groups) w.String(g);
  if (version >= 3) w.Bool(include_authorized_operations);
}

void DescribeGroupsResponse::Encode(WireWriter& w, int16_t version) const {
  if (version >= 1) w.Int32(throttle_time_ms);
  w.ArrayCount(static_cast<int32_t>(groups.size()));
  for (const auto& g : groups) {
    w.Int16(g.error_code);
    w.String(g.group_id);
    w.String(g.group_state);
    w.String(g.protocol_type);
    w.String(g.protocol_data);
    w.ArrayCount(static_cast<int32_t>(g.members.size()));
    for (const auto& m : g.members) {
      w.String(m.member_id);
      if (version >= 4) w.NullableString(m.group_instance_id);
      w.String(m.client_id);
      w.String(m.client_host);
      w.Bytes(m.member_metadata);
      w.Bytes(m.member_assignment);
    }
    if (version >= 3) w.Int32(g.authorized_operations);
  }
}

}  // namespace sluice::kafka
