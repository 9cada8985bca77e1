// WindowAggregateNode: the per-task operator behind WindowedStream::Count/Reduce/Aggregate (see
// operators/windows.h for the semantics). Private to operators/.
//
// Store layout: key = key bytes + BE64(window start); value = aggregate bytes (time windows) or
// BE64(last event) + aggregate bytes (sessions). In memory: the open windows ordered by close
// time (and, for sessions, per key by start), rebuilt from the store in Init. Time windows are
// grouped by start (the close time follows from it): one vector of key bytes per start, sorted
// when the window closes, so the emit order (start, then key bytes) does not depend on the order
// records arrived in or on a restart.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/varint.h"
#include "operators/internal/nodes.h"
#include "operators/window_spec.h"

namespace sluice::internal {

inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

template <typename K, typename V, typename A, typename Update, typename Merge>
class WindowAggregateNode final : public Receiver<K, V> {
 public:
  WindowAggregateNode(std::string name, Windows w, int store, SerdePtr<K> ks, SerdePtr<V> vs,
                      SerdePtr<A> as, Update update, Merge merge, int late_topic)
      : Receiver<K, V>(std::move(name)),
        w_(std::move(w)),
        store_(store),
        ks_(ks),
        vs_(vs),
        as_(as),
        update_(std::move(update)),
        merge_(std::move(merge)),
        late_topic_(late_topic) {}

  void Connect(NodeBase* child) override { out_.Add(child); }

  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    Status bad;
    SLUICE_RETURN_IF_ERROR(store_->ForEach([&](std::string_view k, std::string_view v) {
      if (k.size() < 8 || (session() && v.size() < 8)) {
        if (bad.ok())
          bad = Corruption("window store of '{}' holds a malformed entry", this->name());
        return;
      }
      std::string kb(k.substr(0, k.size() - 8));
      int64_t start = static_cast<int64_t>(varint::GetBE64(k.data() + k.size() - 8));
      if (session()) {
        int64_t end = static_cast<int64_t>(varint::GetBE64(v.data()));
        sessions_[kb][start] = end;
        by_close_.emplace(SessionClose(end), kb, start);
      } else {
        open_[start].push_back(std::move(kb));
      }
    }));
    return bad;
  }

  Status Process(const K& key, const V& value, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    const int64_t t = ts.value();
    const int64_t rw = this->ctx_->record_watermark().value();
    const int64_t flushed = this->ctx_->flushed_through().value();
    if (session()) {
      // Sessions ending at or before the flushed bound were emitted as final by a bounded run's
      // end; a record within the gap after it could have extended one of them.
      if (t + w_.grace_ms < rw || t - w_.gap_ms <= flushed) return Late(key, value, ts);
      return ProcessSession(key, value, t);
    }
    bool any = false, late = false;
    int64_t last_start = FloorDiv(t, w_.advance_ms) * w_.advance_ms;
    int64_t first_start = last_start;
    while (first_start - w_.advance_ms > t - w_.size_ms) first_start -= w_.advance_ms;
    const int64_t from = this->ctx_->reprocess_from().value();
    for (int64_t start = first_start; start <= last_start; start += w_.advance_ms) {
      if (start < from) continue;  // emitted before a reset to a time; not refilled
      if (w_.CloseOf(start) <= rw || start <= flushed) {
        late = true;
        continue;
      }
      any = true;
      StoreKey(start);
      bool found = false;
      SLUICE_RETURN_IF_ERROR(store_->Get(skey_, &vbuf_, &found));
      if (found) SLUICE_RETURN_IF_ERROR(Decode(vbuf_, &agg_));
      this->Enter();
      agg_ = update_(key, value, found, std::move(agg_));
      as_->Serialize(agg_, &vbuf_);
      SLUICE_RETURN_IF_ERROR(store_->Put(skey_, vbuf_));
      if (!found) open_[start].push_back(kbuf_);
      if (w_.emit_updates) {
        SLUICE_RETURN_IF_ERROR(out_.Forward(key, WindowResult<A>{start, start + w_.size_ms, agg_},
                                            Timestamp(start + w_.size_ms - 1)));
      }
    }
    if (!any && late) return Late(key, value, ts);
    return Status::Ok();
  }

  Status OnWatermark(Timestamp wm) override {
    while (!open_.empty() && w_.CloseOf(open_.begin()->first) <= wm.value()) {
      auto node = open_.extract(open_.begin());
      std::vector<std::string>& keys = node.mapped();
      std::sort(keys.begin(), keys.end());
      for (std::string& kb : keys) {
        kbuf_ = std::move(kb);
        SLUICE_RETURN_IF_ERROR(Close(node.key()));
      }
    }
    while (!by_close_.empty() && std::get<0>(*by_close_.begin()) <= wm.value()) {
      auto [close, kb, start] = *by_close_.begin();
      by_close_.erase(by_close_.begin());
      kbuf_ = kb;
      SLUICE_RETURN_IF_ERROR(Close(start));
    }
    return Status::Ok();
  }

