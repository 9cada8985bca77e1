#include "operators/test_driver.h"

#include <algorithm>

namespace sluice::testing {

class TestDriver::Context final : public ProcessorContext {
 public:
  explicit Context(TestDriver* d) : d_(d) {}
  KeyValueStore* store(int store_index) override { return d_->stores_[store_index].get(); }
  Status Send(int topic, std::string_view key, std::string_view value, Timestamp ts) override {
    const Topology::Topic& t = d_->topology_.topics()[topic];
    if (!t.internal) {
      d_->outputs_[t.name].push_back(TestRecord{std::string(key), std::string(value), ts});
    }
    if (!t.source_nodes.empty()) {
      Pending p{topic, std::string(key), std::string(value), ts};
      // Never above the stage's watermark (the minimum over its inputs): see runtime/task_time.h.
      if (t.internal) p.carried = std::min(record_watermark(), watermark());
      d_->pending_.push_back(std::move(p));
    }
    return Status::Ok();
  }
  Status SendTombstone(int topic, std::string_view key, Timestamp ts) override {
    const Topology::Topic& t = d_->topology_.topics()[topic];
    if (!t.internal) {
      d_->outputs_[t.name].push_back(
          TestRecord{.key = std::string(key), .timestamp = ts, .tombstone = true});
    }
    if (!t.source_nodes.empty()) {
      Pending p{topic, std::string(key), std::nullopt, ts};
      if (t.internal) p.carried = std::min(record_watermark(), watermark());
      d_->pending_.push_back(std::move(p));
    }
    return Status::Ok();
  }

 private:
  TestDriver* d_;
};

TestDriver::TestDriver(Topology topology, std::string application_id)
    : topology_(std::move(topology)), application_id_(std::move(application_id)) {
  for (size_t i = 0; i < topology_.stores().size(); ++i) {
    stores_.push_back(std::make_unique<InMemoryKeyValueStore>());
  }
  ctx_ = std::make_unique<Context>(this);
  topic_part_.assign(topology_.topics().size(), -1);
  for (const auto& st : topology_.stages()) {
    trackers_.push_back(std::make_unique<WatermarkTracker>(topology_.event_time()));
    stage_wm_.push_back(kMinWatermark);
    for (int t : st.source_topics) {
      topic_part_[t] = trackers_.back()->AddPartition(topology_.topics()[t].internal ? 1 : 0,
                                                      topology_.SourceEventTime(t));
      // A table beside a stream is state, not time: it never counts for the watermark.
      if (topology_.IsTableBesideStream(t)) trackers_.back()->MarkEnded(topic_part_[t]);
    }
  }
  for (const auto& st : topology_.stages()) {
    auto g = TaskGraph::Create(topology_, st.id, ctx_.get());
    if (!g.ok()) {
      init_status_ = g.status();
      graphs_.clear();
      return;
    }
    graphs_.push_back(std::move(g).value());
  }
}

TestDriver::~TestDriver() = default;

Status TestDriver::PipeBytes(const std::string& topic, std::optional<std::string_view> key,
                             std::optional<std::string_view> value, Timestamp ts) {
  SLUICE_RETURN_IF_ERROR(init_status_);
  int t = topology_.FindTopic(topic);
  if (t < 0 || topology_.topics()[t].source_nodes.empty()) {
    return NotFound("the topology does not read topic '{}'; pipe input into one of its sources",
                    topic);
  }
  pending_.push_back(Pending{t, key ? std::optional<std::string>(std::string(*key)) : std::nullopt,
                             value ? std::optional<std::string>(std::string(*value)) : std::nullopt,
                             ts});
  return Drain();
}

Status TestDriver::Drain() {
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    Status s = ProcessPending(p);
    if (!s.ok()) {
      pending_.clear();
      return s;
    }
  }
  return Status::Ok();
}

std::vector<TestRecord> TestDriver::ReadOutput(const std::string& topic) {
  auto it = outputs_.find(topic);
  if (it == outputs_.end()) return {};
  std::vector<TestRecord> out = std::move(it->second);
  outputs_.erase(it);
  return out;
}

size_t TestDriver::OutputSize(const std::string& topic) const {
  auto it = outputs_.find(topic);
  return it == outputs_.end() ? 0 : it->second.size();
}

KeyValueStore* TestDriver::GetStore(const std::string& store) {
  int i = topology_.FindStore(store);
  return i < 0 ? nullptr : stores_[i].get();
}

