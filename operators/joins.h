// Joins: stream-table (enrichment), stream-global-table, table-table and windowed stream-stream.
//
//   // Each page view with the latest users-table row of its user (left: also without one).
//   auto users = b.Table<std::string, User>("users", "users-table");
//   auto enriched = JoinTable(views, users, "views-with-users", JoinKind::kLeft,
//       [](const std::string& user, const View& v, const std::optional<User>& u) { ... });
//
//   // Each user with their latest address (left: also users without one), as a table.
//   auto addresses = b.Table<std::string, Address>("addresses", "addresses-table");
//   auto full = JoinTables(users, addresses, "users-with-addresses", JoinKind::kLeft,
//       [](const std::string& user, const User& u, const std::optional<Address>& a) { ... });
//
//   // Each order with its customer's row, whatever partition the customer is in.
//   auto customers = b.GlobalTable<std::string, Customer>("customers", "customers-global");
//   auto enriched = JoinGlobal(orders, customers, "orders-with-customers", JoinKind::kInner,
//       [](const std::string& order_id, const Order& o) { return o.customer; },
//       [](const std::string&, const Order& o, const std::optional<Customer>& c) { ... });
//
//   // Every (auction, bid) pair of one key whose times are at most 10 s apart.
//   auto pairs = JoinWindowed(auctions, bids, "auction-bids", std::chrono::seconds(10),
//       JoinKind::kInner, [](const int64_t& id, const std::optional<Auction>& a,
//                            const std::optional<Bid>& b) { ... });
//
// Both sides of a join must be partitioned alike: the planner refuses to start a job whose
// joined topics have different partition counts ("topics read together must have the same
// number of partitions"), and a side whose key changed since it was read is first repartitioned
// through "<app>-<name>-<side>-repartition".
//
// Stream-table: each stream record is looked up in the table's store when it is processed
// (processing-time semantics, as Kafka Streams); kInner drops records without a table row,
// kLeft passes std::nullopt. Table updates produce no output. Output timestamp = the record's.
//
// Table-table (as Kafka Streams' KTable#join/leftJoin): the result is a table, kept in the store
// `name`, that changes whenever either input table changes. An update of key k on either side
// is looked up in the other side's store: inner emits fn(k, l, r) when both rows exist; left
// emits fn(k, l, r or std::nullopt) whenever the left row exists. A tombstone deletes the
// result when the join no longer has one (a left delete; a right delete in an inner join) and
// re-emits fn(k, l, std::nullopt) for a right delete in a left join; an update of a side that
// leaves the join without a result (an inner join's left row without a right one) deletes too.
// A delete of a key that had no result changes nothing and is not forwarded. Deletes reach
// stores and further table-table joins; ToStream carries updates only (as for Table(topic)).
// Output timestamp = the timestamp of the input update that caused it.
//
// Windowed stream-stream: records of the two sides with the same key and event times at most
// `window` apart are joined (fn(key, left, right), output timestamp = the later of the two).
// kLeft also emits every left record that found no partner (right = std::nullopt), kOuter every
// unmatched record of either side; such a record is emitted when the watermark passes its time
// + window + grace (strictly), i.e. when no partner can arrive any more. Records are buffered in
// the stores
// "<name>-left" and "<name>-right" (covered by the exactly-once commit) and deleted at that
// point. A record whose time + grace is below its record watermark can no longer find
// all its partners: it is late, counted and dropped. The set of results does not depend on how
// the two inputs interleave.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/varint.h"
#include "operators/internal/nodes.h"
#include "operators/internal/repartition.h"
#include "operators/stream.h"

