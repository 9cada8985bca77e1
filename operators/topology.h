// Topology: a built, immutable job graph — operator nodes, the topics they read and write, the
// named stores, and the stages (sub-topologies) the graph falls into when it is cut at topics.
//
// Made by TopologyBuilder::Build(). Both testing::TestDriver and the runtime execute it through
// TaskGraph, which instantiates one stage's nodes for one task. A stage is a connected component
// of nodes (edges plus shared stores); stages talk only through topics, so every repartition
// (an internal topic written by one stage and read by another) is a stage cut.
//
// Thread safety: immutable after Build; safe to share between threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "operators/watermark.h"
#include "operators/window_spec.h"

namespace sluice {

namespace internal {
class NodeBase;
class BuilderState;
}  // namespace internal

class Topology {
 public:
  struct Node {
    int id = 0;
    std::string name;
    std::string kind;  // "source", "table-source", "map", "filter", "sink", "count", ...
    std::vector<int> parents;
    std::vector<int> children;
    int topic = -1;  // index in topics() for sources and sinks
    int store = -1;  // index in stores() for nodes that own a store
    int stage = -1;
    // Window aggregates ("window-count", "window-reduce", "window-aggregate"): their windows.
    // What `sluice job reset --to-time` must rewind depends on them (runtime/job_reset.h).
    Windows windows;
    std::function<std::unique_ptr<internal::NodeBase>()> make;
  };
  struct Topic {
    // For internal topics, the name without the application id ("counts-repartition").
    std::string name;
    bool internal = false;
    std::vector<int> source_nodes;
    std::vector<int> sink_nodes;
    // A source's own event-time settings (TopologyBuilder::Stream/Table with SourceOptions);
    // unset: the job's (event_time()).
    std::optional<std::chrono::milliseconds> max_out_of_orderness;
    std::optional<std::chrono::milliseconds> idle_timeout;
    // A global table's topic (TopologyBuilder::GlobalTable): every task of the stage reading it
    // reads all its partitions, whatever the stage's partition count.
    bool global = false;
  };
  struct Store {
    std::string name;
    int node = -1;  // the node that writes it
    std::string key_serde;
    std::string value_serde;
    int stage = -1;
  };
  struct Stage {
    int id = 0;
    std::vector<int> nodes;          // ascending
    std::vector<int> source_topics;  // topics this stage reads
    std::vector<int> sink_topics;    // topics this stage writes
    std::vector<int> stores;
  };

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Topic>& topics() const { return topics_; }
  const std::vector<Store>& stores() const { return stores_; }
  const std::vector<Stage>& stages() const { return stages_; }
  // Watermark settings (operators/watermark.h), set with TopologyBuilder::EventTime.
  const EventTimeOptions& event_time() const { return event_time_; }
  // The settings of the partitions of `topic`: the job's, overridden by the source's own
  // (internal topics always have the job's).
  EventTimeOptions SourceEventTime(int topic) const;
  // The shortest idle timeout over the job and its sources (0 if none is set): how often a
  // waiting job must look at its inputs' idleness.
  std::chrono::milliseconds ShortestIdleTimeout() const;

  // Whether records written to internal topic `topic` must carry their watermark (a header; see
  // runtime/task_time.h): true when a stage reading it, or any stage downstream of that one
  // through internal topics, has an operator that consumes watermarks (windows, windowed joins,
  // dedup, top-N, or any kind not known to ignore event time). Stateless stages and plain
  // aggregations ignore watermarks, so e.g. wordcount's repartition records go without the
  // 25-byte header.
  bool CarriesWatermark(int topic) const;

  // A table input (TopologyBuilder::Table or GlobalTable) of a stage that also reads a stream
  // (a global table always does): its records are
  // state, not time, so they neither advance the stage's watermark nor hold it back (also not by
  // idleness), and the stage reads it to its end as of the task's start before anything else
  // (runtime/README.md, "Tables"). False for every other topic, including a table that is its
  // stage's only kind of input (its records then are the stage's event time).
  bool IsTableBesideStream(int topic) const;

  // User topics a table's deletes can reach as tombstones (records with a null value): those
  // written by a sink fed by a table (Table(topic), a table-table join) through nodes that pass
  // deletes (ToStream, Merge, MapValues, Filter, Peek). Ascending.
  std::vector<int> TombstoneTopics() const;

  // Index of a topic by its topology name (internal topics without the application id); -1.
  int FindTopic(std::string_view name) const;
  int FindStore(std::string_view name) const;
  // The log topic name: user topics as given, internal ones as "<app>-<name>".
  std::string TopicName(int topic, std::string_view application_id) const;

  // A human-readable description: stages, their nodes with successors, topics, stores and
  // repartition points. Internal topics are shown as "<app>-<name>" with `application_id`
  // (default "${app}").
  std::string Describe(std::string_view application_id = "${app}") const;

 private:
  friend class internal::BuilderState;
  std::vector<Node> nodes_;
  std::vector<Topic> topics_;
  std::vector<Store> stores_;
  std::vector<Stage> stages_;
  EventTimeOptions event_time_;
};

}  // namespace sluice
