// DedupByKey: passes the first record of each key and drops later records of that key whose
// event time is less than `window` away from the first's; once the window has passed, the next
// record of the key passes again (and starts a new window).
//
//   auto unique_clicks = DedupByKey(clicks, "click-dedup", std::chrono::minutes(10));
//
// State: store `store` (key bytes -> BE64 time of the passed record), covered by the exactly-once
// commit; an entry is deleted once the watermark is past its time + window. A record whose event
// time is below its record watermark could meet an already deleted entry, so it is late: counted
// and dropped. A stream whose key changed is repartitioned through "<app>-<store>-repartition".
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "core/varint.h"
#include "operators/internal/nodes.h"
#include "operators/internal/repartition.h"
#include "operators/stream.h"

namespace sluice {
namespace internal {

template <typename K, typename V>
class DedupNode final : public Receiver<K, V> {
 public:
  DedupNode(std::string name, int store, int64_t window, SerdePtr<K> ks)
      : Receiver<K, V>(std::move(name)), store_(store), window_(window), ks_(ks) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return store_->ForEach([&](std::string_view k, std::string_view v) {
      if (v.size() == 8) expiry_.emplace(static_cast<int64_t>(varint::GetBE64(v.data())), k);
    });
  }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    const int64_t t = ts.value();
    // After a bounded run's end forgot its keys (flushed through F), a record that could be the
    // duplicate of one it passed (t < F + window) is late too.
    if (t < this->ctx_->record_watermark().value() ||
        t - window_ < this->ctx_->flushed_through().value()) {
      this->ctx_->CountLate();
      return Status::Ok();
    }
    ks_->Serialize(key, &kbuf_);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(kbuf_, &vbuf_, &found));
    if (found && vbuf_.size() == 8) {
      int64_t first = static_cast<int64_t>(varint::GetBE64(vbuf_.data()));
      if (t > first - window_ && t < first + window_) return Status::Ok();  // a duplicate
    }
    vbuf_.assign(8, '\0');
    varint::PutBE64(vbuf_.data(), static_cast<uint64_t>(t));
    SLUICE_RETURN_IF_ERROR(store_->Put(kbuf_, vbuf_));
    expiry_.emplace(t, kbuf_);
    return out_.Forward(key, value, ts);
  }
  Status OnWatermark(Timestamp wm) override {
    while (!expiry_.empty() && expiry_.begin()->first + window_ < wm.value()) {
      auto [t, kb] = *expiry_.begin();
      expiry_.erase(expiry_.begin());
      bool found = false;
      SLUICE_RETURN_IF_ERROR(store_->Get(kb, &vbuf_, &found));
      // Only if the entry is still the one indexed (a newer record may have replaced it).
      if (found && vbuf_.size() == 8 && static_cast<int64_t>(varint::GetBE64(vbuf_.data())) == t) {
        SLUICE_RETURN_IF_ERROR(store_->Delete(kb));
      }
    }
    return Status::Ok();
  }

 private:
  StoreRef store_;
  int64_t window_;
  SerdePtr<K> ks_;
  std::string kbuf_, vbuf_;
  std::set<std::pair<int64_t, std::string>> expiry_;
  Outputs<K, V> out_;
};

}  // namespace internal

template <typename K, typename V>
Stream<K, V> DedupByKey(const Stream<K, V>& s, const std::string& store,
                        std::chrono::milliseconds window) {
  internal::BuilderState* st = s.state();
  if (window.count() <= 0)
    st->Error(fmt::format("dedup store '{}': window must be positive", store));
  int parent = internal::RepartitionIfKeyChanged<K, V>(st, s.node(), s.key_changed(), s.serdes(),
                                                       store, "dedup");
  int id = st->AddNode(st->HasStore(store) ? "" : store, "dedup", {parent}, nullptr);
  int sidx = st->AddStore(store, id, internal::SerdeName(s.serdes().key), "first-time");
  if (!s.serdes().key) {
    st->Error(
        fmt::format("dedup store '{}' needs a key serde; pass one with WithSerdes(...)", store));
  } else {
    st->SetFactory(id, [sidx, w = window.count(), ks = s.serdes().key, n = st->NodeName(id)]() {
      return std::make_unique<internal::DedupNode<K, V>>(n, sidx, w, ks);
    });
  }
  return Stream<K, V>(st, id, s.serdes(), false);
}

}  // namespace sluice
