// EventTimeNode: behind Stream::WithEventTime. Sets each record's timestamp to the event time the
// user's extractor returns and reports it to the task, whose partition watermark then follows
// the extracted times instead of the record timestamps. Private to operators/.
#pragma once

#include <optional>
#include <string>

#include "operators/internal/nodes.h"
#include "operators/watermark.h"

namespace sluice::internal {

template <typename K, typename V, typename F>
class EventTimeNode final : public Receiver<K, V> {
 public:
  EventTimeNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    std::optional<Timestamp> t = fn_(key, value);
    if (!t.has_value()) {
      // No event time: the record keeps its timestamp and does not move the watermark.
      this->ctx_->ReportEventTime(kMinWatermark);
      return out_.Forward(key, value, ts);
    }
    this->ctx_->ReportEventTime(*t);
    return out_.Forward(key, value, *t);
  }

 private:
  F fn_;
  Outputs<K, V> out_;
};

}  // namespace sluice::internal