Status TestDriver::ProcessPending(const Pending& p) {
  int node = topology_.topics()[p.topic].source_nodes.front();
  int stage = topology_.nodes()[node].stage;
  WatermarkTracker& tr = *trackers_[stage];
  int part = PartOf(p.topic);
  bool carried = topology_.topics()[p.topic].internal;
  if (p.marker) {
    tr.ObserveWatermark(part, 0, p.carried, Timestamp(clock_));
    return AdvanceStage(stage);
  }
  ctx_->set_watermark(stage_wm_[stage]);
  // Never below the stage's watermark (a partition back from idleness cannot reopen a window).
  ctx_->set_record_watermark(
      topology_.IsTableBesideStream(p.topic)
          ? stage_wm_[stage]
          : std::max(stage_wm_[stage], carried ? p.carried : tr.PartitionWatermark(part)));
  ctx_->ClearReportedEventTime();
  SLUICE_RETURN_IF_ERROR(graphs_[stage]->Process(
      p.topic, p.key ? std::optional<std::string_view>(*p.key) : std::nullopt,
      p.value ? std::optional<std::string_view>(*p.value) : std::nullopt, p.ts));
  if (carried) {
    tr.ObserveWatermark(part, 0, p.carried, Timestamp(clock_));
  } else {
    Timestamp et = ctx_->reported_event_time() == Timestamp(ProcessorContext::kNoEventTime)
                       ? p.ts
                       : ctx_->reported_event_time();
    tr.ObserveRecord(part, et, Timestamp(clock_));
  }
  return AdvanceStage(stage);
}

Status TestDriver::AdvanceStage(int stage) {
  Timestamp wm = trackers_[stage]->Current();
  if (wm <= stage_wm_[stage]) return Status::Ok();
  ctx_->set_watermark(stage_wm_[stage]);
  SLUICE_RETURN_IF_ERROR(graphs_[stage]->AdvanceWatermark(wm));
  stage_wm_[stage] = wm;
  // Downstream stages learn the new watermark after the records it made this stage emit.
  for (int t : topology_.stages()[stage].sink_topics) {
    const Topology::Topic& topic = topology_.topics()[t];
    if (!topic.internal || topic.source_nodes.empty()) continue;
    Pending m{t, std::nullopt, std::nullopt, wm};
    m.marker = true;
    m.carried = wm;
    pending_.push_back(std::move(m));
  }
  return Status::Ok();
}

Status TestDriver::AdvanceWallClock(int64_t ms) {
  SLUICE_RETURN_IF_ERROR(init_status_);
  clock_ += ms;
  for (size_t st = 0; st < trackers_.size(); ++st) {
    trackers_[st]->CheckIdle(Timestamp(clock_));
    SLUICE_RETURN_IF_ERROR(AdvanceStage(static_cast<int>(st)));
  }
  return Drain();
}

Status TestDriver::MarkIdle(const std::string& topic) {
  SLUICE_RETURN_IF_ERROR(init_status_);
  int t = topology_.FindTopic(topic);
  if (t < 0 || topic_part_[t] < 0 || topology_.topics()[t].internal) {
    return NotFound("the topology does not read topic '{}'", topic);
  }
  int stage = topology_.nodes()[topology_.topics()[t].source_nodes.front()].stage;
  trackers_[stage]->MarkIdle(topic_part_[t]);
  SLUICE_RETURN_IF_ERROR(AdvanceStage(stage));
  return Drain();
}

Status TestDriver::EndInput() {
  SLUICE_RETURN_IF_ERROR(init_status_);
  for (size_t t = 0; t < topology_.topics().size(); ++t) {
    if (topic_part_[t] < 0 || topology_.topics()[t].internal) continue;
    int stage = topology_.nodes()[topology_.topics()[t].source_nodes.front()].stage;
    trackers_[stage]->MarkEnded(topic_part_[t]);
  }
  for (size_t st = 0; st < trackers_.size(); ++st) {
    SLUICE_RETURN_IF_ERROR(AdvanceStage(static_cast<int>(st)));
    SLUICE_RETURN_IF_ERROR(Drain());
  }
  return Status::Ok();
}

Timestamp TestDriver::WatermarkOf(const std::string& topic) const {
  int t = topology_.FindTopic(topic);
  if (t < 0 || topology_.topics()[t].source_nodes.empty()) return kMinWatermark;
  return stage_wm_[topology_.nodes()[topology_.topics()[t].source_nodes.front()].stage];
}

int64_t TestDriver::late_records() const { return ctx_->late_records(); }

}  // namespace sluice::testing