 private:
  bool session() const { return w_.kind == Windows::Kind::kSession; }
  // A session closes once the watermark is past last event + gap + grace (strictly, so that a
  // record at exactly the watermark is still accepted and can extend it).
  int64_t SessionClose(int64_t end) const { return end + w_.gap_ms + w_.grace_ms + 1; }

  // Emits (unless emitting updates) and deletes the window of key kbuf_ starting at `start`.
  Status Close(int64_t start) {
    StoreKey(start);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(skey_, &vbuf_, &found));
    if (!found) return Status::Ok();
    int64_t end = start + w_.size_ms;
    std::string_view agg_bytes = vbuf_;
    if (session()) {
      end = static_cast<int64_t>(varint::GetBE64(vbuf_.data()));
      agg_bytes.remove_prefix(8);
      auto it = sessions_.find(kbuf_);
      if (it != sessions_.end()) {
        it->second.erase(start);
        if (it->second.empty()) sessions_.erase(it);
      }
    }
    if (!w_.emit_updates) {
      SLUICE_RETURN_IF_ERROR(Decode(agg_bytes, &agg_));
      Status s = ks_->Deserialize(kbuf_, &key_);
      if (!s.ok()) return s.WithContext(fmt::format("stored key of '{}'", this->name()));
      Timestamp out_ts(session() ? end : end - 1);
      SLUICE_RETURN_IF_ERROR(out_.Forward(key_, WindowResult<A>{start, end, agg_}, out_ts));
    }
    return store_->Delete(skey_);
  }

  void StoreKey(int64_t start) {
    skey_.assign(kbuf_);
    skey_.resize(kbuf_.size() + 8);
    varint::PutBE64(skey_.data() + kbuf_.size(), static_cast<uint64_t>(start));
  }

  Status Decode(std::string_view bytes, A* out) {
    Status s = as_->Deserialize(bytes, out);
    if (!s.ok()) return s.WithContext(fmt::format("stored window aggregate of '{}'", this->name()));
    return s;
  }

  Status Late(const K& key, const V& value, Timestamp ts) {
    this->ctx_->CountLate();
    if (late_topic_ < 0) return Status::Ok();
    std::string k, v;
    ks_->Serialize(key, &k);
    vs_->Serialize(value, &v);
    return this->ctx_->Send(late_topic_, k, v, ts);
  }

  Status ProcessSession(const K& key, const V& value, int64_t t) {
    auto& mine = sessions_[kbuf_];
    int64_t start = t, end = t;
    bool found = false;
    // Sessions this record touches: start <= t + gap and end >= t - gap, in start order.
    std::vector<std::pair<int64_t, int64_t>> touched;
    for (auto it = mine.begin(); it != mine.end() && it->first <= t + w_.gap_ms; ++it) {
      if (it->second >= t - w_.gap_ms) touched.emplace_back(it->first, it->second);
    }
    for (const auto& [s, e] : touched) {
      StoreKey(s);
      bool have = false;
      SLUICE_RETURN_IF_ERROR(store_->Get(skey_, &vbuf_, &have));
      if (have) {
        A a{};
        SLUICE_RETURN_IF_ERROR(Decode(std::string_view(vbuf_).substr(8), &a));
        this->Enter();
        agg_ = found ? merge_(key, agg_, a) : std::move(a);
        found = true;
        SLUICE_RETURN_IF_ERROR(store_->Delete(skey_));
      }
      by_close_.erase({SessionClose(e), kbuf_, s});
      mine.erase(s);
      start = std::min(start, s);
      end = std::max(end, e);
    }
    this->Enter();
    agg_ = update_(key, value, found, std::move(agg_));
    StoreKey(start);
    vbuf_.assign(8, '\0');
    varint::PutBE64(vbuf_.data(), static_cast<uint64_t>(end));
    std::string abuf;
    as_->Serialize(agg_, &abuf);
    vbuf_.append(abuf);
    SLUICE_RETURN_IF_ERROR(store_->Put(skey_, vbuf_));
    mine[start] = end;
    by_close_.emplace(SessionClose(end), kbuf_, start);
    if (w_.emit_updates) {
      SLUICE_RETURN_IF_ERROR(out_.Forward(key, WindowResult<A>{start, end, agg_}, Timestamp(end)));
    }
    return Status::Ok();
  }

  Windows w_;
  StoreRef store_;
  SerdePtr<K> ks_;
  SerdePtr<V> vs_;
  SerdePtr<A> as_;
  Update update_;
  Merge merge_;
  int late_topic_;
  std::string kbuf_, skey_, vbuf_;
  K key_{};
  A agg_{};
  // Open time windows: start -> key bytes (unordered until the window closes).
  std::map<int64_t, std::vector<std::string>> open_;
  // Open sessions by (close time, key bytes, start).
  std::set<std::tuple<int64_t, std::string, int64_t>> by_close_;
  // Sessions: key bytes -> start -> last event.
  std::unordered_map<std::string, std::map<int64_t, int64_t>> sessions_;
  Outputs<K, WindowResult<A>> out_;
};

}  // namespace sluice::internal
