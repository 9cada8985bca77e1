#include "runtime/task_input.h"

#include <algorithm>

namespace sluice {
namespace {

// Read-ahead per input: about one producer batch (a read returns at least one whole batch).
constexpr size_t kReadBytes = 256 << 10;

}  // namespace

TaskInput::TaskInput(int topic, std::string name, bool internal, Partition* partition, int64_t end)
    : topic_(topic),
      name_(std::move(name)),
      internal_(internal),
      partition_(partition),
      end_(end) {}

TaskInput::TaskInput(int topic, std::string name, LocalExchange* exchange, int32_t task_partition)
    : topic_(topic),
      name_(std::move(name)),
      internal_(true),
      local_(true),
      exchange_(exchange),
      exchange_partition_(task_partition) {}

void TaskInput::Seek(int64_t position) {
  position_ = position;
  buffered_next_ = -1;
}

int64_t TaskInput::ReadLimit() const {
  // A repartition topic is read only where it is fsynced: a batch its writer has appended but not
  // yet synced could be lost to a power cut and republished after another writer's batch, and
  // offsets committed over it would then skip one batch and repeat the other.
  return internal_ ? partition_->synced_offset().value() : partition_->high_watermark().value();
}

bool TaskInput::CaughtUp() const {
  if (local_) return queued_next_ == queued_.size();
  return position_ >= partition_->high_watermark().value();
}

bool TaskInput::Ended() const { return !local_ && !internal_ && end_ >= 0 && position_ >= end_; }

bool TaskInput::AtEnd() const {
  if (local_) return true;
  return position_ >= (end_ >= 0 ? end_ : ReadLimit());
}

bool TaskInput::HasQueued() const {
  if (!local_) return false;
  return queued_next_ < queued_.size() || !exchange_->Empty(topic_, exchange_partition_);
}

int64_t TaskInput::Lag() const {
  if (internal_) return 0;
  return std::max<int64_t>(0, partition_->high_watermark().value() - position_);
}

Status TaskInput::Fill(int32_t task_partition) {
  if (buffered_next_ == position_ && read_pos_ < read_.data.size()) return Status::Ok();
  Status s = partition_->ReadInto(Offset(position_), kReadBytes, &read_);
  if (!s.ok()) {
    return s.WithContext(
        fmt::format("reading '{}' partition {} at offset {}", name_, task_partition, position_));
  }
  read_pos_ = 0;
  cursor_ = {};
  FailPoint("after_poll");
  return Status::Ok();
}

}  // namespace sluice
