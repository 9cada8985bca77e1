// The typed DSL handles: Stream<K, V>, GroupedStream<K, V> and Table<K, V>.
//
// Handles are cheap values pointing into a TopologyBuilder; each operator adds a node and
// returns a new handle. Stateless operators take an optional name (automatic otherwise);
// stateful ones (Count, Reduce, Aggregate, Table) require a store name. Serdes are needed only
// where records cross a topic (To, repartition) or a store; a handle carries the serdes of its
// types (the defaults from DefaultSerde, or those set with WithSerdes), and a missing one is
// reported by Build(), not at the call.
//
// Repartitioning: Map, FlatMap and KeyBy may change the key. A GroupByKey after a key change
// sends the records through the internal topic "<app>-<store>-repartition" so that every key
// is aggregated by exactly one task; the topology is cut into stages there.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "operators/callable_checks.h"
#include "operators/internal/builder_state.h"
#include "operators/internal/event_time_node.h"
#include "operators/internal/nodes.h"
#include "operators/serde.h"

namespace sluice {

template <typename K, typename V>
class Table;
template <typename K, typename V>
class GroupedStream;
template <typename K, typename V>
class WindowedStream;  // operators/windows.h
struct Windows;        // operators/window_spec.h

namespace internal {
template <typename T>
std::string SerdeName(const SerdePtr<T>& s) {
  return s ? std::string(s->name()) : std::string("none");
}
template <typename T>
inline constexpr bool kAlwaysFalse = false;
}  // namespace internal

template <typename K, typename V>
class Stream {
 public:
  using key_type = K;
  using value_type = V;

  Stream() = default;
  Stream(internal::BuilderState* state, int node, Serdes<K, V> serdes, bool key_changed)
      : state_(state), node_(node), serdes_(std::move(serdes)), key_changed_(key_changed) {}

  // The same stream, with these serdes for where it crosses a topic or store (null members keep
  // the current ones).
  Stream WithSerdes(Serdes<K, V> serdes) const {
    Stream s = *this;
    if (serdes.key) s.serdes_.key = serdes.key;
    if (serdes.value) s.serdes_.value = serdes.value;
    return s;
  }

  // (k, v) -> fn(k, v) = std::pair{k2, v2}. May change the key.
  template <typename F>
  auto Map(F fn, std::string name = "") const {
    static_assert(KeyValueMapper<F, K, V>,
                  "Map expects a callable std::pair<K2, V2>(const K& key, const V& value)");
    if constexpr (KeyValueMapper<F, K, V>) {
      using R = std::remove_cvref_t<std::invoke_result_t<F&, const K&, const V&>>;
      using K2 = typename R::first_type;
      using V2 = typename R::second_type;
      int id = Add(std::move(name), "map", [fn](std::string n) {
        return std::make_unique<internal::MapNode<K, V, K2, V2, F>>(std::move(n), fn);
      });
      return Stream<K2, V2>(state_, id, {DefaultSerde<K2>(), DefaultSerde<V2>()}, true);
    }
  }

  // (k, v) -> (k, fn(v)). Keeps the key.
  template <typename F>
  auto MapValues(F fn, std::string name = "") const {
    static_assert(ValueMapper<F, V>, "MapValues expects a callable V2(const V& value)");
    if constexpr (ValueMapper<F, V>) {
      using V2 = std::remove_cvref_t<std::invoke_result_t<F&, const V&>>;
      int id = Add(std::move(name), "map-values", [fn](std::string n) {
        return std::make_unique<internal::MapValuesNode<K, V, V2, F>>(std::move(n), fn);
      });
      return Stream<K, V2>(state_, id, {serdes_.key, DefaultSerde<V2>()}, key_changed_);
    }
  }

  // Keeps the records for which fn(k, v) is true.
  template <typename F>
  Stream Filter(F fn, std::string name = "") const {
    static_assert(KeyValuePredicate<F, K, V>,
                  "Filter expects a callable bool(const K& key, const V& value)");
    if constexpr (KeyValuePredicate<F, K, V>) {
      int id = Add(std::move(name), "filter", [fn](std::string n) {
        return std::make_unique<internal::FilterNode<K, V, F>>(std::move(n), fn);
      });
      return Stream(state_, id, serdes_, key_changed_);
    } else {
      return *this;
    }
  }

