#include "server/protocol/request.h"

#include <iterator>
#include <type_traits>

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

Result<DecodedRequest> DecodeRequest(std::string_view frame, size_t max_decoded_bytes) {
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
  r.set_decoded_limit(max_decoded_bytes);
  SLUICE_RETURN_IF_ERROR(ReadRequestHeader(r, &h));
  switch (static_cast<ApiKey>(h.api_key)) {
#define SLUICE_API_DECODE(name, key, min_v, max_v, flex, type, handler) \
  case ApiKey::k##name:                                                 \
    return DecodeBody<type>(r, h);
    SLUICE_KAFKA_APIS(SLUICE_API_DECODE)
#undef SLUICE_API_DECODE
  }
  return Internal("API key {} is in the served table but has no decoder", h.api_key);
}

namespace {

// The key of each RequestBody alternative, in variant order (both come from the same table).
constexpr ApiKey kKeys[] = {
#define SLUICE_API_KEY(name, ...) ApiKey::k##name,
    SLUICE_KAFKA_APIS(SLUICE_API_KEY)
#undef SLUICE_API_KEY
};

template <typename T, size_t I = 0>
constexpr size_t IndexInBody() {
  if constexpr (I == std::variant_size_v<RequestBody>) {
    return I;
  } else if constexpr (std::is_same_v<std::variant_alternative_t<I, RequestBody>, T>) {
    return I;
  } else {
    return IndexInBody<T, I + 1>();
  }
}

// Each row's request type sits at the index whose key is that row's key.
#define SLUICE_API_CHECK(name, api_key, min_v, max_v, flex, type, handler) \
  static_assert(IndexInBody<type>() < std::size(kKeys) &&                  \
                    kKeys[IndexInBody<type>()] == ApiKey::k##name &&       \
                    kServedApis[IndexInBody<type>()].key == api_key,       \
                "SLUICE_KAFKA_APIS: " #type " is not at the position of " #name);
SLUICE_KAFKA_APIS(SLUICE_API_CHECK)
#undef SLUICE_API_CHECK

}  // namespace

int16_t ApiKeyOf(const RequestBody& body) { return static_cast<int16_t>(kKeys[body.index()]); }

std::string EncodeRequest(const RequestHeader& header, const RequestBody& body) {
  WireWriter w;
  w.ReserveInt32();
  WriteRequestHeader(header, w);
  std::visit([&](const auto& b) { b.Encode(w, header.api_version); }, body);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  return w.Release();
}

std::string UnsupportedApiVersionsFrame(const RequestHeader& header, bool with_sasl) {
  WireWriter w;
  w.ReserveInt32();
  w.Int32(header.correlation_id);
  ApiVersionsResponse::Supported(kUnsupportedVersion, with_sasl).Encode(w, 0);
  return FinishResponseFrame(w);
}

}  // namespace sluice::kafka