namespace sluice {

enum class JoinKind { kInner, kLeft, kOuter };

namespace internal {

// Receives table updates for a join's stage link and ignores them.
template <typename K, typename T>
class IgnoreNode final : public Receiver<K, T> {
 public:
  using Receiver<K, T>::Receiver;
  void Connect(NodeBase*) override {}
  Status Process(const K&, const T&, Timestamp) override { return Status::Ok(); }
};

template <typename K, typename V, typename T, typename R, typename F>
class StreamTableJoinNode final : public Receiver<K, V> {
 public:
  StreamTableJoinNode(std::string name, int store, JoinKind kind, SerdePtr<K> ks, SerdePtr<T> ts,
                      F fn)
      : Receiver<K, V>(std::move(name)),
        store_(store),
        kind_(kind),
        ks_(ks),
        ts_(ts),
        fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return Status::Ok();
  }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(kbuf_, &tbuf_, &found));
    std::optional<T> row;
    if (found) {
      T t{};
      Status s = ts_->Deserialize(tbuf_, &t);
      if (!s.ok()) return s.WithContext(fmt::format("table row read by join '{}'", this->name()));
      row = std::move(t);
    } else if (kind_ == JoinKind::kInner) {
      return Status::Ok();
    }
    this->Enter();
    R r = fn_(key, value, row);
    return out_.Forward(key, r, ts);
  }

 private:
  StoreRef store_;
  JoinKind kind_;
  SerdePtr<K> ks_;
  SerdePtr<T> ts_;
  F fn_;
  std::string kbuf_, tbuf_;
  Outputs<K, R> out_;
};

// Stream-global-table join: the table row is looked up by sel(key, value), in the task's whole
// copy of the global table.
template <typename K, typename V, typename GK, typename T, typename R, typename S, typename F>
class StreamGlobalJoinNode final : public Receiver<K, V> {
 public:
  StreamGlobalJoinNode(std::string name, int store, JoinKind kind, SerdePtr<GK> ks, SerdePtr<T> ts,
                       S sel, F fn)
      : Receiver<K, V>(std::move(name)),
        store_(store),
        kind_(kind),
        ks_(ks),
        ts_(ts),
        sel_(std::move(sel)),
        fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return Status::Ok();
  }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    GK gk = sel_(key, value);
    ks_->Serialize(gk, &kbuf_);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(kbuf_, &tbuf_, &found));
    std::optional<T> row;
    if (found) {
      T t{};
      Status s = ts_->Deserialize(tbuf_, &t);
      if (!s.ok()) {
        return s.WithContext(fmt::format("global table row read by join '{}'", this->name()));
      }
      row = std::move(t);
    } else if (kind_ == JoinKind::kInner) {
      return Status::Ok();
    }
    this->Enter();
    R r = fn_(key, value, row);
    return out_.Forward(key, r, ts);
  }

 private:
  StoreRef store_;
  JoinKind kind_;
  SerdePtr<GK> ks_;
  SerdePtr<T> ts_;
  S sel_;
  F fn_;
  std::string kbuf_, tbuf_;
  Outputs<K, R> out_;
};

// One side's buffer of a windowed join: store key = key bytes + BE64(event time), value = a
// list of entries [u8 matched][u32 length][value bytes]. In memory: event times per key and the
// expiry order, rebuilt from the store in Init.
class JoinBuffer {
 public:
  struct Entry {
    bool matched = false;
    std::string value;
  };
  Status Init(KeyValueStore* store, int64_t retain_ms);
  // Appends an entry for (key bytes, time).
  Status Add(const std::string& kb, int64_t t, std::string_view value, bool matched);
  // Calls fn(time, entries) for each buffered time of `kb` in [lo, hi]; if fn returns true the
  // (modified) entries are written back.
  Status ForRange(const std::string& kb, int64_t lo, int64_t hi,
                  const std::function<bool(int64_t, std::vector<Entry>&)>& fn);
  // Removes every time whose expiry (time + retain) is below wm, calling
  // fn(key bytes, time, entries) first.
  Status Expire(int64_t wm,
                const std::function<Status(const std::string&, int64_t, std::vector<Entry>&)>& fn);

 private:
  static std::string Key(const std::string& kb, int64_t t);
  static bool Decode(std::string_view v, std::vector<Entry>* out);
  static std::string Encode(const std::vector<Entry>& entries);

