#include "tools/format.h"

#include <iterator>

#include "client/log_client.h"

namespace sluice::tools {
namespace {

void AppendText(fmt::memory_buffer& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

}  // namespace

Result<RecordFormat> RecordFormat::Parse(std::string_view spec) {
  RecordFormat f;
  std::string literal;
  auto flush_literal = [&] {
    if (!literal.empty()) f.pieces_.push_back({Kind::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c != '%' && c != '\\') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 == spec.size()) {
      return InvalidArgument(
          "'{}' ends with a lone '{}'; write %% for a percent sign or \\\\ for a "
          "backslash",
          spec, c);
    }
    char t = spec[++i];
    if (c == '\\') {
      switch (t) {
        case 'n':
          literal.push_back('\n');
          break;
        case 't':
          literal.push_back('\t');
          break;
        case 'r':
          literal.push_back('\r');
          break;
        case '\\':
          literal.push_back('\\');
          break;
        default:
          return InvalidArgument("'{}' has an unknown escape '\\{}'; use \\n, \\t, \\r or \\\\",
                                 spec, t);
      }
      continue;
    }
    Kind kind;
    switch (t) {
      case '%':
        literal.push_back('%');
        continue;
      case 't':
        kind = Kind::kTopic;
        break;
      case 'p':
        kind = Kind::kPartition;
        break;
      case 'o':
        kind = Kind::kOffset;
        break;
      case 'k':
        kind = Kind::kKey;
        break;
      case 's':
        kind = Kind::kValue;
        break;
      case 'T':
        kind = Kind::kTimestamp;
        break;
      case 'h':
        kind = Kind::kHeaders;
        break;
      default:
        return InvalidArgument(
            "'{}' has an unknown token '%{}'; use %t topic, %p partition, %o offset, "
            "%k key, %s value, %T timestamp, %h headers, %% percent",
            spec, t);
    }
    flush_literal();
    f.pieces_.push_back({kind, {}});
  }
  flush_literal();
  return f;
}

void RecordFormat::Append(std::string_view topic, PartitionId partition, const RecordView& record,
                          fmt::memory_buffer& out) const {
  for (const Piece& p : pieces_) {
    switch (p.kind) {
      case Kind::kLiteral:
        AppendText(out, p.literal);
        break;
      case Kind::kTopic:
        AppendText(out, topic);
        break;
      case Kind::kPartition:
        fmt::format_to(std::back_inserter(out), "{}", partition.value());
        break;
      case Kind::kOffset:
        fmt::format_to(std::back_inserter(out), "{}", record.offset.value());
        break;
      case Kind::kKey:
        AppendText(out, record.has_key ? record.key : std::string_view(null_text_));
        break;
      case Kind::kValue:
        AppendText(out, record.has_value ? record.value : std::string_view(null_text_));
        break;
      case Kind::kTimestamp:
        fmt::format_to(std::back_inserter(out), "{}", record.timestamp.value());
        break;
      case Kind::kHeaders: {
        if (record.header_count == 0) break;
        auto headers = record.ParseHeaders();
        if (!headers.ok()) {
          AppendText(out, "<bad headers>");
          break;
        }
        bool first = true;
        for (const Header& h : *headers) {
          if (!first) out.push_back(',');
          first = false;
          AppendText(out, h.key);
          if (h.value) {
            out.push_back('=');
            AppendText(out, *h.value);
          }
        }
        break;
      }
    }
  }
}

void RecordFormat::Append(const client::ConsumedRecord& record, fmt::memory_buffer& out) const {
  for (const Piece& p : pieces_) {
    switch (p.kind) {
      case Kind::kLiteral:
        AppendText(out, p.literal);
        break;
      case Kind::kTopic:
        AppendText(out, record.tp->topic);
        break;
      case Kind::kPartition:
        fmt::format_to(std::back_inserter(out), "{}", record.tp->partition.value());
        break;
      case Kind::kOffset:
        fmt::format_to(std::back_inserter(out), "{}", record.offset.value());
        break;
      case Kind::kKey:
        AppendText(out, record.key ? std::string_view(*record.key) : std::string_view(null_text_));
        break;
      case Kind::kValue:
        AppendText(out,
                   record.value ? std::string_view(*record.value) : std::string_view(null_text_));
        break;
      case Kind::kTimestamp:
        fmt::format_to(std::back_inserter(out), "{}", record.timestamp.value());
        break;
      case Kind::kHeaders: {
        bool first = true;
        for (const Header& h : record.headers) {
          if (!first) out.push_back(',');
          first = false;
          AppendText(out, h.key);
          if (h.value) {
            out.push_back('=');
            AppendText(out, *h.value);
          }
        }
        break;
      }
    }
  }
}

}  // namespace sluice::tools
