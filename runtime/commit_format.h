// The commit record format: what a task writes into the "__sluice_meta" column family of the
// job's RocksDB, in the same WriteBatch as its state changes. Spec in runtime/README.md.
//
// Keys (task = stage id and input partition):
//   "ckpt/<stage>/<partition>"        TaskCheckpoint (input offsets, producer id, next sequences)
//   "mark/<stage>/<partition>"        fixed64 commit number, written in every commit; must equal
//                                     the checkpoint's (detects stale or deleted checkpoints)
//   "outbox/<stage>/<partition>/<n>"  OutboxEntry: one output batch committed but maybe not yet
//                                     published (n: 16-digit decimal, in publish order)
//   "app"                             the application id the state belongs to
//
// Values start with a format byte so a future version can be told apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/validated_batch.h"

namespace sluice {

// The fields of a value: integers are zig-zag varlongs (core/varint.h), strings a varlong length
// then the bytes (length -1: null). The runtime's state records (here, and the broker job's) are
// written and read with these.
void PutString(std::string* out, std::string_view s);
void PutOptString(std::string* out, const std::optional<std::string>& s);

// A bounds-checked reader over a value; each call returns false on a short or malformed field.
class ValueReader {
 public:
  explicit ValueReader(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool Long(int64_t* v);
  bool Int(int32_t* v);
  bool String(std::string* s);
  bool OptString(std::optional<std::string>* s);  // nullopt for the length -1
  bool Byte(char* c);
  std::string_view Rest() const { return {p_, static_cast<size_t>(end_ - p_)}; }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

struct TaskId {
  int32_t stage = 0;
  int32_t partition = 0;
  auto operator<=>(const TaskId&) const = default;
};

struct TaskCheckpoint {
  struct Input {
    std::string topic;
    int32_t partition = 0;
    int64_t next_offset = 0;  // next offset to read
    bool operator==(const Input&) const = default;
  };
  struct Output {
    std::string topic;
    int32_t partition = 0;
    int32_t next_sequence = 0;  // idempotent sequence of the next record published there
    bool operator==(const Output&) const = default;
  };
  int64_t commit_number = 0;  // 1 for the task's first commit, +1 per commit
  int64_t producer_id = -1;
  std::vector<Input> inputs;
  std::vector<Output> outputs;
  bool operator==(const TaskCheckpoint&) const = default;
};

struct OutboxEntry {
  std::string topic;
  int32_t partition = 0;
  std::string batch;  // a RecordBatch v2 with producer id and base sequence set
  // The proof that `batch` is valid when this process built it (ValidatedBatch::FromBuilder),
  // so publishing needs no second CRC pass. It views `batch`'s bytes: a move keeps them in place
  // (a batch is longer than a string's inline buffer) and Publish checks that it still does; a
  // copy drops it, and an entry read back from the state has none (Publish validates those).
  std::optional<ValidatedBatch> built;

  OutboxEntry() = default;
  OutboxEntry(std::string t, int32_t p, std::string b)
      : topic(std::move(t)), partition(p), batch(std::move(b)) {}
  OutboxEntry(const OutboxEntry& o) : topic(o.topic), partition(o.partition), batch(o.batch) {}
  OutboxEntry& operator=(const OutboxEntry& o) {
    topic = o.topic;
    partition = o.partition;
    batch = o.batch;
    built.reset();
    return *this;
  }
  OutboxEntry(OutboxEntry&&) noexcept = default;
  OutboxEntry& operator=(OutboxEntry&&) noexcept = default;
  bool operator==(const OutboxEntry& o) const {
    return topic == o.topic && partition == o.partition && batch == o.batch;
  }
};

inline constexpr std::string_view kMetaColumnFamily = "__sluice_meta";
// Metadata of the group offsets a job mirrors: "sluice-commit=<commit number> task=<s>/<p>".
inline constexpr std::string_view kMirrorTag = "sluice-commit=";
// Metadata of group offsets written by `sluice job reset` for a job without state: a fresh task
// starts from them instead of JobOptions::start.
inline constexpr std::string_view kResetTag = "sluice-reset";
inline constexpr std::string_view kAppKey = "app";
// How the job's stages exchange records: "local" or "log" (JobOptions::exchange). Absent in state
// written before the key existed, which was always "log".
inline constexpr std::string_view kExchangeKey = "exchange";

std::string CheckpointKey(TaskId t);
std::string MarkKey(TaskId t);
// Prefix of all outbox keys of a task; OutboxKey(t, n) sorts by n.
std::string OutboxPrefix(TaskId t);
std::string OutboxKey(TaskId t, int64_t n);

std::string EncodeCheckpoint(const TaskCheckpoint& c);
// kCorruption naming what is wrong if `bytes` is not a valid checkpoint.
Result<TaskCheckpoint> DecodeCheckpoint(std::string_view bytes);

std::string EncodeMark(int64_t commit_number);
Result<int64_t> DecodeMark(std::string_view bytes);

std::string EncodeOutboxEntry(const OutboxEntry& e);
Result<OutboxEntry> DecodeOutboxEntry(std::string_view bytes);

}  // namespace sluice
