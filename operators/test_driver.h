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
// Or with typed topics, as Kafka's TestInputTopic/TestOutputTopic:
//   auto lines = driver.CreateInputTopic<std::string, std::string>("lines");
//   auto counts = driver.CreateOutputTopic<std::string, int64_t>("counts",
//                                                               {.value = DecimalInt64Serde()});
//   ASSERT_TRUE(lines.PipeInput("", "a b a", Timestamp(1)).ok());
//   Result<std::map<std::string, int64_t>> latest = counts.ReadKeyValuesToMap();  // a=2, b=1
//
// A table read beside a stream (Table<K,V>(topic) in a stage that also reads a stream) is state,
// not time, as in the runtime (runtime/task_time.h): its records never move nor hold back the
// stage's watermark, so a table topic that is fed once does not keep windows open.
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

template <typename K, typename V>
class TestInputTopic;
template <typename K, typename V>
class TestOutputTopic;

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

  // A typed handle on input topic `topic` with `serdes` (default: the types' default serdes).
  // Valid while the driver lives. A topic the topology does not read fails at PipeInput.
  template <typename K, typename V>
  TestInputTopic<K, V> CreateInputTopic(const std::string& topic, Serdes<K, V> serdes = {}) {
    return TestInputTopic<K, V>(this, topic, std::move(serdes));
  }
  // A typed handle on output topic `topic` (a topic the topology writes), read destructively.
  template <typename K, typename V>
  TestOutputTopic<K, V> CreateOutputTopic(const std::string& topic, Serdes<K, V> serdes = {}) {
    return TestOutputTopic<K, V>(this, topic, std::move(serdes));
  }
  // The records written to user topic `topic` and not read yet.
  size_t OutputSize(const std::string& topic) const;

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

// Records piped into one input topic of a TestDriver (TestDriver::CreateInputTopic).
template <typename K, typename V>
class TestInputTopic {
 public:
  TestInputTopic(TestDriver* driver, std::string topic, Serdes<K, V> serdes)
      : driver_(driver), topic_(std::move(topic)), serdes_(std::move(serdes)) {}

  // Pipes (key, value) at time `ts` and processes everything it causes (TestDriver::PipeInput).
  Status PipeInput(const K& key, const V& value, Timestamp ts) {
    return driver_->PipeInput<K, V>(topic_, key, value, ts, serdes_);
  }
  // The same with a null key (a record without key, as `sluice produce` writes by default).
  Status PipeInput(const V& value, Timestamp ts) {
    if (!serdes_.value) serdes_.value = DefaultSerde<V>();
    if (!serdes_.value) return InvalidArgument("PipeInput: no serde for the value type");
    std::string v;
    serdes_.value->Serialize(value, &v);
    return driver_->PipeBytes(topic_, std::nullopt, v, ts);
  }
  // Pipes each record in order; stops at the first error.
  Status PipeRecordList(const std::vector<KeyValueTimestamp<K, V>>& records) {
    for (const auto& r : records) SLUICE_RETURN_IF_ERROR(PipeInput(r.key, r.value, r.timestamp));
    return Status::Ok();
  }
  // A tombstone (null value) for `key`: deletes the key from a table read from this topic.
  Status PipeTombstone(const K& key, Timestamp ts) {
    if (!serdes_.key) serdes_.key = DefaultSerde<K>();
    if (!serdes_.key) return InvalidArgument("PipeTombstone: no serde for the key type");
    std::string k;
    serdes_.key->Serialize(key, &k);
    return driver_->PipeBytes(topic_, k, std::nullopt, ts);
  }
  const std::string& topic() const { return topic_; }

 private:
  TestDriver* driver_;
  std::string topic_;
  Serdes<K, V> serdes_;
};

// The records a TestDriver's topology wrote to one output topic (TestDriver::CreateOutputTopic).
// Every Read* removes what it returns; a record that does not decode fails the read (and is
// consumed with the others).
template <typename K, typename V>
class TestOutputTopic {
 public:
  TestOutputTopic(TestDriver* driver, std::string topic, Serdes<K, V> serdes)
      : driver_(driver), topic_(std::move(topic)), serdes_(std::move(serdes)) {}

  // Every record not read yet, in order, with its timestamp.
  Result<std::vector<KeyValueTimestamp<K, V>>> ReadRecordsToList() {
    return driver_->ReadOutput<K, V>(topic_, serdes_);
  }
  // The values not read yet, in order.
  Result<std::vector<V>> ReadValuesToList() {
    SLUICE_ASSIGN_OR_RETURN(auto records, ReadRecordsToList());
    std::vector<V> out;
    out.reserve(records.size());
    for (auto& r : records) out.push_back(std::move(r.value));
    return out;
  }
  // The latest value of each key among the records not read yet: a table's state as its
  // changelog says (a later record of a key replaces an earlier one).
  Result<std::map<K, V>> ReadKeyValuesToMap() {
    SLUICE_ASSIGN_OR_RETURN(auto records, ReadRecordsToList());
    std::map<K, V> out;
    for (auto& r : records) out.insert_or_assign(std::move(r.key), std::move(r.value));
    return out;
  }
  // The number of records not read yet.
  size_t size() const { return driver_->OutputSize(topic_); }
  bool IsEmpty() const { return size() == 0; }
  const std::string& topic() const { return topic_; }

 private:
  TestDriver* driver_;
  std::string topic_;
  Serdes<K, V> serdes_;
};

}  // namespace sluice::testing
