// Kafka request header (v1, or v2 for flexible request versions) and response header
// (v0; v1 for flexible responses except ApiVersions, whose response header is always v0).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// Reads api key, version and correlation id only (enough to answer or log even when the rest is
// garbage). kInvalidArgument if the frame is shorter than 8 bytes.
Status PeekRequestHeader(std::string_view frame, RequestHeader* header);

// Parses the whole request header; on return `r` is positioned at the body. The header version
// follows from (api_key, api_version): v2 (with TAG_BUFFER) for flexible versions of served APIs,
// v1 otherwise. client_id is an INT16 NULLABLE_STRING in both.
Status ReadRequestHeader(WireReader& r, RequestHeader* header);
void WriteRequestHeader(const RequestHeader& header, WireWriter& w);

// True when the response to (api_key, api_version) carries header v1 (a TAG_BUFFER after the
// correlation id): flexible versions except ApiVersions.
bool ResponseHeaderHasTags(int16_t api_key, int16_t api_version);

// Starts a response frame: a size placeholder and the response header. Finish it with
// FinishResponseFrame once the body is written.
void BeginResponseFrame(const RequestHeader& request, WireWriter& w);
// Fills the size prefix; returns the whole frame.
std::string FinishResponseFrame(WireWriter& w);

}  // namespace sluice::kafka
