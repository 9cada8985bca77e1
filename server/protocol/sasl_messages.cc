#include "server/protocol/sasl_messages.h"

namespace sluice::kafka {

namespace {
constexpr int16_t kSaslAuthenticateFirstFlexible = 2;
}  // namespace

Status SaslHandshakeRequest::Decode(WireReader& r, int16_t version) {
  mechanism = std::string(r.String());
  return r.status();
}

void SaslHandshakeRequest::Encode(WireWriter& w, int16_t version) const { w.String(mechanism); }

void SaslHandshakeResponse::Encode(WireWriter& w, int16_t version) const {
  w.Int16(error_code);
  w.ArrayCount(static_cast<int32_t>(mechanisms.size()));
  for (const std::string& m : mechanisms) w.String(m);
}

Status SaslAuthenticateRequest::Decode(WireReader& r, int16_t version) {
  bool flexible = version >= kSaslAuthenticateFirstFlexible;
  auto bytes = flexible ? r.CompactBytes() : r.Bytes();
  auth_bytes = std::string(bytes);
  if (flexible) r.SkipTaggedFields();
  return r.status();
}

void SaslAuthenticateRequest::Encode(WireWriter& w, int16_t version) const {
  if (version >= kSaslAuthenticateFirstFlexible) {
    w.CompactBytes(auth_bytes);
    w.EmptyTaggedFields();
  } else {
    w.Bytes(auth_bytes);
  }
}

void SaslAuthenticateResponse::Encode(WireWriter& w, int16_t version) const {
  bool flexible = version >= kSaslAuthenticateFirstFlexible;
  w.Int16(error_code);
  if (flexible) {
    w.CompactNullableString(error_message);
    w.CompactBytes(auth_bytes);
  } else {
    w.NullableString(error_message);
    w.Bytes(auth_bytes);
  }
  if (version >= 1) w.Int64(session_lifetime_ms);
  if (flexible) w.EmptyTaggedFields();
}

}  // namespace sluice::kafka
