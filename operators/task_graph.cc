#include "operators/task_graph.h"

#include <exception>

#include "operators/internal/nodes.h"

namespace sluice {

TaskGraph::~TaskGraph() = default;

Result<std::unique_ptr<TaskGraph>> TaskGraph::Create(const Topology& topology, int stage,
                                                     ProcessorContext* ctx) {
  if (stage < 0 || stage >= static_cast<int>(topology.stages().size())) {
    return InvalidArgument("stage {} does not exist; the topology has {} stages", stage,
                           topology.stages().size());
  }
  std::unique_ptr<TaskGraph> g(new TaskGraph());
  g->topology_ = &topology;
  g->ctx_ = ctx;
  g->nodes_.resize(topology.nodes().size());
  g->sources_.assign(topology.topics().size(), nullptr);
  const Topology::Stage& st = topology.stages()[stage];
  for (int id : st.nodes) {
    const Topology::Node& n = topology.nodes()[id];
    SLUICE_CHECK(n.make != nullptr);
    g->nodes_[id] = n.make();
  }
  for (int id : st.nodes) {
    for (int c : topology.nodes()[id].children) g->nodes_[id]->Connect(g->nodes_[c].get());
    SLUICE_RETURN_IF_ERROR(g->nodes_[id]->Init(ctx));
  }
  for (int t : st.source_topics) {
    for (int id : topology.topics()[t].source_nodes) {
      g->sources_[t] = static_cast<internal::SourceNodeBase*>(g->nodes_[id].get());
    }
  }
  return g;
}

// The one place user code's exceptions become a Status: Aborted, naming the operator that was
// running (ctx_->current_operator(), kept up to date by the nodes as records move through them).
template <typename F>
Status TaskGraph::Guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Aborted("operator '{}' threw: {}; the job stops (fix the operator or its input)",
                   *ctx_->current_operator(), e.what());
  } catch (...) {
    return Aborted("operator '{}' threw a non-std::exception; the job stops",
                   *ctx_->current_operator());
  }
}

Status TaskGraph::Process(int topic, std::optional<std::string_view> key,
                          std::optional<std::string_view> value, Timestamp ts) {
  internal::SourceNodeBase* src =
      topic >= 0 && topic < static_cast<int>(sources_.size()) ? sources_[topic] : nullptr;
  if (src == nullptr) {
    return InvalidArgument("this stage does not read topic #{}", topic);
  }
  ctx_->set_current_operator(&src->name());
  return Guarded([&] { return src->ProcessBytes(key, value, ts); });
}

Status TaskGraph::AdvanceWatermark(Timestamp wm) {
  if (wm <= ctx_->watermark()) return Status::Ok();
  ctx_->set_record_watermark(ctx_->watermark());
  ctx_->set_watermark(wm);
  for (auto& n : nodes_) {
    if (!n) continue;
    ctx_->set_current_operator(&n->name());
    SLUICE_RETURN_IF_ERROR(Guarded([&] { return n->OnWatermark(wm); }));
  }
  return Status::Ok();
}

}  // namespace sluice
