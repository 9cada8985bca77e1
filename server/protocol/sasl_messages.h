// SaslHandshake (17) v0..1 and SaslAuthenticate (36) v0..2 (apache/kafka
// SaslHandshakeRequest.json, SaslAuthenticateRequest.json). SaslAuthenticate v2 is flexible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct SaslHandshakeRequest {
  std::string mechanism;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct SaslHandshakeResponse {
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;  // the mechanisms this listener enables

  void Encode(WireWriter& w, int16_t version) const;
};

struct SaslAuthenticateRequest {
  std::string auth_bytes;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct SaslAuthenticateResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::string auth_bytes;
  int64_t session_lifetime_ms = 0;  // v1+

  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
