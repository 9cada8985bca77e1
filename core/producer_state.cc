#include "core/producer_state.h"

#include <limits>

#include "core/varint.h"

namespace sluice {
namespace {

// Sequences wrap from INT32_MAX to 0, as in Kafka.
int32_t NextSequence(int32_t seq) {
  return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1;
}

int32_t LastSequenceOf(const RecordBatchView& batch) {
  int64_t last = static_cast<int64_t>(batch.base_sequence()) + batch.last_offset_delta();
  if (last > std::numeric_limits<int32_t>::max()) {
    last -= static_cast<int64_t>(std::numeric_limits<int32_t>::max()) + 1;
  }
  return static_cast<int32_t>(last);
}

}  // namespace

Result<ProducerStateTable::Verdict> ProducerStateTable::Check(const RecordBatchView& batch) const {
  Verdict v;
  int64_t pid = batch.producer_id();
  if (pid < 0 || batch.is_control()) return v;
  auto it = producers_.find(pid);
  if (it == producers_.end() || it->second.batches.empty()) return v;
  const Entry& e = it->second;
  int16_t epoch = batch.producer_epoch();
  int32_t first = batch.base_sequence();
  if (epoch < e.epoch) {
    return OutOfRange(
        "producer {} has epoch {} but epoch {} is current here: this producer was fenced by a "
        "newer instance; stop it",
        pid, epoch, e.epoch);
  }
  if (epoch > e.epoch) {
    if (first != 0) {
      return OutOfRange("producer {} started epoch {} at sequence {}; a new epoch must start at 0",
                        pid, epoch, first);
    }
    return v;
  }
  int32_t last = LastSequenceOf(batch);
  for (const BatchMetadata& b : e.batches) {
    if (b.first_sequence == first && b.last_sequence == last) {
      v.duplicate = true;
      v.original = b;
      return v;
    }
  }
  int32_t expected = NextSequence(e.batches.back().last_sequence);
  if (first != expected) {
    return OutOfRange(
        "producer {} epoch {} sent sequence {} but {} was expected (a batch was lost or "
        "reordered); restart the producer to get a new epoch",
        pid, epoch, first, expected);
  }
  return v;
}

void ProducerStateTable::Update(const RecordBatchView& batch) {
  int64_t pid = batch.producer_id();
  // A transaction marker carries no sequence: the producer's next batch continues after its
  // last data batch.
  if (pid < 0 || batch.is_control()) return;
  Entry& e = producers_[pid];
  if (batch.producer_epoch() != e.epoch) {
    e.epoch = batch.producer_epoch();
    e.batches.clear();
  }
  e.batches.push_back(
      {batch.base_sequence(), LastSequenceOf(batch), batch.base_offset(), batch.last_offset()});
  while (e.batches.size() > kMaxBatchesPerProducer) e.batches.pop_front();
}

int32_t ProducerStateTable::LastSequence(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  if (it == producers_.end() || it->second.batches.empty()) return -1;
  return it->second.batches.back().last_sequence;
}

// Layout: BE32 count, then per producer BE64 id, BE16 epoch, u8 n, n x (BE32 first seq,
// BE32 last seq, BE64 base offset, BE64 last offset).
void ProducerStateTable::EncodeTo(std::string* out) const {
  char buf[24];
  varint::PutBE32(buf, static_cast<uint32_t>(producers_.size()));
  out->append(buf, 4);
  for (const auto& [pid, e] : producers_) {
    varint::PutBE64(buf, static_cast<uint64_t>(pid));
    varint::PutBE16(buf + 8, static_cast<uint16_t>(e.epoch));
    buf[10] = static_cast<char>(e.batches.size());
    out->append(buf, 11);
    for (const BatchMetadata& b : e.batches) {
      varint::PutBE32(buf, static_cast<uint32_t>(b.first_sequence));
      varint::PutBE32(buf + 4, static_cast<uint32_t>(b.last_sequence));
      varint::PutBE64(buf + 8, static_cast<uint64_t>(b.base_offset.value()));
      varint::PutBE64(buf + 16, static_cast<uint64_t>(b.last_offset.value()));
      out->append(buf, 24);
    }
  }
}

Result<ProducerStateTable> ProducerStateTable::DecodeFrom(std::string_view* in) {
  auto truncated = [] { return Corruption("producer state snapshot is truncated"); };
  ProducerStateTable t;
  if (in->size() < 4) return truncated();
  uint32_t count = varint::GetBE32(in->data());
  in->remove_prefix(4);
  for (uint32_t i = 0; i < count; ++i) {
    if (in->size() < 11) return truncated();
    int64_t pid = static_cast<int64_t>(varint::GetBE64(in->data()));
    Entry e;
    e.epoch = static_cast<int16_t>(varint::GetBE16(in->data() + 8));
    size_t n = static_cast<uint8_t>((*in)[10]);
    in->remove_prefix(11);
    if (n > kMaxBatchesPerProducer || in->size() < n * 24) return truncated();
    for (size_t j = 0; j < n; ++j) {
      const char* p = in->data();
      e.batches.push_back({static_cast<int32_t>(varint::GetBE32(p)),
                           static_cast<int32_t>(varint::GetBE32(p + 4)),
                           Offset(static_cast<int64_t>(varint::GetBE64(p + 8))),
                           Offset(static_cast<int64_t>(varint::GetBE64(p + 16)))});
      in->remove_prefix(24);
    }
    t.producers_[pid] = std::move(e);
  }
  return t;
}

}  // namespace sluice