  // (k, v) -> every pair in fn(k, v) (any range of std::pair<K2, V2>). May change the key.
  template <typename F>
  auto FlatMap(F fn, std::string name = "") const {
    static_assert(FlatKeyValueMapper<F, K, V>,
                  "FlatMap expects a callable returning a range of std::pair<K2, V2> "
                  "(e.g. std::vector<std::pair<K2, V2>>) from (const K& key, const V& value)");
    if constexpr (FlatKeyValueMapper<F, K, V>) {
      using R = std::invoke_result_t<F&, const K&, const V&>;
      using P = std::remove_cvref_t<std::ranges::range_value_t<R>>;
      using K2 = typename P::first_type;
      using V2 = typename P::second_type;
      int id = Add(std::move(name), "flat-map", [fn](std::string n) {
        return std::make_unique<internal::FlatMapNode<K, V, K2, V2, F>>(std::move(n), fn);
      });
      return Stream<K2, V2>(state_, id, {DefaultSerde<K2>(), DefaultSerde<V2>()}, true);
    }
  }

  // Event time from the record itself: fn(k, v) returns std::optional<Timestamp>; the record's
  // timestamp becomes that time, and the watermark of the partition it came from follows these
  // times instead of the record timestamps (see operators/watermark.h). std::nullopt (e.g. an
  // unparsable record on its way to a dead-letter topic) keeps the timestamp and leaves the
  // watermark alone. Use it before any key change, in the stage that reads the topic.
  template <typename F>
  Stream WithEventTime(F fn, std::string name = "") const {
    static_assert(std::is_convertible_v<std::invoke_result_t<F&, const K&, const V&>,
                                        std::optional<Timestamp>>,
                  "WithEventTime expects a callable std::optional<Timestamp>(const K& key, "
                  "const V& value)");
    int id = Add(std::move(name), "event-time", [fn](std::string n) {
      return std::make_unique<internal::EventTimeNode<K, V, F>>(std::move(n), fn);
    });
    return Stream(state_, id, serdes_, key_changed_);
  }

  // Calls fn(k, v) for its side effect and forwards the record unchanged.
  template <typename F>
  Stream Peek(F fn, std::string name = "") const {
    static_assert(KeyValueAction<F, K, V>,
                  "Peek expects a callable void(const K& key, const V& value)");
    if constexpr (KeyValueAction<F, K, V>) {
      int id = Add(std::move(name), "peek", [fn](std::string n) {
        return std::make_unique<internal::PeekNode<K, V, F>>(std::move(n), fn);
      });
      return Stream(state_, id, serdes_, key_changed_);
    } else {
      return *this;
    }
  }

  // The records of this stream and `other`, interleaved in arrival order.
  Stream Merge(const Stream& other, std::string name = "") const {
    int id = state_->AddNode(std::move(name), "merge", {node_, other.node_}, nullptr);
    SetPass(id);
    Serdes<K, V> s = serdes_;
    if (!s.key) s.key = other.serdes_.key;
    if (!s.value) s.value = other.serdes_.value;
    return Stream(state_, id, s, key_changed_ || other.key_changed_);
  }

  // Splits the stream: a record goes to the branch of the first predicate it satisfies and is
  // dropped if it satisfies none. Returns one stream per predicate, in order.
  template <typename... F>
  std::vector<Stream> Branch(F... preds) const {
    static_assert(sizeof...(F) > 0, "Branch needs at least one predicate");
    static_assert((KeyValuePredicate<F, K, V> && ...),
                  "every Branch predicate must be a callable bool(const K& key, const V& value)");
    std::vector<Stream> out;
    if constexpr ((KeyValuePredicate<F, K, V> && ...)) {
      using P = std::function<bool(const K&, const V&)>;
      std::vector<P> list{P(preds)...};
      int id = Add("", "branch", [list](std::string n) {
        return std::make_unique<internal::BranchNode<K, V>>(std::move(n), list);
      });
      for (size_t i = 0; i < list.size(); ++i) {
        int b = state_->AddNode(fmt::format("{}-{}", state_->NodeName(id), i), "branch-out", {id},
                                nullptr);
        SetPass(b);
        out.emplace_back(state_, b, serdes_, key_changed_);
      }
    }
    return out;
  }

  // (k, v) -> (fn(k, v), v): sets a new key. A following GroupByKey repartitions by it.
  template <typename F>
  auto KeyBy(F fn, std::string name = "") const {
    static_assert(
        KeySelector<F, K, V>,
        "KeyBy expects a callable K2(const K& key, const V& value) returning the new key");
    if constexpr (KeySelector<F, K, V>) {
      using K2 = std::remove_cvref_t<std::invoke_result_t<F&, const K&, const V&>>;
      int id = Add(std::move(name), "key-by", [fn](std::string n) {
        return std::make_unique<internal::KeyByNode<K, V, K2, F>>(std::move(n), fn);
      });
      return Stream<K2, V>(state_, id, {DefaultSerde<K2>(), serdes_.value}, true);
    }
  }

