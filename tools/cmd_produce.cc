// sluice produce TOPIC: one record per stdin line.
#include <errno.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/log_client.h"
#include "tools/commands.h"
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
};

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
  int64_t line_no = 0;
  Status send_error;
  Record record;
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
    size_t sep = args.has_separator ? line.find(args.key_separator) : std::string_view::npos;
    if (sep != std::string_view::npos) {
      record.key.emplace(line.substr(0, sep));
      record.value.emplace(line.substr(sep + args.key_separator.size()));
    } else {
      record.key.reset();
      record.value.emplace(line);
    }
    Status s = producer->Send(args.topic, record, partition, on_delivery);
    if (!s.ok()) {
      send_error = s.WithContext(fmt::format("line {}", line_no));
      break;
    }
  }
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
  cmd->callback([&ctx, args, sep, part] {
    args->has_separator = sep->count() > 0;
    args->has_partition = part->count() > 0;
    ctx.action = [&ctx, args] { return RunProduce(ctx, *args); };
  });
}

}  // namespace sluice::tools
