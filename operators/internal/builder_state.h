// BuilderState: the untyped graph under construction behind TopologyBuilder and its typed
// handles, plus the wiring errors collected for Build(). Private to operators/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "operators/topology.h"

namespace sluice::internal {

class NodeBase;

class BuilderState {
 public:
  using Factory = std::function<std::unique_ptr<NodeBase>()>;

  // Adds a node fed by `parents` (connected in the given order). An empty `name` gets an
  // automatic one ("<kind>-<n>"); a duplicate name is a wiring error. Returns the node id.
  int AddNode(std::string name, std::string kind, const std::vector<int>& parents, Factory make);
  // Sets the factory of a node added earlier (used when the factory needs the node's own name).
  void SetFactory(int node, Factory make) { topology_.nodes_[node].make = std::move(make); }
  void SetWindows(int node, const Windows& w) { topology_.nodes_[node].windows = w; }
  const std::string& NodeName(int node) const { return topology_.nodes_[node].name; }

  // The topic with this name, registered on first use. Invalid names are wiring errors.
  int Topic(const std::string& name, bool internal);
  // Marks `node` as reading `topic`; a topic read by two sources is a wiring error.
  void AttachSource(int topic, int node);
  void AttachSink(int topic, int node);
  // Declares a store written by `node`; an empty or duplicate name is a wiring error.
  int AddStore(const std::string& name, int node, std::string_view key_serde,
               std::string_view value_serde);

  void SetEventTime(const EventTimeOptions& o) { topology_.event_time_ = o; }
  void SetSourceEventTime(int topic, std::optional<std::chrono::milliseconds> out_of_orderness,
                          std::optional<std::chrono::milliseconds> idle_timeout) {
    topology_.topics_[topic].max_out_of_orderness = out_of_orderness;
    topology_.topics_[topic].idle_timeout = idle_timeout;
  }

  // Marks `topic` as a global table's (TopologyBuilder::GlobalTable).
  void SetGlobal(int topic) { topology_.topics_[topic].global = true; }

  bool HasStore(const std::string& name) const { return topology_.FindStore(name) >= 0; }

  // Records a wiring error reported by Build().
  void Error(std::string message) { errors_.push_back(std::move(message)); }

  // Returns the topology, or kInvalidArgument listing every wiring error.
  Result<Topology> Build() const;

 private:
  Topology topology_;
  std::vector<std::string> errors_;
  int auto_names_ = 0;
};

}  // namespace sluice::internal
