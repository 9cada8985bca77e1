// Parsing the times users type: `--from-time T`, `--to-time T`.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace sluice::tools {

// Accepts epoch milliseconds ("1700000000000") or ISO-8601: a date ("2024-03-01"), a date and
// time ("2024-03-01T12:30", "2024-03-01T12:30:05", "2024-03-01 12:30:05.250") with an optional
// zone ("Z", "+02:00", "-0530"). Without a zone the time is UTC. Returns kInvalidArgument with
// the accepted forms for anything else (including impossible dates like 2024-02-30).
Result<Timestamp> ParseTime(std::string_view text);

// Formats epoch milliseconds as ISO-8601 UTC: "2024-03-01T12:30:05.250Z".
std::string FormatTime(Timestamp ts);

}  // namespace sluice::tools