  // Groups by the current key for Count, Reduce or Aggregate.
  GroupedStream<K, V> GroupByKey() const { return GroupedStream<K, V>(*this); }

  // Writes every record to `topic`, partitioned by key. A table's delete that reaches it (through
  // ToStream, Merge, MapValues, Filter or Peek) is written as a tombstone: the key with a null
  // value.
  void To(const std::string& topic, std::string name = "") const {
    int t = state_->Topic(topic, false);
    int id = state_->AddNode(std::move(name), "sink", {node_}, nullptr);
    state_->AttachSink(t, id);
    if (!serdes_.key || !serdes_.value) {
      state_->Error(
          fmt::format("sink '{}' writes topic '{}' but the stream has no {} serde; pass one with "
                      "WithSerdes(...) or specialise SerdeFor<T>",
                      state_->NodeName(id), topic, !serdes_.key ? "key" : "value"));
      return;
    }
    auto ser = serdes_;
    state_->SetFactory(id, [ser, t, n = state_->NodeName(id)]() {
      return std::make_unique<internal::SinkNode<K, V>>(n, t, ser.key, ser.value,
                                                        /*tombstones=*/true);
    });
  }

  internal::BuilderState* state() const { return state_; }
  int node() const { return node_; }
  const Serdes<K, V>& serdes() const { return serdes_; }
  bool key_changed() const { return key_changed_; }

 private:
  template <typename Make>
  int Add(std::string name, const char* kind, Make make) const {
    int id = state_->AddNode(std::move(name), kind, {node_}, nullptr);
    state_->SetFactory(id, [make, n = state_->NodeName(id)]() { return make(n); });
    return id;
  }
  void SetPass(int id) const {
    state_->SetFactory(
        id, [n = state_->NodeName(id)]() { return std::make_unique<internal::PassNode<K, V>>(n); });
  }

  internal::BuilderState* state_ = nullptr;
  int node_ = -1;
  Serdes<K, V> serdes_;
  bool key_changed_ = false;
};

// A table: the latest value per key, kept in a named store; every update flows downstream.
template <typename K, typename V>
class Table {
 public:
  Table() = default;
  Table(internal::BuilderState* state, int node, int store, Serdes<K, V> serdes)
      : state_(state), node_(node), store_(store), serdes_(std::move(serdes)) {}

  // The stream of this table's changes: one (key, new value) per update and, for a deleted key
  // (a tombstone read by Table(topic), a table-table join's result that went away), a delete
  // that To() writes as a tombstone (key, null value) and that MapValues, Filter, Peek and Merge
  // pass on unchanged; other operators see only the updates (operators/README.md, "Nulls").
  Stream<K, V> ToStream(std::string name = "") const {
    int id = state_->AddNode(std::move(name), "to-stream", {node_}, nullptr);
    state_->SetFactory(
        id, [n = state_->NodeName(id)]() { return std::make_unique<internal::PassNode<K, V>>(n); });
    return Stream<K, V>(state_, id, serdes_, false);
  }

  int store() const { return store_; }
  int node() const { return node_; }
  internal::BuilderState* state() const { return state_; }
  const Serdes<K, V>& serdes() const { return serdes_; }

 private:
  internal::BuilderState* state_ = nullptr;
  int node_ = -1;
  int store_ = -1;
  Serdes<K, V> serdes_;
};

// A global table (TopologyBuilder::GlobalTable): the latest value per key of EVERY partition of
// its topic, kept in a named store that each task of the stage joining it holds whole. It is
// only joined (JoinGlobal, operators/joins.h), by a key taken from the stream record, so the
// stream needs no co-partitioning with the table's topic and no repartition.
template <typename K, typename V>
class GlobalTable {
 public:
  GlobalTable() = default;
  GlobalTable(internal::BuilderState* state, int node, int store, Serdes<K, V> serdes)
      : state_(state), node_(node), store_(store), serdes_(std::move(serdes)) {}

  int store() const { return store_; }
  int node() const { return node_; }
  internal::BuilderState* state() const { return state_; }
  const Serdes<K, V>& serdes() const { return serdes_; }

 private:
  internal::BuilderState* state_ = nullptr;
  int node_ = -1;
  int store_ = -1;
  Serdes<K, V> serdes_;
};

template <typename K, typename V>
class GroupedStream {
 public:
  explicit GroupedStream(Stream<K, V> s) : s_(std::move(s)) {}

