// Windows on keyed streams: tumbling, hopping and session windows with a grace period, and
// Count / Reduce / Aggregate per key and window.
//
//   b.Stream<std::string, std::string>("views")
//       .GroupByKey()
//       .WindowedBy(Windows::Tumbling(std::chrono::minutes(1)).Grace(std::chrono::seconds(10)))
//       .Count("views-per-minute")                      // Stream<K, WindowResult<int64_t>>
//       .To("counts");
//
// Time windows cover [start, end) with start a multiple of `advance` (= size for tumbling), in
// epoch ms. A session holds a key's records while they are less than `gap` apart; its
// WindowResult has start = first and end = last event time (inclusive), and a record that
// bridges two sessions merges them (Aggregate needs a merger for that).
//
// Emission: by default one final result per window, when the task watermark passes the window's
// close time = end + grace (sessions: once it is past last event + gap + grace); the result's
// timestamp is end - 1
// (sessions: end). With EmitEveryUpdate() a result is emitted on every change instead and nothing
// at the close. Either way the window's state is deleted at its close: it can no longer change.
//
// Lateness: a record is late for a window when that window's close time is at or below the
// record watermark (the watermark its partition had before it; see watermark.h); for sessions
// when its event time + grace is below it. A record late for every window it belongs to is counted
// (ProcessorContext::late_records, the job's late_records metric) and, with
// LateRecordsTo(topic), written there unchanged. (A hopping-window record late for only some of
// its windows is added to the open ones.)
//
// State: one store per windowed aggregate (the name given), so the exactly-once commit covers it;
// keys are the key bytes + the big-endian window start. Each task keeps an index of its open
// windows in memory, rebuilt from the store when the task starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "core/varint.h"
#include "operators/internal/repartition.h"
#include "operators/internal/window_node.h"
#include "operators/serde.h"
#include "operators/stream.h"
#include "operators/window_spec.h"

namespace sluice {

// Binary: start (8 bytes BE), end (8 bytes BE), then the value in `value`'s encoding.
template <typename A>
SerdePtr<WindowResult<A>> WindowResultSerde(SerdePtr<A> value) {
  if (!value) return nullptr;
  return MakeSerde<WindowResult<A>>(
      fmt::format("window<{}>", value->name()),
      [value](const WindowResult<A>& r, std::string* out) {
        std::string v;
        value->Serialize(r.value, &v);
        out->assign(16, '\0');
        varint::PutBE64(out->data(), static_cast<uint64_t>(r.start));
        varint::PutBE64(out->data() + 8, static_cast<uint64_t>(r.end));
        out->append(v);
      },
      [value](std::string_view b, WindowResult<A>* r) -> Status {
        if (b.size() < 16) {
          return InvalidArgument("a window result needs at least 16 bytes (start, end), got {}",
                                 b.size());
        }
        r->start = static_cast<int64_t>(varint::GetBE64(b.data()));
        r->end = static_cast<int64_t>(varint::GetBE64(b.data() + 8));
        return value->Deserialize(b.substr(16), &r->value);
      });
}

template <typename A>
struct SerdeFor<WindowResult<A>> {
  static SerdePtr<WindowResult<A>> Get() { return WindowResultSerde<A>(DefaultSerde<A>()); }
};

template <typename K, typename V>
class WindowedStream {
 public:
  WindowedStream(Stream<K, V> s, Windows w) : s_(std::move(s)), w_(std::move(w)) {}

  // Records per key and window.
  Stream<K, WindowResult<int64_t>> Count(const std::string& store) const {
    return Add<int64_t>(
        store, "window-count", Int64Serde(),
        [](const K&, const V&, bool found, int64_t old) { return found ? old + 1 : int64_t{1}; },
        [](const K&, const int64_t& a, const int64_t& b) { return a + b; });
  }

