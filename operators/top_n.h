// TopNPerWindow: the n best results per window of a windowed aggregate, e.g. the 10 most viewed
// pages per minute from per-page window counts.
//
//   auto counts = views.GroupByKey().WindowedBy(Windows::Tumbling(1min)).Count("per-page");
//   TopNPerWindow(counts, "top-pages", 10,
//                 [](const WindowResult<int64_t>& a, const WindowResult<int64_t>& b) {
//                   return a.value > b.value; })
//       .MapValues(...)  // Stream<int64_t window start, WindowResult<vector<pair<K, A>>>>
//       .To("top");
//
// The results of one window come from every task, so they are repartitioned by window start
// through "<app>-<store>-repartition" and collected in store `store`. A window's list is emitted
// once, when the watermark passes its end + `grace_ms` (use the grace of the upstream windows),
// ordered best first; ties are broken by key bytes, so the output is deterministic. A result for
// a window that has already been emitted is late: counted and dropped. With an upstream that
// emits every update, a key's newer result replaces its older one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/varint.h"
#include "operators/internal/nodes.h"
#include "operators/stream.h"
#include "operators/window_spec.h"
#include "operators/windows.h"

namespace sluice {
namespace internal {

// Encodes (key bytes, window-result bytes) as [u32 len][key][u32 len][result].
inline void AppendEntry(std::string* out, std::string_view k, std::string_view r) {
  char len[4];
  varint::PutBE32(len, static_cast<uint32_t>(k.size()));
  out->append(len, 4);
  out->append(k);
  varint::PutBE32(len, static_cast<uint32_t>(r.size()));
  out->append(len, 4);
  out->append(r);
}

inline bool ReadEntry(std::string_view* in, std::string_view* k, std::string_view* r) {
  auto take = [&](std::string_view* out) {
    if (in->size() < 4) return false;
    uint32_t n = varint::GetBE32(in->data());
    if (in->size() < 4 + static_cast<size_t>(n)) return false;
    *out = in->substr(4, n);
    in->remove_prefix(4 + n);
    return true;
  };
  return take(k) && take(r);
}

template <typename K, typename A>
class TopNSinkNode final : public Receiver<K, WindowResult<A>> {
 public:
  TopNSinkNode(std::string name, int topic, SerdePtr<K> ks, SerdePtr<WindowResult<A>> rs)
      : Receiver<K, WindowResult<A>>(std::move(name)), topic_(topic), ks_(ks), rs_(rs) {}
  void Connect(NodeBase*) override {}
  Status Process(const K& key, const WindowResult<A>& r, Timestamp ts) override {
    char k[8];
    varint::PutBE64(k, static_cast<uint64_t>(r.start));
    ks_->Serialize(key, &kbuf_);
    rs_->Serialize(r, &rbuf_);
    vbuf_.clear();
    AppendEntry(&vbuf_, kbuf_, rbuf_);
    return this->ctx_->Send(topic_, std::string_view(k, 8), vbuf_, ts);
  }

 private:
  int topic_;
  SerdePtr<K> ks_;
  SerdePtr<WindowResult<A>> rs_;
  std::string kbuf_, rbuf_, vbuf_;
};

template <typename K, typename A, typename Better>
class TopNNode final : public SourceNodeBase {
 public:
  using Out = WindowResult<std::vector<std::pair<K, A>>>;
  TopNNode(std::string name, int store, size_t n, int64_t grace, SerdePtr<K> ks,
           SerdePtr<WindowResult<A>> rs, Better better)
      : SourceNodeBase(std::move(name)),
        store_(store),
        n_(n),
        grace_(grace),
        ks_(ks),
        rs_(rs),
        better_(std::move(better)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return store_->ForEach([&](std::string_view k, std::string_view v) {
      if (k.size() == 8 && v.size() >= 8) {
        open_.emplace(static_cast<int64_t>(varint::GetBE64(v.data())) + grace_,
                      static_cast<int64_t>(varint::GetBE64(k.data())));
      }
    });
  }

  Status ProcessBytes(std::optional<std::string_view> key, std::optional<std::string_view> value,
                      Timestamp) override {
    std::string_view kb = key.value_or(""), vb = value.value_or("");
    std::string_view ek, er;
    if (kb.size() != 8 || !ReadEntry(&vb, &ek, &er)) {
      return InvalidArgument("'{}': malformed top-n repartition record", this->name());
    }
    WindowResult<A> r;
    SLUICE_RETURN_IF_ERROR(rs_->Deserialize(er, &r));
    // A window emitted before a reset to a time (ProcessorContext::reprocess_from).
    if (r.start < this->ctx_->reprocess_from().value()) return Status::Ok();
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(kb, &sbuf_, &found));
    if (!found && (r.end + grace_ <= this->ctx_->watermark().value() ||
                   r.end - 1 <= this->ctx_->flushed_through().value())) {
      this->ctx_->CountLate();  // the window's list was already emitted
      return Status::Ok();
    }
    std::vector<Cand> list;
    if (found) SLUICE_RETURN_IF_ERROR(Decode(sbuf_, &list));
    list.erase(std::remove_if(list.begin(), list.end(), [&](const Cand& c) { return c.kb == ek; }),
               list.end());
    list.push_back(Cand{std::string(ek), std::string(er), r});
    this->Enter();
    std::sort(list.begin(), list.end(), [&](const Cand& a, const Cand& b) {
      if (better_(a.r, b.r)) return true;
      if (better_(b.r, a.r)) return false;
      return a.kb < b.kb;
    });
    if (list.size() > n_) list.resize(n_);
    sbuf_.assign(8, '\0');
    varint::PutBE64(sbuf_.data(), static_cast<uint64_t>(r.end));
    for (const Cand& c : list) AppendEntry(&sbuf_, c.kb, c.rb);
    SLUICE_RETURN_IF_ERROR(store_->Put(kb, sbuf_));
    if (!found) open_.emplace(r.end + grace_, r.start);
    return Status::Ok();
  }

