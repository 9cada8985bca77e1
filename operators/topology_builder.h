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

#include <string>

#include "operators/serde.h"
#include "operators/stream.h"
#include "operators/topology.h"

namespace sluice {

class TopologyBuilder {
 public:
  // A stream of the records of `topic`. Serdes default to DefaultSerde<K>/<V>.
  template <typename K, typename V>
  sluice::Stream<K, V> Stream(const std::string& topic, Serdes<K, V> serdes = {},
                              std::string name = "") {
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
      state_.SetFactory(id, [serdes, topic, n = state_.NodeName(id)]() {
        return std::make_unique<internal::SourceNode<K, V>>(n, topic, serdes.key, serdes.value);
      });
    }
    return sluice::Stream<K, V>(&state_, id, serdes, false);
  }

  // A table of the latest value per key of `topic`, kept in store `store`; a record with a
  // null value deletes its key.
  template <typename K, typename V>
  sluice::Table<K, V> Table(const std::string& topic, const std::string& store,
                            Serdes<K, V> serdes = {}) {
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    int t = state_.Topic(topic, false);
    int id = state_.AddNode(store.empty() ? "" : store + "-source", "table-source", {}, nullptr);
    state_.AttachSource(t, id);
    int sidx = state_.AddStore(store, id, internal::SerdeName(serdes.key),
                               internal::SerdeName(serdes.value));
    if (!serdes.key || !serdes.value) {
      state_.Error(fmt::format("table '{}' reads topic '{}' but has no {} serde", store, topic,
                               !serdes.key ? "key" : "value"));
    } else {
      state_.SetFactory(id, [serdes, topic, sidx, n = state_.NodeName(id)]() {
        return std::make_unique<internal::TableSourceNode<K, V>>(n, topic, sidx, serdes.key,
                                                                 serdes.value);
      });
    }
    return sluice::Table<K, V>(&state_, id, sidx, serdes);
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