  KeyValueStore* store_ = nullptr;
  int64_t retain_ = 0;
  std::unordered_map<std::string, std::set<int64_t>> times_;
  std::set<std::pair<int64_t, std::string>> expiry_;  // (time, key bytes)
};

// One side of a windowed join. `Self` values arrive here; `Other` values are buffered by the
// other side. fn(key, left, right) as given by the user; `self_is_left` says which argument
// this side fills.
template <typename K, typename Self, typename Other, typename R, typename F>
class WindowJoinSideNode final : public Receiver<K, Self> {
 public:
  WindowJoinSideNode(std::string name, bool self_is_left, int self_store, int other_store,
                     int64_t window, int64_t grace, JoinKind kind, SerdePtr<K> ks,
                     SerdePtr<Self> ss, SerdePtr<Other> os, F fn)
      : Receiver<K, Self>(std::move(name)),
        left_(self_is_left),
        self_store_(self_store),
        other_store_(other_store),
        window_(window),
        grace_(grace),
        kind_(kind),
        ks_(ks),
        ss_(ss),
        os_(os),
        fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    // Both sides of the join in one task share the two buffers.
    SLUICE_ASSIGN_OR_RETURN(self_, Shared(ctx, self_store_));
    SLUICE_ASSIGN_OR_RETURN(other_, Shared(ctx, other_store_));
    return Status::Ok();
  }

  Status Process(const K& key, const Self& value, Timestamp ts) override {
    const int64_t t = ts.value();
    // A record that could have met one a bounded run's end already flushed (and emitted as
    // unmatched) is late too.
    if (t + grace_ < this->ctx_->record_watermark().value() ||
        t - window_ <= this->ctx_->flushed_through().value()) {
      this->ctx_->CountLate();
      return Status::Ok();
    }
    ks_->Serialize(key, &kbuf_);
    ss_->Serialize(value, &vbuf_);
    bool matched = false;
    Status err;
    SLUICE_RETURN_IF_ERROR(other_->ForRange(
        kbuf_, t - window_, t + window_, [&](int64_t ot, std::vector<JoinBuffer::Entry>& list) {
          for (auto& e : list) {
            Other o{};
            Status s = os_->Deserialize(e.value, &o);
            if (!s.ok()) {
              if (err.ok()) err = s;
              continue;
            }
            matched = true;
            e.matched = true;
            if (err.ok())
              err = Emit(key, std::optional<Self>(value), std::optional<Other>(o),
                         Timestamp(std::max(t, ot)));
          }
          return true;
        }));
    SLUICE_RETURN_IF_ERROR(err);
    return self_->Add(kbuf_, t, vbuf_, matched);
  }

  Status OnWatermark(Timestamp wm) override {
    bool emit_unmatched = kind_ == JoinKind::kOuter || (kind_ == JoinKind::kLeft && left_);
    return self_->Expire(
        wm.value(),
        [&](const std::string& kb, int64_t t, std::vector<JoinBuffer::Entry>& list) -> Status {
          if (!emit_unmatched) return Status::Ok();
          for (auto& e : list) {
            if (e.matched) continue;
            K key{};
            Self v{};
            SLUICE_RETURN_IF_ERROR(ks_->Deserialize(kb, &key));
            SLUICE_RETURN_IF_ERROR(ss_->Deserialize(e.value, &v));
            SLUICE_RETURN_IF_ERROR(Emit(key, std::optional<Self>(v), std::nullopt, Timestamp(t)));
          }
          return Status::Ok();
        });
  }

 private:
  Result<JoinBuffer*> Shared(ProcessorContext* ctx, int store) {
    std::shared_ptr<void>& slot = ctx->shared_state(store);
    if (!slot) {
      auto b = std::make_shared<JoinBuffer>();
      SLUICE_RETURN_IF_ERROR(b->Init(ctx->store(store), window_ + grace_));
      slot = b;
    }
    return static_cast<JoinBuffer*>(slot.get());
  }

  Status Emit(const K& key, const std::optional<Self>& self, const std::optional<Other>& other,
              Timestamp ts) {
    this->Enter();
    if (left_) {
      if constexpr (std::is_invocable_v<F&, const K&, const std::optional<Self>&,
                                        const std::optional<Other>&>) {
        R r = fn_(key, self, other);
        return out_.Forward(key, r, ts);
      }
    } else {
      if constexpr (std::is_invocable_v<F&, const K&, const std::optional<Other>&,
                                        const std::optional<Self>&>) {
        R r = fn_(key, other, self);
        return out_.Forward(key, r, ts);
      }
    }
    return Internal("join '{}': the join function does not accept this side", this->name());
  }

  bool left_;
  int self_store_, other_store_;
  int64_t window_, grace_;
  JoinKind kind_;
  SerdePtr<K> ks_;
  SerdePtr<Self> ss_;
  SerdePtr<Other> os_;
  F fn_;
  JoinBuffer* self_ = nullptr;
  JoinBuffer* other_ = nullptr;
  std::string kbuf_, vbuf_;
  Outputs<K, R> out_;
};