  Status OnWatermark(Timestamp wm) override {
    while (!open_.empty() && open_.begin()->first <= wm.value()) {
      int64_t start = open_.begin()->second;
      open_.erase(open_.begin());
      char k[8];
      varint::PutBE64(k, static_cast<uint64_t>(start));
      bool found = false;
      SLUICE_RETURN_IF_ERROR(store_->Get(std::string_view(k, 8), &sbuf_, &found));
      if (!found) continue;
      std::vector<Cand> list;
      SLUICE_RETURN_IF_ERROR(Decode(sbuf_, &list));
      Out o;
      o.start = start;
      o.end = static_cast<int64_t>(varint::GetBE64(sbuf_.data()));
      for (Cand& c : list) {
        K key{};
        SLUICE_RETURN_IF_ERROR(ks_->Deserialize(c.kb, &key));
        o.value.emplace_back(std::move(key), std::move(c.r.value));
      }
      SLUICE_RETURN_IF_ERROR(store_->Delete(std::string_view(k, 8)));
      SLUICE_RETURN_IF_ERROR(out_.Forward(start, o, Timestamp(o.end - 1)));
    }
    return Status::Ok();
  }

 private:
  struct Cand {
    std::string kb, rb;
    WindowResult<A> r;
  };
  Status Decode(std::string_view v, std::vector<Cand>* list) {
    if (v.size() < 8) return Corruption("'{}': malformed stored top-n list", this->name());
    v.remove_prefix(8);
    std::string_view k, r;
    while (!v.empty()) {
      if (!ReadEntry(&v, &k, &r))
        return Corruption("'{}': malformed stored top-n list", this->name());
      Cand c{std::string(k), std::string(r), {}};
      SLUICE_RETURN_IF_ERROR(rs_->Deserialize(r, &c.r));
      list->push_back(std::move(c));
    }
    return Status::Ok();
  }

  StoreRef store_;
  size_t n_;
  int64_t grace_;
  SerdePtr<K> ks_;
  SerdePtr<WindowResult<A>> rs_;
  Better better_;
  std::string sbuf_;
  std::set<std::pair<int64_t, int64_t>> open_;  // (close time, window start)
  Outputs<int64_t, Out> out_;
};

}  // namespace internal

template <typename K, typename A, typename Better>
Stream<int64_t, WindowResult<std::vector<std::pair<K, A>>>> TopNPerWindow(
    const Stream<K, WindowResult<A>>& in, const std::string& store, size_t n, Better better,
    int64_t grace_ms = 0) {
  static_assert(
      std::is_invocable_r_v<bool, Better&, const WindowResult<A>&, const WindowResult<A>&>,
      "TopNPerWindow expects better(const WindowResult<A>& a, const WindowResult<A>& b) "
      "-> bool, true when a ranks before b");
  using Out = WindowResult<std::vector<std::pair<K, A>>>;
  internal::BuilderState* st = in.state();
  const auto& ser = in.serdes();
  int topic = st->Topic(store + "-repartition", true);
  int sink = st->AddNode(store + "-repartition-sink", "sink", {in.node()}, nullptr);
  st->AttachSink(topic, sink);
  int id = st->AddNode(st->HasStore(store) ? "" : store, "top-n", {}, nullptr);
  st->AttachSource(topic, id);
  int sidx = st->AddStore(store, id, "window-start", "top-n-list");
  if (n == 0) st->Error(fmt::format("top-n store '{}': n must be at least 1", store));
  if (!ser.key || !ser.value) {
    st->Error(
        fmt::format("top-n store '{}' needs the key and window-result serdes of its input", store));
  } else {
    st->SetFactory(sink, [ser, topic, nm = st->NodeName(sink)]() {
      return std::make_unique<internal::TopNSinkNode<K, A>>(nm, topic, ser.key, ser.value);
    });
    st->SetFactory(id, [ser, sidx, n, grace_ms, better, nm = st->NodeName(id)]() {
      return std::make_unique<internal::TopNNode<K, A, Better>>(nm, sidx, n, grace_ms, ser.key,
                                                                ser.value, better);
    });
  }
  return Stream<int64_t, Out>(st, id, {Int64Serde(), nullptr}, false);
}

}  // namespace sluice
