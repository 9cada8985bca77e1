// sluice produce TOPIC: one record per stdin line. The record timestamp is the producer's clock,
// or --timestamp T for every record, or --timestamp-field NAME: the value's top-level JSON field
// NAME (epoch ms, or an ISO-8601 string); --header k=v (repeatable) adds headers to every record.
#include <errno.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/log_client.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/time_parse.h"
#include "tools/topic_check.h"

namespace sluice::tools {
namespace {

struct ProduceArgs {
  std::string topic;
  std::string key_separator;
  bool has_separator = false;
  int32_t partition = 0;
  bool has_partition = false;
  std::string acks = "leader";
  std::string compression = "none";
  std::string timestamp;             // --timestamp T ("" = none)
  std::string timestamp_field;       // --timestamp-field NAME ("" = none)
  std::vector<std::string> headers;  // --header k=v
};

// The value of top-level field `name` of the JSON object `value` as a time: a number (epoch ms)
// or a string ParseTime accepts. Nested objects are skipped by tracking depth and strings.
Result<Timestamp> TimeField(std::string_view value, const std::string& name) {
  const std::string quoted = "\"" + name + "\"";
  int depth = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      size_t end = i + 1;
      while (end < value.size() && value[end] != '"') end += value[end] == '\\' ? 2 : 1;
      if (depth == 1 && value.substr(i, end + 1 - i) == quoted) {
        size_t at = value.find_first_not_of(" \t", end + 1);
        if (at != std::string_view::npos && value[at] == ':') {
          at = value.find_first_not_of(" \t", at + 1);
          if (at == std::string_view::npos) break;
          if (value[at] == '"') {
            size_t close = value.find('"', at + 1);
            if (close == std::string_view::npos) break;
            return ParseTime(value.substr(at + 1, close - at - 1));
          }
          size_t stop = value.find_first_of(",} \t", at);
          return ParseTime(value.substr(at, stop == std::string_view::npos ? stop : stop - at));
        }
      }
      i = end;
    }
  }
  return InvalidArgument("the value has no top-level field \"{}\" (a JSON object is expected)",
                         name);
}

// Reads lines from a file descriptor with large reads; stops at EOF or on SIGINT/SIGTERM.
// Each byte is searched for '\n' once (linear in the input however long a line is), and a line
// longer than `max_line` is refused as soon as that many bytes of it have been read, so memory
// stays within about twice `max_line`.
class LineReader {
 public:
  LineReader(int fd, size_t max_line) : fd_(fd), max_line_(max_line) {
    buf_.resize(std::min<size_t>(1 << 20, max_line + 1));
  }

  // Sets *line to the next line without its '\n'. Returns false at end of input or when
  // interrupted; a final line without '\n' is still returned. *line is valid until the next call.
  // kResourceExhausted if the line is longer than max_line.
  Result<bool> Next(std::string_view* line) {
    while (true) {
      // Bytes begin_ .. begin_ + scanned_ are known to hold no '\n'.
      size_t nl =
          std::string_view(buf_.data() + begin_ + scanned_, end_ - begin_ - scanned_).find('\n');
      if (nl != std::string_view::npos) {
        nl += scanned_;
        scanned_ = 0;
        if (nl > max_line_) return TooLong();
        *line = std::string_view(buf_.data() + begin_, nl);
        begin_ += nl + 1;
        return true;
      }
      scanned_ = end_ - begin_;
      if (scanned_ > max_line_) return TooLong();
      if (eof_) {
        if (begin_ == end_) return false;
        *line = std::string_view(buf_.data() + begin_, end_ - begin_);
        begin_ = end_;
        scanned_ = 0;
        return true;
      }
      // Make room: move the partial line to the front, grow if one line fills the buffer.
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == buf_.size()) buf_.resize(std::min(buf_.size() * 2, max_line_ + 1));
      ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
      if (n < 0) {
        if (errno == EINTR) {
          if (Interrupted()) return false;
          continue;
        }
        return ErrnoToStatus(errno, "read", "stdin");
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
      if (Interrupted()) return false;
    }
  }

