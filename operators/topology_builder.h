// TopologyBuilder: where a job is written. A job is a function that adds to a builder:
//
//   void AddWordCount(TopologyBuilder& b) {
//     b.Stream<std::string, std::string>("lines")
//         .FlatMap([](const std::string&, const std::string& line) { ... pairs of (word, 1) })
//         .GroupByKey()
//         .Count("word-counts")
//         .ToStream()
//         .WithSerdes({.value = DecimalInt64Serde()})
//         .To("word-counts-out");
//   }
//
// Build() checks the wiring and returns the Topology, or one kInvalidArgument error listing
// every mistake (duplicate store or operator names, invalid topic names, a topic read twice,
// missing serdes, missing store names, an empty topology). Whether topics exist in the log is
// checked when the job starts. Not thread-safe; a builder may be built more than once.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "operators/serde.h"
#include "operators/stream.h"
#include "operators/topology.h"

namespace sluice {

// How TopologyBuilder::Stream and Table read a topic (Kafka Streams' Consumed): serdes, name and
// the source's own event time. Every field is optional:
//
//   b.Stream<std::string, Order>("orders", {.timestamp = [](const std::string&, const Order& o)
//                                               { return std::optional(Timestamp(o.ts)); },
//                                           .max_out_of_orderness = 5s,
//                                           .idle_timeout = 30s});
template <typename K, typename V>
struct SourceOptions {
  // Serdes of the topic's records. Default: DefaultSerde<K>() and DefaultSerde<V>().
  Serdes<K, V> serdes;
  // The source operator's name. Default: automatic for a stream, "<store>-source" for a table.
  std::string name;
  // The event time of a record (nullopt: it keeps its record timestamp and does not move the
  // watermark). Default: none — the record timestamp is the event time.
  internal::TimestampFn<K, V> timestamp;
  // Watermark of this topic's partitions = the largest event time seen - this. Default: the job's
  // (TopologyBuilder::EventTime, itself 0).
  std::optional<std::chrono::milliseconds> max_out_of_orderness;
  // A partition of this topic without records for this long stops holding the watermark back;
  // 0 = never. Default: the job's (10 s).
  std::optional<std::chrono::milliseconds> idle_timeout;
};

class TopologyBuilder {
 public:
  // A stream of the records of `topic`. Serdes default to DefaultSerde<K>/<V>.
  template <typename K, typename V>
  sluice::Stream<K, V> Stream(const std::string& topic, Serdes<K, V> serdes = {},
                              std::string name = "") {
    return Stream<K, V>(topic, SourceOptions<K, V>{.serdes = serdes, .name = std::move(name)});
  }

  // A stream of the records of `topic` with per-source settings (event time: operators/README.md,
  // "Event time rules").
  template <typename K, typename V>
  sluice::Stream<K, V> Stream(const std::string& topic, SourceOptions<K, V> options) {
    Serdes<K, V>& serdes = options.serdes;
    std::string& name = options.name;
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    int t = state_.Topic(topic, false);
    int id = state_.AddNode(std::move(name), "source", {}, nullptr);
    state_.AttachSource(t, id);
    if (!serdes.key || !serdes.value) {
      state_.Error(
          fmt::format("source '{}' reads topic '{}' but has no {} serde; pass one in "
                      "Stream<K, V>(topic, {{.key = ..., .value = ...}})",
                      state_.NodeName(id), topic, !serdes.key ? "key" : "value"));
    } else {
      state_.SetFactory(id, [serdes, topic, fn = options.timestamp, n = state_.NodeName(id)]() {
        return std::make_unique<internal::SourceNode<K, V>>(n, topic, serdes.key, serdes.value, fn);
      });
    }
    state_.SetSourceEventTime(t, options.max_out_of_orderness, options.idle_timeout);
    return sluice::Stream<K, V>(&state_, id, serdes, false);
  }

