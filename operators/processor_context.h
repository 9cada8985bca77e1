// ProcessorContext: what an operator instance may touch while processing a record — the task's
// stores and its output topics. The TestDriver and the runtime each implement it; one context
// belongs to one task and is used by one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "operators/key_value_store.h"

namespace sluice {

class ProcessorContext {
 public:
  virtual ~ProcessorContext() = default;
  // The store with index `store_index` in Topology::stores(). Never null for a store of the
  // task's stage.
  virtual KeyValueStore* store(int store_index) = 0;
  // Sends a serialized record to the topic with index `topic_index` in Topology::topics().
  // The partition is chosen by the key (Kafka's murmur2 partitioner).
  virtual Status Send(int topic_index, std::string_view key, std::string_view value,
                      Timestamp ts) = 0;

  // The operator currently running user code; read when a user callable throws.
  const std::string* current_operator() const { return current_operator_; }
  void set_current_operator(const std::string* name) { current_operator_ = name; }

 private:
  const std::string* current_operator_ = nullptr;
};

}  // namespace sluice
