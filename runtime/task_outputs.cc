#include "runtime/task_outputs.h"

#include <span>

namespace sluice {
namespace {

// Output batches are cut at this size so one stays well under a topic's max_message_bytes.
constexpr size_t kOutputBatchBytes = 256 << 10;

}  // namespace

TaskOutputs::TaskOutputs(const Plan& plan, LocalExchange* exchange, bool exactly_once)
    : plan_(plan), exchange_(exchange), exactly_once_(exactly_once) {}

TaskOutputs::Output& TaskOutputs::For(int topic, int32_t partition) {
  if (outputs_.size() <= static_cast<size_t>(topic)) outputs_.resize(topic + 1);
  auto& parts = outputs_[topic];
  if (parts.size() <= static_cast<size_t>(partition)) parts.resize(partition + 1);
  auto& slot = parts[partition];
  if (!slot) {
    slot = std::make_unique<Output>();
    slot->topic = topic;
    slot->name = plan_.topics[topic].log_name;
    slot->partition = partition;
    slot->local = plan_.topics[topic].local;
    in_order_.push_back(slot.get());
  }
  return *slot;
}

void TaskOutputs::Add(int topic, int32_t partition, Timestamp ts, std::string_view key,
                      std::optional<std::string_view> value, const Header* header) {
  Output& o = For(topic, partition);
  if (header != nullptr) {
    o.builder.Add(ts, key, value, std::span<const Header>(header, 1));
  } else {
    o.builder.Add(ts, key, value);
  }
  if (!o.local) pending_bytes_ += key.size() + (value ? value->size() : 0) + 16;
  if (o.builder.size_bytes() >= kOutputBatchBytes) Finish(o);
}

void TaskOutputs::AddMarker(int topic, int32_t partition, const Header& marker) {
  For(topic, partition)
      .builder.Add(Timestamp(0), std::nullopt, std::nullopt, std::span<const Header>(&marker, 1));
  pending_bytes_ += 32;
}

void TaskOutputs::Finish(Output& o) {
  if (o.builder.empty()) return;
  if (o.local) {
    exchange_->Push(o.topic, o.partition, o.builder.Finish());
    return;
  }
  if (exactly_once_) {
    o.builder.SetProducer(producer_id_, 0, o.next_sequence);
    o.next_sequence += o.builder.record_count();
  }
  OutboxEntry& e = finished_.emplace_back(o.name, o.partition, std::string());
  e.built = ValidatedBatch::FromBuilder(&o.builder, &e.batch);
}

void TaskOutputs::FlushLocal() {
  for (Output* o : in_order_) {
    if (o->local) Finish(*o);
  }
}

std::vector<OutboxEntry> TaskOutputs::TakeFinished() {
  for (Output* o : in_order_) Finish(*o);
  std::vector<OutboxEntry> entries = std::move(finished_);
  finished_.clear();
  return entries;
}

bool TaskOutputs::Pending() const {
  if (!finished_.empty()) return true;
  for (const Output* o : in_order_) {
    if (!o->builder.empty()) return true;
  }
  return false;
}

std::vector<TaskCheckpoint::Output> TaskOutputs::Sequences() const {
  std::vector<TaskCheckpoint::Output> out;
  for (const Output* o : in_order_) {
    if (!o->local) out.push_back({o->name, o->partition, o->next_sequence});
  }
  return out;
}

void TaskOutputs::SetNextSequence(int topic, int32_t partition, int32_t next_sequence) {
  For(topic, partition).next_sequence = next_sequence;
}

}  // namespace sluice