  // Per key and window (include operators/windows.h): Count, Reduce or Aggregate over
  // tumbling, hopping or session windows.
  template <typename W = Windows>
  WindowedStream<K, V> WindowedBy(const W& windows) const {
    return WindowedStream<K, V>(s_, windows);
  }

  // The number of records per key, in store `store`.
  Table<K, int64_t> Count(const std::string& store) const {
    return Add<int64_t>(
        store, "count", Int64Serde(),
        [](const K&, const V&, bool found, int64_t old) { return found ? old + 1 : int64_t{1}; });
  }

  // The first value of a key, then fn(aggregate, value) for each later one, in store `store`.
  template <typename F>
  Table<K, V> Reduce(const std::string& store, F fn) const {
    static_assert(Reducer<F, V>, "Reduce expects a callable V(const V& aggregate, const V& value)");
    if constexpr (Reducer<F, V>) {
      return Add<V>(store, "reduce", s_.serdes().value,
                    [fn](const K&, const V& v, bool found, V old) mutable -> V {
                      return found ? static_cast<V>(fn(old, v)) : v;
                    });
    } else {
      return {};
    }
  }

  // init() for a new key, then agg(key, value, aggregate) per record, in store `store`. The
  // aggregate's serde defaults to DefaultSerde<A>().
  template <typename I, typename F, typename A = std::remove_cvref_t<std::invoke_result_t<I&>>>
  Table<K, A> Aggregate(const std::string& store, I init, F agg,
                        SerdePtr<A> aggregate_serde = DefaultSerde<A>()) const {
    static_assert(Initializer<I>, "Aggregate expects an initializer callable A()");
    static_assert(Aggregator<F, K, V, A>,
                  "Aggregate expects an aggregator callable A(const K& key, const V& value, "
                  "const A& aggregate), A being the initializer's result type");
    if constexpr (Initializer<I> && Aggregator<F, K, V, A>) {
      return Add<A>(store, "aggregate", aggregate_serde,
                    [init, agg](const K& k, const V& v, bool found, A old) mutable -> A {
                      if (!found) old = init();
                      return static_cast<A>(agg(k, v, old));
                    });
    } else {
      return {};
    }
  }

 private:
  template <typename A, typename U>
  Table<K, A> Add(const std::string& store, const char* kind, SerdePtr<A> aserde, U update) const {
    internal::BuilderState* st = s_.state();
    int parent = s_.node();
    const Serdes<K, V>& ser = s_.serdes();
    if (s_.key_changed()) {
      // Records must reach the task that owns their new key: write them to an internal topic
      // partitioned by that key, and aggregate in the stage that reads it.
      int topic = st->Topic(store + "-repartition", true);
      int sink = st->AddNode(store + "-repartition-sink", "sink", {parent}, nullptr);
      st->AttachSink(topic, sink);
      int source = st->AddNode(store + "-repartition-source", "source", {}, nullptr);
      st->AttachSource(topic, source);
      if (!ser.key || !ser.value) {
        st->Error(fmt::format(
            "{} into store '{}' follows a key change, so its records go through the repartition "
            "topic '{}-repartition', which needs a {} serde; pass one with WithSerdes(...)",
            kind, store, store, !ser.key ? "key" : "value"));
      } else {
        st->SetFactory(sink, [ser, topic, n = st->NodeName(sink)]() {
          return std::make_unique<internal::SinkNode<K, V>>(n, topic, ser.key, ser.value);
        });
        st->SetFactory(source, [ser, n = st->NodeName(source), t = store + "-repartition"]() {
          return std::make_unique<internal::SourceNode<K, V>>(n, t, ser.key, ser.value);
        });
      }
      parent = source;
    }
    // The node takes the store's name; a duplicate store is reported once, as such.
    int id = st->AddNode(st->HasStore(store) ? "" : store, kind, {parent}, nullptr);
    int sidx = st->AddStore(store, id, internal::SerdeName(ser.key), internal::SerdeName(aserde));
    if (!ser.key || !aserde) {
      st->Error(fmt::format("store '{}' needs a {} serde; pass one with {}", store,
                            !ser.key ? "key" : "value",
                            !ser.key ? "WithSerdes(...)" : "the aggregate serde argument"));
    } else {
      st->SetFactory(id, [ks = ser.key, aserde, update, sidx, n = st->NodeName(id)]() {
        return std::make_unique<internal::AggregateNode<K, V, A, U>>(n, sidx, ks, aserde, update);
      });
    }
    return Table<K, A>(st, id, sidx, {ser.key, aserde});
  }

  Stream<K, V> s_;
};

}  // namespace sluice