 private:
  Status TooLong() const {
    return ResourceExhausted("the line is longer than {} bytes", max_line_);
  }

  int fd_;
  size_t max_line_;
  std::string buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t scanned_ = 0;
  bool eof_ = false;
};

Acks ParseAcks(const std::string& s) {
  if (s == "none") return Acks::kNone;
  if (s == "all") return Acks::kAll;
  return Acks::kLeader;
}

Status RunProduce(const CliContext& ctx, const ProduceArgs& args) {
  if (args.has_separator && args.key_separator.empty()) {
    return UsageError("--key-separator is empty; give the text that separates key from value");
  }
  if (!args.timestamp.empty() && !args.timestamp_field.empty()) {
    return UsageError("--timestamp and --timestamp-field exclude each other");
  }
  Timestamp fixed_ts = kNoTimestamp;
  if (!args.timestamp.empty()) {
    Result<Timestamp> t = ParseTime(args.timestamp);
    if (!t.ok()) return UsageError("--timestamp: " + t.status().message());
    fixed_ts = *t;
  }
  std::vector<Header> headers;
  for (const std::string& h : args.headers) {
    size_t eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(fmt::format("--header '{}': give it as KEY=VALUE", h));
    }
    headers.push_back(Header{h.substr(0, eq), h.substr(eq + 1)});
  }
  InstallInterruptHandler();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kWrite));
  const std::string location = LogLocation(ctx);
  SLUICE_RETURN_IF_ERROR(CheckTopicExists(*log, args.topic, location).status());
  std::optional<PartitionId> partition;
  if (args.has_partition) {
    SLUICE_RETURN_IF_ERROR(CheckPartition(*log, args.topic, args.partition, location).status());
    partition = PartitionId(args.partition);
  }

  client::ProducerConfig config;
  config.acks = ParseAcks(args.acks);
  SLUICE_ASSIGN_OR_RETURN(config.compression, codec::Parse(args.compression));
  // An idempotent Kafka producer always waits for acks=all; --acks none|leader asks for less.
  if (log->kind() == "kafka" && config.acks != Acks::kAll) config.idempotent = false;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogProducer> producer, log->NewProducer(config));
  std::atomic<int64_t> delivered{0};
  client::DeliveryCallback on_delivery = [&delivered](const Status& s, const TopicPartition&,
                                                      Offset) {
    if (s.ok()) delivered.fetch_add(1, std::memory_order_relaxed);
  };

  // A record (key, value and their framing) never exceeds the topic's max.message.bytes, so a
  // longer line can be refused without reading the rest of it. A broker that does not report
  // the topic's configs: the largest any topic accepts, the broker refuses what is too long.
  SLUICE_ASSIGN_OR_RETURN(client::TopicDescription topic, log->DescribeTopic(args.topic));
  int64_t max_message_bytes = 67108864;
  if (auto it = topic.configs.find("max.message.bytes"); it != topic.configs.end()) {
    max_message_bytes = std::stoll(it->second);
  }
  LineReader reader(STDIN_FILENO, static_cast<size_t>(max_message_bytes));
  // Reading a file (stdin redirected from one): a progress line on a terminal, with the share of
  // the file read. Typed or piped input shows none.
  struct stat in_stat {};
  const bool from_file = fstat(STDIN_FILENO, &in_stat) == 0 && S_ISREG(in_stat.st_mode);
  std::optional<ProgressLine> progress;
  if (from_file) progress.emplace(fmt::format("produce {}", args.topic));
  int64_t bytes_read = 0;
  int64_t line_no = 0;
  Status send_error;
  Record record;
  record.headers = headers;
  record.timestamp = fixed_ts;
  while (true) {
    std::string_view line;
    Result<bool> more = reader.Next(&line);
    if (!more.ok()) {
      if (more.status().code() == StatusCode::kResourceExhausted) {
        send_error = InvalidArgument(
            "line {} is longer than topic '{}' accepts (max.message.bytes = {} bytes); split the "
            "line, or create the topic with a larger --max-message-bytes (up to 67108864)",
            line_no + 1, args.topic, max_message_bytes);
      } else {
        send_error = more.status();
      }
      break;
    }
    if (!*more) break;
    ++line_no;
    if (progress) {
      bytes_read += static_cast<int64_t>(line.size()) + 1;
      progress->Update(line_no, in_stat.st_size > 0 ? static_cast<double>(bytes_read) /
                                                          static_cast<double>(in_stat.st_size)
                                                    : -1);
    }
    size_t sep = args.has_separator ? line.find(args.key_separator) : std::string_view::npos;
    if (sep != std::string_view::npos) {
      record.key.emplace(line.substr(0, sep));
      record.value.emplace(line.substr(sep + args.key_separator.size()));
    } else {
      record.key.reset();
      record.value.emplace(line);
    }
    if (!args.timestamp_field.empty()) {
      Result<Timestamp> t = TimeField(*record.value, args.timestamp_field);
      if (!t.ok()) {
        send_error = InvalidArgument(
            "line {}: --timestamp-field {}: {}; fix the line or leave the option out", line_no,
            args.timestamp_field, t.status().message());
        break;
      }
      record.timestamp = *t;
    }
    Status s = producer->Send(args.topic, record, partition, on_delivery);
    if (!s.ok()) {
      send_error = s.WithContext(fmt::format("line {}", line_no));
      break;
    }
  }
  if (progress) progress->Clear();
  Status flushed = producer->Flush();
  producer.reset();
  // Embedded: the final fsync and close of the partitions; an error there means the records
  // may not be durable, so it fails the command.
  Status closed = log->Close().WithContext(
      fmt::format("closing {} after writing to topic '{}'", location, args.topic));
  log.reset();
  int64_t written = delivered.load();
  if (!send_error.ok() || !flushed.ok() || !closed.ok()) {
    const Status& first = !send_error.ok() ? send_error : !flushed.ok() ? flushed : closed;
    return Status(first.code(), fmt::format("{} ({} records before it were written to '{}')",
                                            first.message(), written, args.topic));
  }
  fmt::print(stderr, "wrote {} record{} to topic '{}'\n", written, written == 1 ? "" : "s",
             args.topic);
  return Status::Ok();
}

}  // namespace

void RegisterProduceCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ProduceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "produce", "Write one record per stdin line to a topic; prints the count to stderr");
  cmd->add_option("topic", args->topic, "Topic to write to")->required();
  auto* sep = cmd->add_option("--key-separator", args->key_separator,
                              "Text before the first occurrence of SEP is the key; lines "
                              "without it have no key");
  auto* part =
      cmd->add_option("--partition", args->partition,
                      "Write every record to this partition (default: by key, or spread evenly)");
  cmd->add_option("--acks", args->acks,
                  "none: page cache; leader: written to the OS (survives kill -9, default); "
                  "all: fsynced (survives power loss)")
      ->check(CLI::IsMember({"none", "leader", "all"}));
  cmd->add_option("--compression", args->compression,
                  "Compress each batch with CODEC, as Kafka clients do: none (default), gzip, "
                  "snappy, lz4 or zstd")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  cmd->add_option("--timestamp", args->timestamp,
                  "Timestamp of every record: epoch ms or ISO-8601 (default: now)");
  cmd->add_option("--timestamp-field", args->timestamp_field,
                  "Take each record's timestamp from this top-level field of its JSON value "
                  "(epoch ms or an ISO-8601 string)");
  cmd->add_option("--header", args->headers, "Add header KEY=VALUE to every record (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->callback([&ctx, args, sep, part] {
    args->has_separator = sep->count() > 0;
    args->has_partition = part->count() > 0;
    ctx.action = [&ctx, args] { return RunProduce(ctx, *args); };
  });
}

}  // namespace sluice::tools