// One side of a table-table join: an update or delete of this side's table is joined with the
// other table's row (read from its store) and passed to the TableJoinResultNode as the new
// result or as a delete of it. fn(key, left, optional right) as given by the user.
template <typename K, typename Self, typename Other, typename R, typename F>
class TableJoinSideNode final : public Receiver<K, Self> {
 public:
  TableJoinSideNode(std::string name, bool self_is_left, int other_store, JoinKind kind,
                    SerdePtr<K> ks, SerdePtr<Other> os, F fn)
      : Receiver<K, Self>(std::move(name)),
        left_(self_is_left),
        other_store_(other_store),
        kind_(kind),
        ks_(ks),
        os_(os),
        fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  bool WantsDeletes() const override { return true; }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    other_store_.Bind(ctx);
    return Status::Ok();
  }

  Status Process(const K& key, const Self& value, Timestamp ts) override {
    std::optional<Other> other;
    SLUICE_RETURN_IF_ERROR(ReadOther(key, &other));
    if (left_) {
      // A left row without a right one: the left join still has a result, the inner join none.
      if (!other && kind_ == JoinKind::kInner) return out_.ForwardDelete(key, ts);
      return Emit(key, value, other, ts);
    }
    // A right row without a left one joins nothing (and the result is already absent).
    if (!other) return Status::Ok();
    return Emit(key, *other, std::optional<Self>(value), ts);
  }

  Status ProcessDelete(const K& key, Timestamp ts) override {
    if (left_) return out_.ForwardDelete(key, ts);
    std::optional<Other> other;
    SLUICE_RETURN_IF_ERROR(ReadOther(key, &other));
    if (!other) return Status::Ok();
    if (kind_ == JoinKind::kInner) return out_.ForwardDelete(key, ts);
    return Emit(key, *other, std::optional<Self>(), ts);
  }

 private:
  Status ReadOther(const K& key, std::optional<Other>* out) {
    ks_->Serialize(key, &kbuf_);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(other_store_->Get(kbuf_, &obuf_, &found));
    if (!found) return Status::Ok();
    Other o{};
    Status s = os_->Deserialize(obuf_, &o);
    if (!s.ok()) return s.WithContext(fmt::format("table row read by join '{}'", this->name()));
    *out = std::move(o);
    return Status::Ok();
  }

  // fn is called as fn(key, left, optional right); which of (a, b) is left depends on the side.
  template <typename A, typename B>
  Status Emit(const K& key, const A& a, const std::optional<B>& b, Timestamp ts) {
    this->Enter();
    if constexpr (std::is_invocable_v<F&, const K&, const A&, const std::optional<B>&>) {
      R r = fn_(key, a, b);
      return out_.Forward(key, r, ts);
    }
    return Internal("join '{}': the join function does not accept this side", this->name());
  }

  bool left_;
  StoreRef other_store_;
  JoinKind kind_;
  SerdePtr<K> ks_;
  SerdePtr<Other> os_;
  F fn_;
  std::string kbuf_, obuf_;
  Outputs<K, R> out_;
};

