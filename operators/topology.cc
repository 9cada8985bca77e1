#include "operators/topology.h"

#include <fmt/format.h>

#include <algorithm>

namespace sluice {

namespace {

// Node kinds that never look at a watermark. Anything else (windows, windowed joins, dedup,
// top-N, and kinds added later) counts as consuming one.
bool IgnoresWatermark(std::string_view kind) {
  static constexpr std::string_view kKinds[] = {"source",
                                                "table-source",
                                                "map",
                                                "map-values",
                                                "filter",
                                                "flat-map",
                                                "event-time",
                                                "peek",
                                                "merge",
                                                "branch",
                                                "branch-out",
                                                "key-by",
                                                "sink",
                                                "to-stream",
                                                "count",
                                                "reduce",
                                                "aggregate",
                                                "stream-table-join",
                                                "join-table-link",
                                                "table-join-left",
                                                "table-join-right",
                                                "table-table-join",
                                                "global-table-source",
                                                "join-global-link",
                                                "stream-global-join"};
  for (std::string_view k : kKinds) {
    if (k == kind) return true;
  }
  return false;
}

}  // namespace

bool Topology::IsTableBesideStream(int topic) const {
  auto is_table = [&](int t) {
    const Topic& tp = topics_[t];
    return !tp.source_nodes.empty() &&
           std::all_of(tp.source_nodes.begin(), tp.source_nodes.end(), [&](int n) {
             return nodes_[n].kind == "table-source" || nodes_[n].kind == "global-table-source";
           });
  };
  if (!is_table(topic)) return false;
  int stage = nodes_[topics_[topic].source_nodes.front()].stage;
  if (stage < 0) return false;
  const std::vector<int>& reads = stages_[stage].source_topics;
  return std::any_of(reads.begin(), reads.end(), [&](int t) { return !is_table(t); });
}

bool Topology::CarriesWatermark(int topic) const {
  // Stages reachable from the readers of `topic` through internal topics.
  std::vector<bool> seen(stages_.size(), false);
  std::vector<int> todo;
  for (int n : topics_[topic].source_nodes) todo.push_back(nodes_[n].stage);
  while (!todo.empty()) {
    int st = todo.back();
    todo.pop_back();
    if (st < 0 || seen[st]) continue;
    seen[st] = true;
    for (int n : stages_[st].nodes) {
      if (!IgnoresWatermark(nodes_[n].kind)) return true;
    }
    for (int t : stages_[st].sink_topics) {
      if (!topics_[t].internal) continue;
      for (int n : topics_[t].source_nodes) todo.push_back(nodes_[n].stage);
    }
  }
  return false;
}

std::vector<int> Topology::TombstoneTopics() const {
  // Node ids ascend along edges, so one pass in id order settles every node.
  std::vector<bool> deletes(nodes_.size(), false);
  for (const Node& n : nodes_) {
    if (n.kind == "table-source" || n.kind == "table-table-join") {
      deletes[n.id] = true;
    } else if (n.kind == "to-stream" || n.kind == "merge" || n.kind == "map-values" ||
               n.kind == "filter" || n.kind == "peek" || n.kind == "sink") {
      deletes[n.id] =
          std::any_of(n.parents.begin(), n.parents.end(), [&](int p) { return deletes[p]; });
    }
  }
  std::vector<int> out;
  for (size_t t = 0; t < topics_.size(); ++t) {
    if (topics_[t].internal) continue;
    const auto& sinks = topics_[t].sink_nodes;
    if (std::any_of(sinks.begin(), sinks.end(), [&](int n) { return deletes[n]; })) {
      out.push_back(static_cast<int>(t));
    }
  }
  return out;
}

int Topology::FindTopic(std::string_view name) const {
  for (size_t i = 0; i < topics_.size(); ++i) {
    if (topics_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Topology::FindStore(std::string_view name) const {
  for (size_t i = 0; i < stores_.size(); ++i) {
    if (stores_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Topology::TopicName(int topic, std::string_view application_id) const {
  const Topic& t = topics_.at(topic);
  if (!t.internal) return t.name;
  return fmt::format("{}-{}", application_id, t.name);
}

std::string Topology::Describe(std::string_view app) const {
  std::string out = "Topology:\n";
  auto names = [&](const std::vector<int>& ids) {
    std::string s;
    for (int id : ids) {
      if (!s.empty()) s += ", ";
      s += nodes_[id].name;
    }
    return s.empty() ? std::string("none") : s;
  };
  for (const Stage& st : stages_) {
    out += fmt::format("  Stage {}:\n", st.id);
    for (int id : st.nodes) {
      const Node& n = nodes_[id];
      std::string extra;
      if (n.topic >= 0) {
        const Topic& t = topics_[n.topic];
        extra = fmt::format(" (topic: {}{})", TopicName(n.topic, app),
                            t.internal ? ", repartition"
                            : t.global ? ", global: every task reads all its partitions"
                                       : "");
      }
      if (n.store >= 0) extra += fmt::format(" (store: {})", stores_[n.store].name);
      out += fmt::format("    {} [{}]{}\n      --> {}\n", n.name, n.kind, extra, names(n.children));
    }
  }
  if (!stores_.empty()) {
    out += "Stores:\n";
    for (const Store& s : stores_) {
      out += fmt::format("  {} (stage {}, key serde {}, value serde {})\n", s.name, s.stage,
                         s.key_serde, s.value_serde);
    }
  }
  bool any_internal = false;
  for (size_t i = 0; i < topics_.size(); ++i) {
    if (!topics_[i].internal) continue;
    if (!any_internal) out += "Repartition topics:\n";
    any_internal = true;
    out += fmt::format("  {}\n", TopicName(static_cast<int>(i), app));
  }
  return out;
}

EventTimeOptions Topology::SourceEventTime(int topic) const {
  EventTimeOptions o = event_time_;
  const Topic& t = topics_[topic];
  if (t.max_out_of_orderness) o.max_out_of_orderness = *t.max_out_of_orderness;
  if (t.idle_timeout) o.idle_timeout = *t.idle_timeout;
  return o;
}

std::chrono::milliseconds Topology::ShortestIdleTimeout() const {
  std::chrono::milliseconds shortest = event_time_.idle_timeout;
  for (const Topic& t : topics_) {
    if (t.idle_timeout && t.idle_timeout->count() > 0 &&
        (shortest.count() <= 0 || *t.idle_timeout < shortest)) {
      shortest = *t.idle_timeout;
    }
  }
  return shortest;
}

}  // namespace sluice
