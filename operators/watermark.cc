#include "operators/watermark.h"

#include <algorithm>

namespace sluice {

int WatermarkTracker::AddPartition(int senders, std::optional<EventTimeOptions> options) {
  Part p;
  const EventTimeOptions& o = options ? *options : options_;
  p.out_of_orderness_ms = o.max_out_of_orderness.count();
  p.idle_timeout_ms = o.idle_timeout.count();
  p.sender_wm.assign(static_cast<size_t>(std::max(senders, 0)), kMinWatermark);
  p.sender_idle.assign(p.sender_wm.size(), 0);
  parts_.push_back(std::move(p));
  return static_cast<int>(parts_.size() - 1);
}

Timestamp WatermarkTracker::Raw(const Part& p) const {
  if (p.ended) return kMaxWatermark;
  if (!p.sender_wm.empty()) {
    // The minimum over senders that are not idle; the maximum if all are.
    Timestamp active = kMaxWatermark, all = kMinWatermark;
    bool any_active = false;
    for (size_t i = 0; i < p.sender_wm.size(); ++i) {
      all = std::max(all, p.sender_wm[i]);
      if (!p.sender_idle[i]) {
        any_active = true;
        active = std::min(active, p.sender_wm[i]);
      }
    }
    return any_active ? active : all;
  }
  if (p.max_event == kMinWatermark) return kMinWatermark;
  return p.max_event - p.out_of_orderness_ms;
}

Timestamp WatermarkTracker::PartitionWatermark(int p) const { return Raw(parts_[p]); }

void WatermarkTracker::ObserveRecord(int p, Timestamp ts, Timestamp now) {
  Part& part = parts_[p];
  if (part.sender_wm.empty()) part.max_event = std::max(part.max_event, ts);
  part.last_heard = now;
  part.idle = false;
}

bool WatermarkTracker::IsIdle(const Part& p) const {
  if (p.idle) return true;
  if (p.sender_idle.empty()) return false;
  return std::all_of(p.sender_idle.begin(), p.sender_idle.end(), [](char c) { return c != 0; });
}

bool WatermarkTracker::AllIdle() const {
  if (parts_.empty()) return false;
  return std::all_of(parts_.begin(), parts_.end(),
                     [&](const Part& p) { return p.ended || IsIdle(p); });
}

void WatermarkTracker::ObserveWatermark(int p, int sender, Timestamp wm, Timestamp now,
                                        bool sender_idle) {
  Part& part = parts_[p];
  if (sender >= 0 && sender < static_cast<int>(part.sender_wm.size())) {
    part.sender_wm[sender] = std::max(part.sender_wm[sender], wm);
    part.sender_idle[sender] = sender_idle ? 1 : 0;
  }
  part.last_heard = now;
  part.idle = false;
}

void WatermarkTracker::SetState(int p, const PartitionState& s) {
  Part& part = parts_[p];
  part.max_event = s.max_event;
  if (s.sender_wm.size() == part.sender_wm.size()) part.sender_wm = s.sender_wm;
}

void WatermarkTracker::MarkIdle(int p) { parts_[p].idle = true; }

void WatermarkTracker::MarkEnded(int p) { parts_[p].ended = true; }

void WatermarkTracker::CheckIdle(Timestamp now) {
  for (Part& p : parts_) {
    if (p.idle_timeout_ms <= 0) continue;
    if (p.last_heard == kMinWatermark) p.last_heard = now;  // the clock starts at the first check
    if (!p.ended && now - p.last_heard >= p.idle_timeout_ms) p.idle = true;
  }
}

Timestamp WatermarkTracker::Current() {
  Timestamp active = kMaxWatermark;
  Timestamp idle_max = kMinWatermark;
  bool any_active = false, any_idle = false;
  for (const Part& p : parts_) {
    if (p.ended) continue;
    if (IsIdle(p)) {
      any_idle = true;
      idle_max = std::max(idle_max, Raw(p));
    } else {
      any_active = true;
      active = std::min(active, Raw(p));
    }
  }
  Timestamp wm = any_active ? active : (any_idle ? idle_max : kMaxWatermark);
  if (parts_.empty()) wm = kMinWatermark;
  current_ = std::max(current_, wm);
  return current_;
}

}  // namespace sluice