// The result table of a table-table join: keeps the latest result per key in its store and
// forwards every change; a delete of a key without a result is dropped (nothing changed).
template <typename K, typename R>
class TableJoinResultNode final : public Receiver<K, R> {
 public:
  TableJoinResultNode(std::string name, int store, SerdePtr<K> ks, SerdePtr<R> rs)
      : Receiver<K, R>(std::move(name)), store_(store), ks_(ks), rs_(rs) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  bool WantsDeletes() const override { return true; }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return Status::Ok();
  }
  Status Process(const K& key, const R& value, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    rs_->Serialize(value, &rbuf_);
    SLUICE_RETURN_IF_ERROR(store_->Put(kbuf_, rbuf_));
    return out_.Forward(key, value, ts);
  }
  Status ProcessDelete(const K& key, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(kbuf_, &rbuf_, &found));
    if (!found) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(store_->Delete(kbuf_));
    return out_.ForwardDelete(key, ts);
  }

 private:
  StoreRef store_;
  SerdePtr<K> ks_;
  SerdePtr<R> rs_;
  std::string kbuf_, rbuf_;
  Outputs<K, R> out_;
};

}  // namespace internal

// Stream-table join: see the file comment. fn(const K&, const V&, const std::optional<T>&) -> R.
template <typename K, typename V, typename T, typename F>
auto JoinTable(const Stream<K, V>& stream, const Table<K, T>& table, const std::string& name,
               JoinKind kind, F fn) {
  static_assert(std::is_invocable_v<F&, const K&, const V&, const std::optional<T>&>,
                "JoinTable expects fn(const K& key, const V& value, const std::optional<T>& row)");
  using R =
      std::remove_cvref_t<std::invoke_result_t<F&, const K&, const V&, const std::optional<T>&>>;
  internal::BuilderState* st = stream.state();
  if (kind == JoinKind::kOuter) {
    st->Error(fmt::format("join '{}': a stream-table join is inner or left, not outer", name));
  }
  int parent = internal::RepartitionIfKeyChanged<K, V>(st, stream.node(), stream.key_changed(),
                                                       stream.serdes(), name + "-stream", "join");
  int link = st->AddNode(name + "-table-link", "join-table-link", {table.node()}, nullptr);
  st->SetFactory(
      link, [n = st->NodeName(link)]() { return std::make_unique<internal::IgnoreNode<K, T>>(n); });
  int id = st->AddNode(name, "stream-table-join", {parent, link}, nullptr);
  auto ks = table.serdes().key;
  auto ts = table.serdes().value;
  int store = table.store();
  st->SetFactory(id, [store, kind, ks, ts, fn, n = st->NodeName(id)]() {
    return std::make_unique<internal::StreamTableJoinNode<K, V, T, R, F>>(n, store, kind, ks, ts,
                                                                          fn);
  });
  return Stream<K, R>(st, id, {stream.serdes().key, DefaultSerde<R>()}, false);
}