  // The first value, then fn(aggregate, value), per key and window. Sessions merge with fn too.
  template <typename F>
  Stream<K, WindowResult<V>> Reduce(const std::string& store, F fn) const {
    static_assert(Reducer<F, V>, "Reduce expects a callable V(const V& aggregate, const V& value)");
    return Add<V>(
        store, "window-reduce", s_.serdes().value,
        [fn](const K&, const V& v, bool found, V old) mutable -> V {
          return found ? static_cast<V>(fn(old, v)) : v;
        },
        [fn](const K&, const V& a, const V& b) mutable -> V { return static_cast<V>(fn(a, b)); });
  }

  // init() per new window, then agg(key, value, aggregate) per record. Session windows also need
  // merge(key, a, b): the aggregate of two sessions that a record joins together.
  template <typename I, typename F, typename A = std::remove_cvref_t<std::invoke_result_t<I&>>>
  Stream<K, WindowResult<A>> Aggregate(
      const std::string& store, I init, F agg,
      std::type_identity_t<SerdePtr<A>> aggregate_serde = DefaultSerde<A>(),
      std::type_identity_t<std::function<A(const K&, const A&, const A&)>> merge = nullptr) const {
    static_assert(Initializer<I>, "Aggregate expects an initializer callable A()");
    static_assert(Aggregator<F, K, V, A>,
                  "Aggregate expects an aggregator callable A(const K& key, const V& value, "
                  "const A& aggregate), A being the initializer's result type");
    if (w_.kind == Windows::Kind::kSession && !merge) {
      s_.state()->Error(
          fmt::format("session-window Aggregate into store '{}' needs a merger: pass "
                      "merge(key, a, b) as the last argument of Aggregate",
                      store));
    }
    return Add<A>(
        store, "window-aggregate", aggregate_serde,
        [init, agg](const K& k, const V& v, bool found, A old) mutable -> A {
          if (!found) old = init();
          return static_cast<A>(agg(k, v, old));
        },
        [merge](const K& k, const A& a, const A& b) -> A { return merge ? merge(k, a, b) : a; });
  }

 private:
  template <typename A, typename U, typename M>
  Stream<K, WindowResult<A>> Add(const std::string& store, const char* kind, SerdePtr<A> aserde,
                                 U update, M merge) const {
    internal::BuilderState* st = s_.state();
    const Serdes<K, V>& ser = s_.serdes();
    std::string werr = w_.Validate();
    if (!werr.empty()) st->Error(fmt::format("windows of store '{}': {}", store, werr));
    int parent =
        internal::RepartitionIfKeyChanged<K, V>(st, s_.node(), s_.key_changed(), ser, store, kind);
    int id = st->AddNode(st->HasStore(store) ? "" : store, kind, {parent}, nullptr);
    st->SetWindows(id, w_);
    int late_topic = -1;
    if (!w_.late_topic.empty()) {
      // The late-records sink is the window node itself (it writes the records unchanged).
      late_topic = st->Topic(w_.late_topic, false);
      st->AttachSink(late_topic, id);
    }
    int sidx = st->AddStore(store, id, internal::SerdeName(ser.key),
                            fmt::format("window<{}>", internal::SerdeName(aserde)));
    if (!ser.key || !ser.value || !aserde) {
      st->Error(fmt::format("windowed store '{}' needs a {} serde", store,
                            !ser.key ? "key" : (!aserde ? "aggregate" : "value")));
    } else {
      st->SetFactory(
          id, [w = w_, ser, aserde, update, merge, sidx, late_topic, n = st->NodeName(id)]() {
            return std::make_unique<internal::WindowAggregateNode<K, V, A, U, M>>(
                n, w, sidx, ser.key, ser.value, aserde, update, merge, late_topic);
          });
    }
    return Stream<K, WindowResult<A>>(st, id, {ser.key, WindowResultSerde<A>(aserde)}, false);
  }

  Stream<K, V> s_;
  Windows w_;
};

}  // namespace sluice
