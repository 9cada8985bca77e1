// RecordFormat: kcat-style output formats for `sluice consume --format`.
//
// Tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (epoch ms),
// %h headers (comma-separated key=value; a null header value prints as the bare key), %% a
// literal percent; escapes \n newline, \t tab, \r carriage return, \\ backslash. A null key or
// value prints as nothing, or as the null text if one is set (`consume -Z`, like kcat's -Z:
// "NULL"), so a tombstone can be told from an empty value. Anything else after % or \ is rejected
// by Parse.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::client {
struct ConsumedRecord;
}

namespace sluice::tools {

class RecordFormat {
 public:
  // The default: the value and a newline ("%s\n").
  static constexpr std::string_view kDefault = "%s\\n";

  // Compiles `spec`; kInvalidArgument names the bad token and lists the valid ones.
  static Result<RecordFormat> Parse(std::string_view spec);

  // What a null key or value prints as (default: nothing).
  void set_null_text(std::string text) { null_text_ = std::move(text); }

  // Appends one formatted record to `out`.
  void Append(std::string_view topic, PartitionId partition, const RecordView& record,
              fmt::memory_buffer& out) const;
  // The same for a record read through a LogClient (client/log_client.h).
  void Append(const client::ConsumedRecord& record, fmt::memory_buffer& out) const;

 private:
  enum class Kind { kLiteral, kTopic, kPartition, kOffset, kKey, kValue, kTimestamp, kHeaders };
  struct Piece {
    Kind kind;
    std::string literal;  // for kLiteral
  };
  std::vector<Piece> pieces_;
  std::string null_text_;
};

}  // namespace sluice::tools
