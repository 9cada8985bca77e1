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

void TaskTime::BeginBatch() { now_ms_ = NowMs(); }

int TaskTime::AddInput(int senders, bool table, std::optional<EventTimeOptions> options) {
  carried_.push_back(senders > 0);
  idle_timeout_ms_.push_back((options ? *options : options_).idle_timeout.count());
  table_.push_back(table);
  last_data_ms_.push_back(NowMs());
  int p = tracker_.AddPartition(senders, options);
  if (table) tracker_.MarkEnded(p);  // an ended partition neither holds back nor moves it
  return p;
}

bool TaskTime::BeforeRecord(int input, const RecordView& rec, ProcessorContext* ctx) {
  // The watermark the operators have seen (advanced after each batch), not the tracker's newer
  // one: AdvanceWatermark must still find windows to close.
  Timestamp task_wm = ctx->watermark();
  ctx->ClearReportedEventTime();
  if (table_[input]) {
    ctx->set_record_watermark(task_wm);
    return false;
  }
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
  const int64_t now = now_ms_;
  last_data_ms_[input] = now;
  tracker_.ObserveWatermark(input, sender, carried, Timestamp(now), (flags & 2) != 0);
  ctx->set_record_watermark(std::max(task_wm, carried));
  return (flags & 1) != 0;
}

void TaskTime::AfterRecord(int input, Timestamp ts, const ProcessorContext& ctx) {
  if (table_[input]) return;  // state, not time
  Timestamp et = ctx.reported_event_time() == Timestamp(ProcessorContext::kNoEventTime)
                     ? ts
                     : ctx.reported_event_time();
  max_event_ = std::max(max_event_, et);
  if (carried_[input]) return;
  const int64_t now = now_ms_;
  last_data_ms_[input] = now;
  tracker_.ObserveRecord(input, et, Timestamp(now));
}

void TaskTime::UpdateInput(int input, bool caught_up, bool ended) {
  if (ended) {
    tracker_.MarkEnded(input);
    return;
  }
  if (caught_up && idle_timeout_ms_[input] > 0 &&
      NowMs() - last_data_ms_[input] >= idle_timeout_ms_[input]) {
    tracker_.MarkIdle(input);
  }
}

std::string TaskTime::StateKey(int stage, int32_t partition) {
  return "watermarks/" + std::to_string(stage) + "/" + std::to_string(partition);
}

std::string TaskTime::Snapshot(const ProcessorContext& ctx) const {
  std::string out;
  char b[8];
  auto put64 = [&](int64_t v) {
    varint::PutBE64(b, static_cast<uint64_t>(v));
    out.append(b, 8);
  };
  // See the header: never persist the end of input as a watermark.
  const bool flushed = ctx.watermark() >= kMaxWatermark;
  const Timestamp wm = flushed ? std::min(finite_wm_, ctx.watermark()) : ctx.watermark();
  put64(wm.value());
  put64(tracker_.partitions());
  for (int p = 0; p < tracker_.partitions(); ++p) {
    WatermarkTracker::PartitionState s = tracker_.GetState(p);
    put64(s.max_event.value());
    put64(static_cast<int64_t>(s.sender_wm.size()));
    for (Timestamp t : s.sender_wm) put64((t >= kMaxWatermark ? wm : t).value());
  }
  // Appended fields (older snapshots end before them).
  put64(max_event_.value());
  put64((flushed ? std::max(flushed_, max_event_) : flushed_).value());
  return out;
}

Status TaskTime::Restore(std::string_view bytes, ProcessorContext* ctx) {
  auto get64 = [&](int64_t* v) {
    if (bytes.size() < 8) return false;
    *v = static_cast<int64_t>(varint::GetBE64(bytes.data()));
    bytes.remove_prefix(8);
    return true;
  };
  int64_t wm = 0, parts = 0;
  if (!get64(&wm) || !get64(&parts)) return Corruption("malformed watermark state");
  if (parts != tracker_.partitions()) return Status::Ok();  // the inputs changed: start afresh
  std::vector<WatermarkTracker::PartitionState> states(static_cast<size_t>(parts));
  for (auto& s : states) {
    int64_t me = 0, n = 0;
    if (!get64(&me) || !get64(&n) || n < 0 || n > 100000) {
      return Corruption("malformed watermark state");
    }
    s.max_event = Timestamp(me);
    for (int64_t i = 0; i < n; ++i) {
      int64_t t = 0;
      if (!get64(&t)) return Corruption("malformed watermark state");
      s.sender_wm.push_back(Timestamp(t));
    }
  }
  int64_t max_event = kMinWatermark.value(), flushed = kMinWatermark.value();
  if (!bytes.empty() && (!get64(&max_event) || !get64(&flushed))) {
    return Corruption("malformed watermark state");
  }
  // A snapshot written before bounded runs stopped persisting the end of input: everything its
  // inputs had delivered was flushed; go on from their own watermarks.
  if (wm >= kMaxWatermark.value()) {
    wm = kMinWatermark.value();
    for (auto& s : states) {
      flushed = std::max(flushed, s.max_event.value());
      for (Timestamp& t : s.sender_wm) t = std::min(t, kMinWatermark);
    }
  }
  for (int p = 0; p < parts; ++p) tracker_.SetState(p, states[static_cast<size_t>(p)]);
  tracker_.SetCurrent(Timestamp(wm));
  finite_wm_ = Timestamp(wm);
  max_event_ = Timestamp(max_event);
  flushed_ = Timestamp(flushed);
  ctx->set_watermark(Timestamp(wm));
  ctx->set_record_watermark(Timestamp(wm));
  ctx->set_flushed_through(flushed_);
  return Status::Ok();
}

Header TaskTime::Make(Timestamp wm, uint8_t flags) const {
  std::string v(13, '\0');
  varint::PutBE64(v.data(), static_cast<uint64_t>(wm.value()));
  varint::PutBE32(v.data() + 8, static_cast<uint32_t>(partition_));
  v[12] = static_cast<char>(flags);
  return Header{std::string(kHeader), std::move(v)};
}

Header TaskTime::CarryHeader(const ProcessorContext& ctx) {
  // The record watermark, exact per record (the task watermark only moves between batches, so
  // carrying that would make downstream lateness depend on the batch size), but never above the
  // minimum over this task's inputs right now: a task with several inputs must not promise more
  // than its slowest input can keep (with one input the two are the same). Records emitted while
  // the watermark advances carry the previous watermark (TaskGraph::AdvanceWatermark).
  return Make(std::min(ctx.record_watermark(), tracker_.Current()), 0);
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