  // A table of the latest value per key of `topic`, kept in store `store`; a record with a
  // null value deletes its key.
  template <typename K, typename V>
  sluice::Table<K, V> Table(const std::string& topic, const std::string& store,
                            Serdes<K, V> serdes = {}) {
    return Table<K, V>(topic, store, SourceOptions<K, V>{.serdes = serdes});
  }

  // A table with per-source settings. Its event-time settings count only where the table makes
  // its stage's time (a table beside a stream is state, not time: operators/README.md).
  template <typename K, typename V>
  sluice::Table<K, V> Table(const std::string& topic, const std::string& store,
                            SourceOptions<K, V> options) {
    Serdes<K, V>& serdes = options.serdes;
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    int t = state_.Topic(topic, false);
    std::string name = !options.name.empty() ? options.name
                       : store.empty()       ? std::string()
                                             : store + "-source";
    int id = state_.AddNode(std::move(name), "table-source", {}, nullptr);
    state_.AttachSource(t, id);
    int sidx = state_.AddStore(store, id, internal::SerdeName(serdes.key),
                               internal::SerdeName(serdes.value));
    if (!serdes.key || !serdes.value) {
      state_.Error(fmt::format("table '{}' reads topic '{}' but has no {} serde", store, topic,
                               !serdes.key ? "key" : "value"));
    } else {
      state_.SetFactory(id,
                        [serdes, topic, sidx, fn = options.timestamp, n = state_.NodeName(id)]() {
                          return std::make_unique<internal::TableSourceNode<K, V>>(
                              n, topic, sidx, serdes.key, serdes.value, fn);
                        });
    }
    state_.SetSourceEventTime(t, options.max_out_of_orderness, options.idle_timeout);
    return sluice::Table<K, V>(&state_, id, sidx, serdes);
  }

  // A global table of `topic` (Kafka Streams' GlobalKTable), kept in store `store`: every task
  // that joins it (JoinGlobal) reads ALL partitions of the topic into its own copy of the store,
  // so a stream is joined with it by any key, without co-partitioning. It is read to its end as
  // of the task's start before the stream (bootstrap), is state and never event time, and goes
  // on following the topic while the job runs. A null value deletes the key. Only `serdes` and
  // `name` of the options count (a global table makes no time).
  template <typename K, typename V>
  sluice::GlobalTable<K, V> GlobalTable(const std::string& topic, const std::string& store,
                                        SourceOptions<K, V> options = {}) {
    Serdes<K, V>& serdes = options.serdes;
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    int t = state_.Topic(topic, false);
    state_.SetGlobal(t);
    std::string name = !options.name.empty() ? options.name
                       : store.empty()       ? std::string()
                                             : store + "-source";
    int id = state_.AddNode(std::move(name), "global-table-source", {}, nullptr);
    state_.AttachSource(t, id);
    int sidx = state_.AddStore(store, id, internal::SerdeName(serdes.key),
                               internal::SerdeName(serdes.value));
    if (!serdes.key || !serdes.value) {
      state_.Error(fmt::format("global table '{}' reads topic '{}' but has no {} serde", store,
                               topic, !serdes.key ? "key" : "value"));
    } else {
      state_.SetFactory(id, [serdes, topic, sidx, n = state_.NodeName(id)]() {
        return std::make_unique<internal::TableSourceNode<K, V>>(n, topic, sidx, serdes.key,
                                                                 serdes.value);
      });
    }
    return sluice::GlobalTable<K, V>(&state_, id, sidx, serdes);
  }

  // Watermark settings for the whole job: allowed out-of-orderness and idle timeout (see
  // operators/watermark.h). Default: in-order input, 10 s idle timeout.
  void EventTime(const EventTimeOptions& options) { state_.SetEventTime(options); }

  // The topology, or kInvalidArgument listing every wiring error.
  Result<Topology> Build() const { return state_.Build(); }

 private:
  internal::BuilderState state_;
};

}  // namespace sluice
