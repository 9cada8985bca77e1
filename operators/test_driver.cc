#include "operators/test_driver.h"

namespace sluice::testing {

class TestDriver::Context final : public ProcessorContext {
 public:
  explicit Context(TestDriver* d) : d_(d) {}
  KeyValueStore* store(int store_index) override { return d_->stores_[store_index].get(); }
  Status Send(int topic, std::string_view key, std::string_view value, Timestamp ts) override {
    const Topology::Topic& t = d_->topology_.topics()[topic];
    if (!t.internal) {
      d_->outputs_[t.name].push_back(
          TestRecord{std::string(key), std::string(value), ts});
    }
    if (!t.source_nodes.empty()) {
      d_->pending_.push_back(Pending{topic, std::string(key), std::string(value), ts});
    }
    return Status::Ok();
  }

 private:
  TestDriver* d_;
};

TestDriver::TestDriver(Topology topology, std::string application_id)
    : topology_(std::move(topology)), application_id_(std::move(application_id)) {
  for (size_t i = 0; i < topology_.stores().size(); ++i) {
    stores_.push_back(std::make_unique<InMemoryKeyValueStore>());
  }
  ctx_ = std::make_unique<Context>(this);
  for (const auto& st : topology_.stages()) {
    auto g = TaskGraph::Create(topology_, st.id, ctx_.get());
    if (!g.ok()) {
      init_status_ = g.status();
      graphs_.clear();
      return;
    }
    graphs_.push_back(std::move(g).value());
  }
}

TestDriver::~TestDriver() = default;

Status TestDriver::PipeBytes(const std::string& topic, std::optional<std::string_view> key,
                             std::optional<std::string_view> value, Timestamp ts) {
  SLUICE_RETURN_IF_ERROR(init_status_);
  int t = topology_.FindTopic(topic);
  if (t < 0 || topology_.topics()[t].source_nodes.empty()) {
    return NotFound("the topology does not read topic '{}'; pipe input into one of its sources",
                    topic);
  }
  pending_.push_back(Pending{t, key ? std::optional<std::string>(std::string(*key)) : std::nullopt,
                             value ? std::optional<std::string>(std::string(*value)) : std::nullopt,
                             ts});
  return Drain();
}

Status TestDriver::Drain() {
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    int node = topology_.topics()[p.topic].source_nodes.front();
    int stage = topology_.nodes()[node].stage;
    Status s = graphs_[stage]->Process(
        p.topic, p.key ? std::optional<std::string_view>(*p.key) : std::nullopt,
        p.value ? std::optional<std::string_view>(*p.value) : std::nullopt, p.ts);
    if (!s.ok()) {
      pending_.clear();
      return s;
    }
  }
  return Status::Ok();
}

std::vector<TestRecord> TestDriver::ReadOutput(const std::string& topic) {
  auto it = outputs_.find(topic);
  if (it == outputs_.end()) return {};
  std::vector<TestRecord> out = std::move(it->second);
  outputs_.erase(it);
  return out;
}

KeyValueStore* TestDriver::GetStore(const std::string& store) {
  int i = topology_.FindStore(store);
  return i < 0 ? nullptr : stores_[i].get();
}

}  // namespace sluice::testing
