// Decoding a whole request frame into a typed request, and encoding one (tests, fuzz round trip).
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <variant>

#include "core/status.h"
#include "server/protocol/admin_api_messages.h"
#include "server/protocol/admin_messages.h"
#include "server/protocol/api_keys.h"
#include "server/protocol/fetch_messages.h"
#include "server/protocol/group_messages.h"
#include "server/protocol/offset_messages.h"
#include "server/protocol/produce_messages.h"
#include "server/protocol/request_header.h"
#include "server/protocol/sasl_messages.h"
#include "server/protocol/txn_messages.h"

namespace sluice::kafka {

namespace internal {
// std::variant of the types after the first (the generated list starts with a comma).
template <typename Ignored, typename... T>
struct VariantOfRest {
  using type = std::variant<T...>;
};
}  // namespace internal

// One alternative per row of SLUICE_KAFKA_APIS, in table order.
using RequestBody = internal::VariantOfRest<void
#define SLUICE_API_TYPE(name, key, min_v, max_v, flex, type, handler) , type
                                                SLUICE_KAFKA_APIS(SLUICE_API_TYPE)
#undef SLUICE_API_TYPE
                                            >::type;
static_assert(std::variant_size_v<RequestBody> == std::size(kServedApis),
              "SLUICE_KAFKA_APIS: one request type per served API");

struct DecodedRequest {
  RequestHeader header;
  RequestBody body;
};

// Decodes one frame (without its size prefix).
// Errors: kOutOfRange when the API key or version is not served (the caller answers an
// ApiVersions request with UNSUPPORTED_VERSION and closes the connection for anything else);
// kInvalidArgument when the header or body is malformed (a length or count past the end, ...).
// `max_decoded_bytes` bounds what the decoded request may take in memory (WireReader's decoded
// size); a request over it is kInvalidArgument, refused before the allocation.
Result<DecodedRequest> DecodeRequest(std::string_view frame, size_t max_decoded_bytes = SIZE_MAX);

// Encodes a request frame including its INT32 size prefix. REQUIRES: header.api_key matches the
// body's type.
std::string EncodeRequest(const RequestHeader& header, const RequestBody& body);

// The ApiKey value of a body type.
int16_t ApiKeyOf(const RequestBody& body);

// The frame answering an ApiVersions request of an unsupported version: header v0, v0 body
// layout with UNSUPPORTED_VERSION and our full table, so the client can retry lower (KIP-511).
std::string UnsupportedApiVersionsFrame(const RequestHeader& header, bool with_sasl = false);

}  // namespace sluice::kafka
