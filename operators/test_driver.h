// testing::TestDriver: runs a Topology deterministically on one thread, without a log, threads
// or timing — the way to unit-test a job (Kafka Streams' TopologyTestDriver).
//
// Every topic has one partition, so every stage runs as a single task. PipeInput runs the
// record through its stage at once; records sent to a topic that the topology also reads
// (repartition topics, or a user topic read back) are processed next, in FIFO order, before
// PipeInput returns. Records sent to user topics are kept for ReadOutput. Stores are in memory.
//
//   TestDriver driver(std::move(topology));
//   Status s = driver.PipeInput<std::string, std::string>("lines", "", "a b a", Timestamp(1));
//   auto out = driver.ReadOutput<std::string, int64_t>("counts", {.value = DecimalInt64Serde()});
//
// Not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "operators/key_value_store.h"
#include "operators/processor_context.h"
#include "operators/serde.h"
#include "operators/task_graph.h"
#include "operators/topology.h"
#include "operators/watermark.h"

namespace sluice::testing {

// A record as written to a topic (serialized). A tombstone (a table's delete written by To():
// the key with a null value) has `tombstone` set and an empty `value`.
struct TestRecord {
  std::string key;
  std::string value;
  Timestamp timestamp;
  bool tombstone = false;
  bool operator==(const TestRecord&) const = default;
};

template <typename K, typename V>
struct KeyValueTimestamp {
  K key;
  V value;
  Timestamp timestamp;
  bool operator==(const KeyValueTimestamp&) const = default;
};

class TestDriver {
 public:
  explicit TestDriver(Topology topology, std::string application_id = "test");
  ~TestDriver();

  const Topology& topology() const { return topology_; }

  // Pipes one serialized record into `topic` (which the topology must read) and processes it
  // and everything it causes. Returns the first error (kNotFound for a topic the topology does
  // not read; kAborted if user code threw).
  Status PipeBytes(const std::string& topic, std::optional<std::string_view> key,
                   std::optional<std::string_view> value, Timestamp ts);

  // Serializes (key, value) with `serdes` (default: the types' default serdes) and pipes it.
  template <typename K, typename V>
  Status PipeInput(const std::string& topic, const K& key, const V& value, Timestamp ts,
                   Serdes<K, V> serdes = {}) {
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    if (!serdes.key || !serdes.value) return InvalidArgument("PipeInput: no serde for the type");
    std::string k, v;
    serdes.key->Serialize(key, &k);
    serdes.value->Serialize(value, &v);
    return PipeBytes(topic, k, v, ts);
  }

  // Removes and returns the records written to user topic `topic` so far, in order (tombstones
  // included). The typed overload fails with kInvalidArgument on a tombstone.
  std::vector<TestRecord> ReadOutput(const std::string& topic);

  template <typename K, typename V>
  Result<std::vector<KeyValueTimestamp<K, V>>> ReadOutput(const std::string& topic,
                                                          Serdes<K, V> serdes = {}) {
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    if (!serdes.key || !serdes.value) return InvalidArgument("ReadOutput: no serde for the type");
    std::vector<KeyValueTimestamp<K, V>> out;
    for (const TestRecord& r : ReadOutput(topic)) {
      if (r.tombstone) {
        return InvalidArgument(
            "ReadOutput: topic '{}' holds a tombstone (null value) for a key, which a typed "
            "record cannot show; read the topic with ReadOutput(topic) (TestRecord::tombstone)",
            topic);
      }
      KeyValueTimestamp<K, V> kv{.timestamp = r.timestamp};
      SLUICE_RETURN_IF_ERROR(serdes.key->Deserialize(r.key, &kv.key));
      SLUICE_RETURN_IF_ERROR(serdes.value->Deserialize(r.value, &kv.value));
      out.push_back(std::move(kv));
    }
    return out;
  }

  // Event time (operators/watermark.h). Each stage has one watermark, computed from its source
  // topics (one partition each) exactly as a runtime task does; repartition topics carry the
  // upstream stage's watermark. Time only moves through these calls and the input timestamps.
  //
  // Advances the driver's processing-time clock by `ms` (starting at 0): topics not fed for the
  // topology's idle_timeout become idle and stop holding their stage's watermark back.
  Status AdvanceWallClock(int64_t ms);
  // Marks the external topic `topic` idle until its next record.
  Status MarkIdle(const std::string& topic);
  // Ends every input, as a bounded run does at its end: watermarks go to kMaxWatermark, so every
  // window closes and every pending join result is emitted.
  Status EndInput();
  // The watermark of the stage that reads `topic`.
  Timestamp WatermarkOf(const std::string& topic) const;
  // Records dropped as late by windows and joins so far.
  int64_t late_records() const;

  // The byte-level store named `store`; nullptr if the topology has none of that name.
  KeyValueStore* GetStore(const std::string& store);

  // The contents of store `store`, decoded.
  template <typename K, typename V>
  Result<std::map<K, V>> StoreContents(const std::string& store, Serdes<K, V> serdes = {}) {
    if (!serdes.key) serdes.key = DefaultSerde<K>();
    if (!serdes.value) serdes.value = DefaultSerde<V>();
    KeyValueStore* s = GetStore(store);
    if (s == nullptr) return NotFound("the topology has no store named '{}'", store);
    if (!serdes.key || !serdes.value)
      return InvalidArgument("StoreContents: no serde for the type");
    std::map<K, V> out;
    Status err;
    SLUICE_RETURN_IF_ERROR(s->ForEach([&](std::string_view kb, std::string_view vb) {
      K k{};
      V v{};
      Status st = serdes.key->Deserialize(kb, &k);
      if (st.ok()) st = serdes.value->Deserialize(vb, &v);
      if (!st.ok() && err.ok()) err = st;
      out.emplace(std::move(k), std::move(v));
    }));
    SLUICE_RETURN_IF_ERROR(err);
    return out;
  }

 private:
  class Context;
  struct Pending {
    int topic;
    std::optional<std::string> key;
    std::optional<std::string> value;
    Timestamp ts;
    bool marker = false;               // a watermark marker, no record
    Timestamp carried{kMinWatermark};  // internal topics: the sender's watermark
  };
  Status Drain();
  Status ProcessPending(const Pending& p);
  Status AdvanceStage(int stage);
  int PartOf(int topic) const { return topic_part_[topic]; }

  std::vector<std::unique_ptr<WatermarkTracker>> trackers_;  // by stage
  std::vector<int> topic_part_;                              // by topic: tracker partition
  std::vector<Timestamp> stage_wm_;                          // by stage
  int64_t clock_ = 0;

  Topology topology_;
  std::string application_id_;
  std::vector<std::unique_ptr<InMemoryKeyValueStore>> stores_;
  std::unique_ptr<Context> ctx_;
  std::vector<std::unique_ptr<TaskGraph>> graphs_;  // by stage
  std::deque<Pending> pending_;
  std::map<std::string, std::vector<TestRecord>> outputs_;
  Status init_status_;
};

}  // namespace sluice::testing
