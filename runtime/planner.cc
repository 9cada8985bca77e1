#include "runtime/planner.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"

namespace sluice {

std::string Plan::Describe() const {
  std::string out;
  for (size_t s = 0; s < stage_partitions.size(); ++s) {
    out += fmt::format("stage {}: {} task(s)\n", s, stage_partitions[s]);
  }
  for (const auto& t : topics) {
    out += fmt::format("topic {} ({} partitions{}{}{}{})\n", t.log_name, t.partitions,
                       t.local      ? ", internal, in memory"
                       : t.internal ? ", internal"
                                    : "",
                       t.is_source ? ", read" : "", t.is_sink ? ", written" : "",
                       t.global ? ", global: every task of its stage reads all partitions" : "");
  }
  return out;
}

Result<Plan> MakePlan(const Topology& topology, std::string_view app,
                      const std::map<std::string, int32_t>& existing) {
  Plan plan;
  std::vector<std::string> errors;
  const auto& topics = topology.topics();
  plan.topics.resize(topics.size());
  std::vector<std::string> missing;
  for (size_t i = 0; i < topics.size(); ++i) {
    PlannedTopic& pt = plan.topics[i];
    pt.log_name = topology.TopicName(static_cast<int>(i), app);
    pt.internal = topics[i].internal;
    pt.carries_watermark = pt.internal && topology.CarriesWatermark(static_cast<int>(i));
    pt.is_source = !topics[i].source_nodes.empty();
    pt.is_sink = !topics[i].sink_nodes.empty();
    pt.global = topics[i].global;
    auto it = existing.find(pt.log_name);
    if (it != existing.end()) {
      pt.partitions = it->second;
    } else if (!pt.internal) {
      missing.push_back(pt.log_name);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "'" : ", '") + m + "'";
    errors.push_back(fmt::format(
        "topic{} {} do{} not exist; create {} first (sluice topic create NAME --partitions N)",
        missing.size() == 1 ? "" : "s", list, missing.size() == 1 ? "es" : "",
        missing.size() == 1 ? "it" : "them"));
  }

  // Stages in id order: a repartition topic is written by an earlier stage than the one that
  // reads it (its sink node is added before its source node), so one pass settles all counts.
  const auto& stages = topology.stages();
  plan.stage_partitions.assign(stages.size(), 0);
  for (const auto& st : stages) {
    int32_t parts = 0;
    std::string first;
    for (int t : st.source_topics) {
      int32_t p = plan.topics[t].partitions;
      if (p == 0) continue;                 // missing (already reported)
      if (plan.topics[t].global) continue;  // read whole by every task
      if (parts == 0) {
        parts = p;
        first = plan.topics[t].log_name;
      } else if (p != parts) {
        errors.push_back(fmt::format(
            "stage {} reads '{}' ({} partitions) and '{}' ({} partitions); topics read together "
            "must have the same number of partitions",
            st.id, first, parts, plan.topics[t].log_name, p));
      }
    }
    plan.stage_partitions[st.id] = parts;
    for (int t : st.sink_topics) {
      PlannedTopic& pt = plan.topics[t];
      if (!pt.internal || parts == 0) continue;
      if (existing.count(pt.log_name) == 0) {
        pt.partitions = std::max(pt.partitions, parts);
      } else if (pt.partitions != parts) {
        errors.push_back(fmt::format(
            "repartition topic '{}' exists with {} partitions but stage {} needs {}; reset the "
            "application or delete the topic",
            pt.log_name, pt.partitions, st.id, parts));
      }
    }
  }
  if (!errors.empty()) {
    std::string msg = "cannot plan the job:";
    for (const auto& e : errors) msg += "\n  - " + e;
    return Status(StatusCode::kInvalidArgument, msg);
  }
  for (const auto& st : stages) {
    for (int32_t p = 0; p < plan.stage_partitions[st.id]; ++p) {
      plan.tasks.push_back(PlannedTask{.id = {st.id, p}, .input_topics = st.source_topics});
    }
  }
  return plan;
}

Result<Plan> PlanInLog(const Topology& topology, std::string_view app, Log* log, bool local) {
  std::map<std::string, int32_t> existing;
  for (size_t i = 0; i < topology.topics().size(); ++i) {
    if (local && topology.topics()[i].internal) continue;
    std::string name = topology.TopicName(static_cast<int>(i), app);
    if (!log->HasTopic(name)) continue;
    SLUICE_ASSIGN_OR_RETURN(TopicConfig cfg, log->DescribeTopic(name));
    existing[name] = cfg.partitions;
  }
  SLUICE_ASSIGN_OR_RETURN(Plan plan, MakePlan(topology, app, existing));
  for (auto& t : plan.topics) {
    t.local = local && t.internal;
    if (!t.internal || t.local || existing.count(t.log_name)) continue;
    TopicConfig cfg;
    cfg.partitions = t.partitions;
    Status s = log->CreateTopic(t.log_name, cfg);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) {
      return s.WithContext(fmt::format("creating repartition topic '{}'", t.log_name));
    }
  }
  return plan;
}

}  // namespace sluice