// Stream-global-table join (Kafka Streams' KStream#join/leftJoin(GlobalKTable, keySelector,
// joiner)): each stream record is looked up in the global table by sel(key, value) when it is
// processed; kInner drops records without a row, kLeft passes std::nullopt. The stream keeps its
// key and partitioning: no repartition, whatever the key selector returns, and the table's topic
// may have any partition count. Table updates produce no output; the result depends on the
// table's contents when the record is processed (the table is bootstrapped before the stream,
// then follows its topic with no synchronisation to the stream's event time, as in Kafka
// Streams). sel(const K&, const V&) -> GK; fn(const K&, const V&, const std::optional<T>&) -> R.
template <typename K, typename V, typename GK, typename T, typename S, typename F>
auto JoinGlobal(const Stream<K, V>& stream, const GlobalTable<GK, T>& table,
                const std::string& name, JoinKind kind, S sel, F fn) {
  static_assert(std::is_convertible_v<std::invoke_result_t<S&, const K&, const V&>, GK>,
                "JoinGlobal expects a key selector GK(const K& key, const V& value) returning "
                "the global table's key type");
  static_assert(std::is_invocable_v<F&, const K&, const V&, const std::optional<T>&>,
                "JoinGlobal expects fn(const K& key, const V& value, const std::optional<T>& row)");
  using R =
      std::remove_cvref_t<std::invoke_result_t<F&, const K&, const V&, const std::optional<T>&>>;
  internal::BuilderState* st = stream.state();
  if (kind == JoinKind::kOuter) {
    st->Error(
        fmt::format("join '{}': a stream-global-table join is inner or left, not outer", name));
  }
  int link = st->AddNode(name + "-table-link", "join-global-link", {table.node()}, nullptr);
  st->SetFactory(link, [n = st->NodeName(link)]() {
    return std::make_unique<internal::IgnoreNode<GK, T>>(n);
  });
  int id = st->AddNode(name, "stream-global-join", {stream.node(), link}, nullptr);
  auto ks = table.serdes().key;
  auto ts = table.serdes().value;
  int store = table.store();
  st->SetFactory(id, [store, kind, ks, ts, sel, fn, n = st->NodeName(id)]() {
    return std::make_unique<internal::StreamGlobalJoinNode<K, V, GK, T, R, S, F>>(n, store, kind,
                                                                                  ks, ts, sel, fn);
  });
  return Stream<K, R>(st, id, {stream.serdes().key, DefaultSerde<R>()}, stream.key_changed());
}

// The same, looking the table up by the stream's own key.
template <typename K, typename V, typename T, typename F>
auto JoinGlobal(const Stream<K, V>& stream, const GlobalTable<K, T>& table, const std::string& name,
                JoinKind kind, F fn) {
  return JoinGlobal(
      stream, table, name, kind, [](const K& k, const V&) { return k; }, std::move(fn));
}

// Table-table join: see the file comment. fn(const K&, const L&, const std::optional<Rt>&) -> R
// (inner: the right row is always present). The result is a table kept in store `name`.
template <typename K, typename L, typename Rt, typename F>
auto JoinTables(
    const Table<K, L>& left, const Table<K, Rt>& right, const std::string& name, JoinKind kind,
    F fn,
    SerdePtr<
        std::remove_cvref_t<std::invoke_result_t<F&, const K&, const L&, const std::optional<Rt>&>>>
        result_serde = DefaultSerde<std::remove_cvref_t<
            std::invoke_result_t<F&, const K&, const L&, const std::optional<Rt>&>>>()) {
  static_assert(
      std::is_invocable_v<F&, const K&, const L&, const std::optional<Rt>&>,
      "JoinTables expects fn(const K& key, const L& left, const std::optional<R>& right)");
  using R =
      std::remove_cvref_t<std::invoke_result_t<F&, const K&, const L&, const std::optional<Rt>&>>;
  internal::BuilderState* st = left.state();
  if (kind == JoinKind::kOuter) {
    st->Error(fmt::format("join '{}': a table-table join is inner or left, not outer", name));
  }
  int ln = st->AddNode(name + "-left", "table-join-left", {left.node()}, nullptr);
  int rn = st->AddNode(name + "-right", "table-join-right", {right.node()}, nullptr);
  // The result node takes the store's name; a duplicate store is reported once, as such.
  int out = st->AddNode(st->HasStore(name) ? "" : name, "table-table-join", {ln, rn}, nullptr);
  auto ks = left.serdes().key;
  int sidx = st->AddStore(name, out, internal::SerdeName(ks), internal::SerdeName(result_serde));
  if (!ks || !left.serdes().value || !right.serdes().value || !result_serde) {
    st->Error(fmt::format(
        "join '{}' reads both tables' stores and keeps its result in store '{}', so it needs "
        "key and value serdes for both tables and a serde for the result (the last argument)",
        name, name));
    return Table<K, R>(st, out, sidx, {ks, result_serde});
  }
  int ls = left.store(), rs = right.store();
  auto lvs = left.serdes().value;
  auto rvs = right.serdes().value;
  st->SetFactory(ln, [=, n = st->NodeName(ln)]() {
    return std::make_unique<internal::TableJoinSideNode<K, L, Rt, R, F>>(n, true, rs, kind, ks, rvs,
                                                                         fn);
  });
  st->SetFactory(rn, [=, n = st->NodeName(rn)]() {
    return std::make_unique<internal::TableJoinSideNode<K, Rt, L, R, F>>(n, false, ls, kind, ks,
                                                                         lvs, fn);
  });
  st->SetFactory(out, [=, n = st->NodeName(out)]() {
    return std::make_unique<internal::TableJoinResultNode<K, R>>(n, sidx, ks, result_serde);
  });
  return Table<K, R>(st, out, sidx, {ks, result_serde});
}

