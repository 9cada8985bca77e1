#include "runtime/task_time.h"

#include <algorithm>

#include "core/varint.h"

namespace sluice {

TaskTime::TaskTime(const EventTimeOptions& options, int32_t partition)
    : options_(options), partition_(partition), tracker_(options) {}

int64_t TaskTime::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int TaskTime::AddInput(int senders) {
  carried_.push_back(senders > 0);
  last_data_ms_.push_back(NowMs());
  return tracker_.AddPartition(senders);
}

bool TaskTime::BeforeRecord(int input, const RecordView& rec, ProcessorContext* ctx) {
  // The watermark the operators have seen (advanced after each batch), not the tracker's newer
  // one: AdvanceWatermark must still find windows to close.
  Timestamp task_wm = ctx->watermark();
  ctx->ClearReportedEventTime();
  if (!carried_[input]) {
    ctx->set_record_watermark(std::max(task_wm, tracker_.PartitionWatermark(input)));
    return false;
  }
  Timestamp carried = kMinWatermark;
  int sender = -1;
  uint8_t flags = 0;
  if (rec.header_count > 0) {
    auto headers = rec.ParseHeaders();
    if (headers.ok()) {
      for (const Header& h : *headers) {
        if (h.key == kHeader && h.value && h.value->size() == 13) {
          carried = Timestamp(static_cast<int64_t>(varint::GetBE64(h.value->data())));
          sender = static_cast<int32_t>(varint::GetBE32(h.value->data() + 8));
          flags = static_cast<uint8_t>((*h.value)[12]);
        }
      }
    }
  }
  int64_t now = NowMs();
  last_data_ms_[input] = now;
  tracker_.ObserveWatermark(input, sender, carried, Timestamp(now), (flags & 2) != 0);
  ctx->set_record_watermark(std::max(task_wm, carried));
  return (flags & 1) != 0;
}

void TaskTime::AfterRecord(int input, Timestamp ts, const ProcessorContext& ctx) {
  if (carried_[input]) return;
  Timestamp et = ctx.reported_event_time() == Timestamp(ProcessorContext::kNoEventTime)
                     ? ts
                     : ctx.reported_event_time();
  int64_t now = NowMs();
  last_data_ms_[input] = now;
  tracker_.ObserveRecord(input, et, Timestamp(now));
}

void TaskTime::UpdateInput(int input, bool caught_up, bool ended) {
  if (ended) {
    tracker_.MarkEnded(input);
    return;
  }
  if (caught_up && options_.idle_timeout.count() > 0 &&
      NowMs() - last_data_ms_[input] >= options_.idle_timeout.count()) {
    tracker_.MarkIdle(input);
  }
}

Header TaskTime::Make(Timestamp wm, uint8_t flags) const {
  std::string v(13, '\0');
  varint::PutBE64(v.data(), static_cast<uint64_t>(wm.value()));
  varint::PutBE32(v.data() + 8, static_cast<uint32_t>(partition_));
  v[12] = static_cast<char>(flags);
  return Header{std::string(kHeader), std::move(v)};
}

Header TaskTime::CarryHeader(const ProcessorContext& ctx) const {
  // The record watermark, exact per record (the task watermark only moves between batches, so
  // carrying it would make downstream lateness depend on the batch size). Records emitted while
  // the watermark advances carry the previous watermark (TaskGraph::AdvanceWatermark).
  return Make(ctx.record_watermark(), 0);
}

bool TaskTime::NextMarker(Timestamp wm, Header* header) {
  bool idle = tracker_.AllIdle();
  if (sent_any_ && wm == sent_wm_ && idle == sent_idle_) return false;
  sent_any_ = true;
  sent_wm_ = wm;
  sent_idle_ = idle;
  *header = Make(wm, static_cast<uint8_t>(1 | (idle ? 2 : 0)));
  return true;
}

}  // namespace sluice
