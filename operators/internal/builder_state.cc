#include "operators/internal/builder_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

namespace sluice::internal {
namespace {

// Kafka's topic name rules (kept here so operators/ checks names before any log is opened).
bool IsValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

int BuilderState::AddNode(std::string name, std::string kind, const std::vector<int>& parents,
                          Factory make) {
  int id = static_cast<int>(topology_.nodes_.size());
  if (name.empty()) {
    name = fmt::format("{}-{:04}", kind, auto_names_++);
  } else {
    for (const auto& n : topology_.nodes_) {
      if (n.name == name) {
        Error(fmt::format("two operators are named '{}'; give each operator a unique name", name));
        break;
      }
    }
  }
  Topology::Node node;
  node.id = id;
  node.name = std::move(name);
  node.kind = std::move(kind);
  node.parents = parents;
  node.make = std::move(make);
  for (int p : parents) topology_.nodes_[p].children.push_back(id);
  topology_.nodes_.push_back(std::move(node));
  return id;
}

int BuilderState::Topic(const std::string& name, bool internal) {
  int idx = topology_.FindTopic(name);
  if (idx >= 0) return idx;
  std::string full = internal ? "app-" + name : name;
  if (!IsValidTopicName(full)) {
    Error(fmt::format("topic name '{}' is invalid: use 1 to 249 characters from [a-zA-Z0-9._-]",
                      name));
  }
  topology_.topics_.push_back(Topology::Topic{.name = name, .internal = internal});
  return static_cast<int>(topology_.topics_.size() - 1);
}

void BuilderState::AttachSource(int topic, int node) {
  auto& t = topology_.topics_[topic];
  if (!t.source_nodes.empty()) {
    Error(
        fmt::format("topic '{}' is read by two sources ('{}' and '{}'); read it once and "
                    "share the stream",
                    t.name, topology_.nodes_[t.source_nodes[0]].name, topology_.nodes_[node].name));
  }
  t.source_nodes.push_back(node);
  topology_.nodes_[node].topic = topic;
}

void BuilderState::AttachSink(int topic, int node) {
  topology_.topics_[topic].sink_nodes.push_back(node);
  topology_.nodes_[node].topic = topic;
}

int BuilderState::AddStore(const std::string& name, int node, std::string_view key_serde,
                           std::string_view value_serde) {
  if (name.empty()) {
    Error(
        fmt::format("operator '{}' keeps state and needs a store name (stateful operators "
                    "are named so state survives topology edits)",
                    topology_.nodes_[node].name));
  } else if (topology_.FindStore(name) >= 0) {
    Error(fmt::format("store name '{}' is used twice; give each store a unique name", name));
  } else if (!IsValidTopicName(name + "-repartition")) {
    Error(fmt::format("store name '{}' is invalid: use characters from [a-zA-Z0-9._-]", name));
  }
  topology_.stores_.push_back(Topology::Store{.name = name,
                                              .node = node,
                                              .key_serde = std::string(key_serde),
                                              .value_serde = std::string(value_serde)});
  int idx = static_cast<int>(topology_.stores_.size() - 1);
  topology_.nodes_[node].store = idx;
  return idx;
}

Result<Topology> BuilderState::Build() const {
  std::vector<std::string> errors = errors_;
  if (topology_.nodes_.empty()) {
    errors.push_back("the topology is empty: add a source with Stream<K, V>(topic) or Table");
  }
  if (!errors.empty()) {
    std::string msg = fmt::format("the topology has {} wiring error{}:", errors.size(),
                                  errors.size() == 1 ? "" : "s");
    for (const auto& e : errors) msg += "\n  - " + e;
    return Status(StatusCode::kInvalidArgument, msg);
  }

  Topology t = topology_;
  // Stages: connected components over node edges (stores are owned by one node, so they never
  // join two components on their own).
  std::vector<int> parent(t.nodes_.size());
  std::iota(parent.begin(), parent.end(), 0);
  std::function<int(int)> find = [&](int x) {
    return parent[x] == x ? x : parent[x] = find(parent[x]);
  };
  // A global table's source joins no component: it belongs to the stage of the joins reading it
  // (one stage, checked below), whose tasks each keep a whole copy of the table.
  auto is_global = [&](const Topology::Node& n) { return n.kind == "global-table-source"; };
  for (const auto& n : t.nodes_) {
    if (is_global(n)) continue;
    for (int c : n.children) parent[find(c)] = find(n.id);
  }
  std::map<int, int> root_to_stage;  // ordered by first node id seen
  for (const auto& n : t.nodes_) {
    if (is_global(n)) continue;
    int r = find(n.id);
    if (!root_to_stage.count(r)) {
      int id = static_cast<int>(t.stages_.size());
      root_to_stage[r] = id;
      t.stages_.push_back(Topology::Stage{.id = id});
    }
    int sid = root_to_stage[r];
    t.nodes_[n.id].stage = sid;
    t.stages_[sid].nodes.push_back(n.id);
  }
  std::vector<std::string> global_errors;
  for (const auto& n : t.nodes_) {
    if (!is_global(n)) continue;
    const std::string& topic = t.topics_[n.topic].name;
    if (n.children.empty()) {
      global_errors.push_back(
          fmt::format("global table '{}' (topic '{}') is joined with no stream; join it with "
                      "JoinGlobal(stream, table, ...) or remove it",
                      n.name, topic));
      continue;
    }
    int stage = t.nodes_[n.children.front()].stage;
    for (int c : n.children) {
      if (t.nodes_[c].stage != stage) {
        global_errors.push_back(fmt::format(
            "global table '{}' (topic '{}') is joined in two stages ({} and {}); each stage "
            "would need its own copy of the table; join it in one stage only (all joins before, or "
            "all after, the repartition that separates them)",
            n.name, topic, stage, t.nodes_[c].stage));
        break;
      }
    }
    t.nodes_[n.id].stage = stage;
    auto& nodes = t.stages_[stage].nodes;
    nodes.insert(std::lower_bound(nodes.begin(), nodes.end(), n.id), n.id);
  }
  if (!global_errors.empty()) {
    std::string msg = fmt::format("the topology has {} wiring error{}:", global_errors.size(),
                                  global_errors.size() == 1 ? "" : "s");
    for (const auto& e : global_errors) msg += "\n  - " + e;
    return Status(StatusCode::kInvalidArgument, msg);
  }
  for (size_t i = 0; i < t.topics_.size(); ++i) {
    for (int n : t.topics_[i].source_nodes) {
      t.stages_[t.nodes_[n].stage].source_topics.push_back(static_cast<int>(i));
    }
    for (int n : t.topics_[i].sink_nodes) {
      auto& sinks = t.stages_[t.nodes_[n].stage].sink_topics;
      if (std::find(sinks.begin(), sinks.end(), static_cast<int>(i)) == sinks.end()) {
        sinks.push_back(static_cast<int>(i));
      }
    }
  }
  for (size_t i = 0; i < t.stores_.size(); ++i) {
    int stage = t.nodes_[t.stores_[i].node].stage;
    t.stores_[i].stage = stage;
    t.stages_[stage].stores.push_back(static_cast<int>(i));
  }
  return t;
}

}  // namespace sluice::internal