// Windowed stream-stream join: see the file comment. fn(const K&, const std::optional<L>&,
// const std::optional<Rt>&) -> R. Stores "<name>-left" and "<name>-right".
template <typename K, typename L, typename Rt, typename F>
auto JoinWindowed(const Stream<K, L>& left, const Stream<K, Rt>& right, const std::string& name,
                  std::chrono::milliseconds window, JoinKind kind, F fn,
                  std::chrono::milliseconds grace = std::chrono::milliseconds(0)) {
  static_assert(
      std::is_invocable_v<F&, const K&, const std::optional<L>&, const std::optional<Rt>&>,
      "JoinWindowed expects fn(const K& key, const std::optional<L>& left, "
      "const std::optional<R>& right)");
  using R = std::remove_cvref_t<
      std::invoke_result_t<F&, const K&, const std::optional<L>&, const std::optional<Rt>&>>;
  internal::BuilderState* st = left.state();
  if (window.count() < 0 || grace.count() < 0) {
    st->Error(fmt::format("join '{}': window and grace must be 0 or more", name));
  }
  int lp = internal::RepartitionIfKeyChanged<K, L>(st, left.node(), left.key_changed(),
                                                   left.serdes(), name + "-left", "join");
  int rp = internal::RepartitionIfKeyChanged<K, Rt>(st, right.node(), right.key_changed(),
                                                    right.serdes(), name + "-right", "join");
  int ln = st->AddNode(name + "-left-side", "window-join-left", {lp}, nullptr);
  int rn = st->AddNode(name + "-right-side", "window-join-right", {rp}, nullptr);
  int ls = st->AddStore(name + "-left", ln, internal::SerdeName(left.serdes().key),
                        "join-buffer<" + internal::SerdeName(left.serdes().value) + ">");
  int rs = st->AddStore(name + "-right", rn, internal::SerdeName(right.serdes().key),
                        "join-buffer<" + internal::SerdeName(right.serdes().value) + ">");
  int out = st->AddNode(name, "window-join", {ln, rn}, nullptr);
  st->SetFactory(
      out, [n = st->NodeName(out)]() { return std::make_unique<internal::PassNode<K, R>>(n); });
  auto ks = left.serdes().key;
  auto lvs = left.serdes().value;
  auto rvs = right.serdes().value;
  if (!ks || !lvs || !rvs) {
    st->Error(
        fmt::format("join '{}' buffers both sides in stores and needs key and value serdes "
                    "for them; pass them with WithSerdes(...)",
                    name));
    return Stream<K, R>(st, out, {ks, DefaultSerde<R>()}, false);
  }
  int64_t w = window.count(), g = grace.count();
  st->SetFactory(ln, [=, n = st->NodeName(ln)]() {
    return std::make_unique<internal::WindowJoinSideNode<K, L, Rt, R, F>>(n, true, ls, rs, w, g,
                                                                          kind, ks, lvs, rvs, fn);
  });
  st->SetFactory(rn, [=, n = st->NodeName(rn)]() {
    return std::make_unique<internal::WindowJoinSideNode<K, Rt, L, R, F>>(n, false, rs, ls, w, g,
                                                                          kind, ks, rvs, lvs, fn);
  });
  return Stream<K, R>(st, out, {ks, DefaultSerde<R>()}, false);
}

}  // namespace sluice
