#include "server/protocol/request.h"

#include "server/protocol/api_keys.h"
#include "server/protocol/error_codes.h"

namespace sluice::kafka {
namespace {

template <typename T>
Result<DecodedRequest> DecodeBody(WireReader& r, const RequestHeader& h) {
  T body;
  Status st = body.Decode(r, h.api_version);
  if (!st.ok()) {
    return st.WithContext(fmt::format("{} v{} (correlation id {})", ApiName(h.api_key),
                                      h.api_version, h.correlation_id));
  }
  return DecodedRequest{h, RequestBody(std::move(body))};
}

}  // namespace

Result<DecodedRequest> DecodeRequest(std::string_view frame) {
  RequestHeader h;
  SLUICE_RETURN_IF_ERROR(PeekRequestHeader(frame, &h));
  if (!IsSupported(h.api_key, h.api_version)) {
    const ApiInfo* api = FindApi(h.api_key);
    if (api == nullptr) {
      return OutOfRange(
          "unknown Kafka API key {} (correlation id {}); this broker serves the "
          "keys listed by ApiVersions",
          h.api_key, h.correlation_id);
    }
    return OutOfRange(
        "{} version {} is not served (supported {}..{}); upgrade or downgrade the "
        "client, or pin the API version",
        api->name, h.api_version, api->min_version, api->max_version);
  }
  WireReader r(frame);
  SLUICE_RETURN_IF_ERROR(ReadRequestHeader(r, &h));
  switch (static_cast<ApiKey>(h.api_key)) {
    case ApiKey::kProduce:
      return DecodeBody<ProduceRequest>(r, h);
    case ApiKey::kFetch:
      return DecodeBody<FetchRequest>(r, h);
    case ApiKey::kListOffsets:
      return DecodeBody<ListOffsetsRequest>(r, h);
    case ApiKey::kMetadata:
      return DecodeBody<MetadataRequest>(r, h);
    case ApiKey::kOffsetCommit:
      return DecodeBody<OffsetCommitRequest>(r, h);
    case ApiKey::kOffsetFetch:
      return DecodeBody<OffsetFetchRequest>(r, h);
    case ApiKey::kFindCoordinator:
      return DecodeBody<FindCoordinatorRequest>(r, h);
    case ApiKey::kJoinGroup:
      return DecodeBody<JoinGroupRequest>(r, h);
    case ApiKey::kHeartbeat:
      return DecodeBody<HeartbeatRequest>(r, h);
    case ApiKey::kLeaveGroup:
      return DecodeBody<LeaveGroupRequest>(r, h);
    case ApiKey::kSyncGroup:
      return DecodeBody<SyncGroupRequest>(r, h);
    case ApiKey::kDescribeGroups:
      return DecodeBody<DescribeGroupsRequest>(r, h);
    case ApiKey::kListGroups:
      return DecodeBody<ListGroupsRequest>(r, h);
    case ApiKey::kApiVersions:
      return DecodeBody<ApiVersionsRequest>(r, h);
    case ApiKey::kCreateTopics:
      return DecodeBody<CreateTopicsRequest>(r, h);
    case ApiKey::kDeleteTopics:
      return DecodeBody<DeleteTopicsRequest>(r, h);
    case ApiKey::kInitProducerId:
      return DecodeBody<InitProducerIdRequest>(r, h);
  }
  return Internal("API key {} is in the served table but has no decoder", h.api_key);
}

int16_t ApiKeyOf(const RequestBody& body) {
  static constexpr ApiKey kKeys[] = {
      ApiKey::kProduce,         ApiKey::kFetch,         ApiKey::kListOffsets,
      ApiKey::kMetadata,        ApiKey::kOffsetCommit,  ApiKey::kOffsetFetch,
      ApiKey::kFindCoordinator, ApiKey::kJoinGroup,     ApiKey::kHeartbeat,
      ApiKey::kLeaveGroup,      ApiKey::kSyncGroup,     ApiKey::kDescribeGroups,
      ApiKey::kListGroups,      ApiKey::kApiVersions,   ApiKey::kCreateTopics,
      ApiKey::kDeleteTopics,    ApiKey::kInitProducerId};
  static_assert(std::size(kKeys) == std::variant_size_v<RequestBody>);
  return static_cast<int16_t>(kKeys[body.index()]);
}

std::string EncodeRequest(const RequestHeader& header, const RequestBody& body) {
  WireWriter w;
  w.ReserveInt32();
  WriteRequestHeader(header, w);
  std::visit([&](const auto& b) { b.Encode(w, header.api_version); }, body);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  return w.Release();
}

std::string UnsupportedApiVersionsFrame(const RequestHeader& header) {
  WireWriter w;
  w.ReserveInt32();
  w.Int32(header.correlation_id);
  ApiVersionsResponse::Supported(kUnsupportedVersion).Encode(w, 0);
  return FinishResponseFrame(w);
}

}  // namespace sluice::kafka
