#include "runtime/task_input.h"

#include <algorithm>

namespace sluice {
namespace {

// Read-ahead per input: about one producer batch (a read returns at least one whole batch).
constexpr size_t kReadBytes = 256 << 10;

}  // namespace

TaskInput::TaskInput(int topic, std::string name, bool internal, Partition* partition, int64_t end,
                     int32_t partition_id, bool global)
    : topic_(topic),
      name_(std::move(name)),
      internal_(internal),
      partition_(partition),
      partition_id_(partition_id),
      global_(global),
      reader_(std::make_unique<PartitionReader>(partition, Offset(0), kReadBytes)),
      end_(end) {}

TaskInput::TaskInput(int topic, std::string name, LocalExchange* exchange, int32_t task_partition)
    : topic_(topic),
      name_(std::move(name)),
      internal_(true),
      local_(true),
      partition_id_(task_partition),
      exchange_(exchange),
      exchange_partition_(task_partition) {}

void TaskInput::Seek(int64_t position) { reader_->Seek(Offset(position)); }

int64_t TaskInput::ReadLimit() const {
  // A repartition topic is read only where it is fsynced: a batch its writer has appended but not
  // yet synced could be lost to a power cut and republished after another writer's batch, and
  // offsets committed over it would then skip one batch and repeat the other.
  return internal_ ? partition_->synced_offset().value() : partition_->high_watermark().value();
}

bool TaskInput::CaughtUp() const {
  if (local_) return queued_next_ == queued_.size();
  return position() >= partition_->high_watermark().value();
}

bool TaskInput::Ended() const { return !local_ && !internal_ && end_ >= 0 && position() >= end_; }

bool TaskInput::AtEnd() const {
  if (local_) return true;
  return position() >= (end_ >= 0 ? end_ : ReadLimit());
}

bool TaskInput::HasQueued() const {
  if (!local_) return false;
  return queued_next_ < queued_.size() || !exchange_->Empty(topic_, exchange_partition_);
}

int64_t TaskInput::Lag() const {
  // A global table's partition is read by every task of its stage: not the job's lag.
  if (internal_ || global_) return 0;
  return std::max<int64_t>(0, partition_->high_watermark().value() - position());
}

Status TaskInput::Fill(int32_t /*task_partition*/) {
  if (!reader_->Drained()) return Status::Ok();
  Status s = reader_->Fill();
  if (!s.ok()) {
    return s.WithContext(
        fmt::format("reading '{}' partition {} at offset {}", name_, partition_id_, position()));
  }
  FailPoint("after_poll");
  return Status::Ok();
}

}  // namespace sluice
