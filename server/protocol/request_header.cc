#include "server/protocol/request_header.h"

#include "core/varint.h"
#include "server/protocol/api_keys.h"

namespace sluice::kafka {

Status PeekRequestHeader(std::string_view frame, RequestHeader* header) {
  if (frame.size() < 8) {
    return InvalidArgument("Kafka request of {} bytes is shorter than the 8-byte header",
                           frame.size());
  }
  header->api_key = static_cast<int16_t>(varint::GetBE16(frame.data()));
  header->api_version = static_cast<int16_t>(varint::GetBE16(frame.data() + 2));
  header->correlation_id = static_cast<int32_t>(varint::GetBE32(frame.data() + 4));
  return Status::Ok();
}

Status ReadRequestHeader(WireReader& r, RequestHeader* header) {
  header->api_key = r.Int16();
  header->api_version = r.Int16();
  header->correlation_id = r.Int32();
  auto client = r.NullableString();
  if (client) header->client_id = std::string(*client);
  if (IsFlexible(header->api_key, header->api_version)) r.SkipTaggedFields();
  return r.status();
}

void WriteRequestHeader(const RequestHeader& header, WireWriter& w) {
  w.Int16(header.api_key);
  w.Int16(header.api_version);
  w.Int32(header.correlation_id);
  w.NullableString(header.client_id);
  if (IsFlexible(header.api_key, header.api_version)) w.EmptyTaggedFields();
}

bool ResponseHeaderHasTags(int16_t api_key, int16_t api_version) {
  if (api_key == static_cast<int16_t>(ApiKey::kApiVersions)) return false;
  return IsFlexible(api_key, api_version);
}

void BeginResponseFrame(const RequestHeader& request, WireWriter& w) {
  w.ReserveInt32();
  w.Int32(request.correlation_id);
  if (ResponseHeaderHasTags(request.api_key, request.api_version)) w.EmptyTaggedFields();
}

std::string FinishResponseFrame(WireWriter& w) {
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  return w.Release();
}

}  // namespace sluice::kafka
