// RepartitionIfKeyChanged: shared by the keyed stateful operators (windows, dedup, joins). If the
// stream's key changed since it was read, its records go through the internal topic
// "<name>-repartition" (partitioned by the new key) and the operator reads them in a new stage,
// the way GroupedStream's aggregates do. Private to operators/.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <string>

#include "operators/internal/builder_state.h"
#include "operators/internal/nodes.h"
#include "operators/serde.h"

namespace sluice::internal {

// Returns the node the stateful operator should hang under: `parent` itself, or the source of
// the repartition topic written from it.
template <typename K, typename V>
int RepartitionIfKeyChanged(BuilderState* st, int parent, bool key_changed, const Serdes<K, V>& ser,
                            const std::string& name, const char* kind) {
  if (!key_changed) return parent;
  int topic = st->Topic(name + "-repartition", true);
  int sink = st->AddNode(name + "-repartition-sink", "sink", {parent}, nullptr);
  st->AttachSink(topic, sink);
  int source = st->AddNode(name + "-repartition-source", "source", {}, nullptr);
  st->AttachSource(topic, source);
  if (!ser.key || !ser.value) {
    st->Error(
        fmt::format("{} '{}' follows a key change, so its records go through the repartition topic "
                    "'{}-repartition', which needs a {} serde; pass one with WithSerdes(...)",
                    kind, name, name, !ser.key ? "key" : "value"));
  } else {
    st->SetFactory(sink, [ser, topic, n = st->NodeName(sink)]() {
      return std::make_unique<SinkNode<K, V>>(n, topic, ser.key, ser.value);
    });
    st->SetFactory(source, [ser, n = st->NodeName(source), t = name + "-repartition"]() {
      return std::make_unique<SourceNode<K, V>>(n, t, ser.key, ser.value);
    });
  }
  return source;
}

}  // namespace sluice::internal
