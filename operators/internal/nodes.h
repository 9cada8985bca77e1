// The operator node templates a Topology instantiates for each task. Private to operators/: the
// builder creates them, TaskGraph wires and drives them.
//
// Typing: a node that consumes (K, V) derives from Receiver<K, V>; a node that produces (K2, V2)
// keeps typed pointers to Receiver<K2, V2> children. The builder only connects nodes whose types
// match, so Connect's static_cast is safe by construction.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "operators/processor_context.h"
#include "operators/serde.h"

namespace sluice::internal {

// The store a stateful node writes: its index in Topology::stores(), resolved to the task's
// KeyValueStore when the node is initialised (Bind, from Init).
class StoreRef {
 public:
  explicit StoreRef(int index) : index_(index) {}
  void Bind(ProcessorContext* ctx) { store_ = ctx->store(index_); }
  KeyValueStore* operator->() const { return store_; }

 private:
  int index_;
  KeyValueStore* store_ = nullptr;
};

class NodeBase {
 public:
  explicit NodeBase(std::string name) : name_(std::move(name)) {}
  virtual ~NodeBase() = default;
  const std::string& name() const { return name_; }
  // Adds a downstream node. Children are called in the order they were connected.
  virtual void Connect(NodeBase* child) = 0;
  virtual Status Init(ProcessorContext* ctx) {
    ctx_ = ctx;
    return Status::Ok();
  }
  // Called when the task's watermark advances to `wm` (windows close, joins expire here).
  virtual Status OnWatermark(Timestamp /*wm*/) { return Status::Ok(); }
  // Whether this node takes a table's deletes (Receiver::ProcessDelete). Table-table joins and
  // sinks to user topics do, and the key-keeping stateless nodes (ToStream, Merge, MapValues,
  // Filter, Peek) when a node after them does; every other node sees a table's updates only.
  virtual bool WantsDeletes() const { return false; }

 protected:
  // Marks this node as the one running user code (read if that code throws).
  void Enter() { ctx_->set_current_operator(&name_); }
  ProcessorContext* ctx_ = nullptr;

 private:
  std::string name_;
};

// A node fed by (K, V) records.
template <typename K, typename V>
class Receiver : public NodeBase {
 public:
  using NodeBase::NodeBase;
  virtual Status Process(const K& key, const V& value, Timestamp ts) = 0;
  // A table's key was deleted (tombstone). Called only on nodes whose WantsDeletes() is true.
  virtual Status ProcessDelete(const K& /*key*/, Timestamp /*ts*/) { return Status::Ok(); }
};

// A node fed by serialized records of a topic.
class SourceNodeBase : public NodeBase {
 public:
  using NodeBase::NodeBase;
  virtual Status ProcessBytes(std::optional<std::string_view> key,
                              std::optional<std::string_view> value, Timestamp ts) = 0;
};

// The fan-out to typed children shared by every producing node.
template <typename K, typename V>
class Outputs {
 public:
  void Add(NodeBase* child) { children_.push_back(static_cast<Receiver<K, V>*>(child)); }
  Status Forward(const K& key, const V& value, Timestamp ts) {
    for (Receiver<K, V>* c : children_) SLUICE_RETURN_IF_ERROR(c->Process(key, value, ts));
    return Status::Ok();
  }
  // Passes a table's delete to the children that take deletes.
  Status ForwardDelete(const K& key, Timestamp ts) {
    for (Receiver<K, V>* c : children_) {
      if (c->WantsDeletes()) SLUICE_RETURN_IF_ERROR(c->ProcessDelete(key, ts));
    }
    return Status::Ok();
  }
  // Whether any child takes deletes. Asked at run time, not at Add: a child that passes deletes
  // on (PassNode, MapValues, Filter, Peek) takes them only once its own children are connected,
  // which happens after it is connected to its parent.
  bool wants_deletes() const {
    for (Receiver<K, V>* c : children_) {
      if (c->WantsDeletes()) return true;
    }
    return false;
  }
  size_t size() const { return children_.size(); }
  Receiver<K, V>* at(size_t i) const { return children_[i]; }

 private:
  std::vector<Receiver<K, V>*> children_;
};

// A source's timestamp extractor (SourceOptions::timestamp); empty: none.
template <typename K, typename V>
using TimestampFn = std::function<std::optional<Timestamp>(const K&, const V&)>;

// With an extractor: reports the record's event time to the task (kMinWatermark when the
// extractor has none: the record keeps its timestamp and does not move the watermark) and
// returns the timestamp the record goes on with.
template <typename K, typename V>
Timestamp ExtractEventTime(const TimestampFn<K, V>& fn, const K& key, const V& value, Timestamp ts,
                           ProcessorContext* ctx) {
  std::optional<Timestamp> t = fn(key, value);
  ctx->ReportEventTime(t ? *t : Timestamp(INT64_MIN / 4));
  return t ? *t : ts;
}

template <typename K, typename V>
class SourceNode final : public SourceNodeBase {
 public:
  SourceNode(std::string name, std::string topic, SerdePtr<K> ks, SerdePtr<V> vs,
             TimestampFn<K, V> extract = nullptr)
      : SourceNodeBase(std::move(name)),
        topic_(std::move(topic)),
        ks_(ks),
        vs_(vs),
        extract_(std::move(extract)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status ProcessBytes(std::optional<std::string_view> key, std::optional<std::string_view> value,
                      Timestamp ts) override {
    Status s = ks_->Deserialize(key.value_or(std::string_view()), &key_);
    if (!s.ok()) return s.WithContext(fmt::format("key of a record in topic '{}'", topic_));
    s = vs_->Deserialize(value.value_or(std::string_view()), &value_);
    if (!s.ok()) return s.WithContext(fmt::format("value of a record in topic '{}'", topic_));
    if (extract_) {
      Enter();
      ts = ExtractEventTime(extract_, key_, value_, ts, ctx_);
    }
    return out_.Forward(key_, value_, ts);
  }

 private:
  std::string topic_;
  SerdePtr<K> ks_;
  SerdePtr<V> vs_;
  TimestampFn<K, V> extract_;
  K key_{};
  V value_{};
  Outputs<K, V> out_;
};

// Reads a topic as a table: stores the latest value per key and forwards each update; a null
// value (tombstone) deletes the key and forwards the delete only to children that take deletes
// (table-table joins), the key being deserialized only then.
template <typename K, typename V>
class TableSourceNode final : public SourceNodeBase {
 public:
  TableSourceNode(std::string name, std::string topic, int store, SerdePtr<K> ks, SerdePtr<V> vs,
                  TimestampFn<K, V> extract = nullptr)
      : SourceNodeBase(std::move(name)),
        topic_(std::move(topic)),
        store_(store),
        ks_(ks),
        vs_(vs),
        extract_(std::move(extract)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return Status::Ok();
  }
  Status ProcessBytes(std::optional<std::string_view> key, std::optional<std::string_view> value,
                      Timestamp ts) override {
    std::string_view kb = key.value_or(std::string_view());
    Status s;
    if (!value.has_value()) {
      SLUICE_RETURN_IF_ERROR(store_->Delete(kb));
      if (!out_.wants_deletes()) return Status::Ok();
      s = ks_->Deserialize(kb, &key_);
      if (!s.ok()) return s.WithContext(fmt::format("key of a tombstone in topic '{}'", topic_));
      return out_.ForwardDelete(key_, ts);
    }
    s = ks_->Deserialize(kb, &key_);
    if (!s.ok()) return s.WithContext(fmt::format("key of a record in topic '{}'", topic_));
    s = vs_->Deserialize(*value, &value_);
    if (!s.ok()) return s.WithContext(fmt::format("value of a record in topic '{}'", topic_));
    SLUICE_RETURN_IF_ERROR(store_->Put(kb, *value));
    if (extract_) {
      Enter();
      ts = ExtractEventTime(extract_, key_, value_, ts, ctx_);
    }
    return out_.Forward(key_, value_, ts);
  }

 private:
  std::string topic_;
  StoreRef store_;
  SerdePtr<K> ks_;
  SerdePtr<V> vs_;
  TimestampFn<K, V> extract_;
  K key_{};
  V value_{};
  Outputs<K, V> out_;
};

// Writes records to a topic. A sink to a user topic (`tombstones`) also takes a table's deletes
// and writes each as a tombstone (the key with a null value), so a compacted output topic drops
// the key as Kafka Streams' KTable#toStream().to() does; a repartition sink never gets one.
template <typename K, typename V>
class SinkNode final : public Receiver<K, V> {
 public:
  SinkNode(std::string name, int topic, SerdePtr<K> ks, SerdePtr<V> vs, bool tombstones = false)
      : Receiver<K, V>(std::move(name)), topic_(topic), tombstones_(tombstones), ks_(ks), vs_(vs) {}
  void Connect(NodeBase*) override {}
  bool WantsDeletes() const override { return tombstones_; }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    vs_->Serialize(value, &vbuf_);
    return this->ctx_->Send(topic_, kbuf_, vbuf_, ts);
  }
  Status ProcessDelete(const K& key, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    return this->ctx_->SendTombstone(topic_, kbuf_, ts);
  }

 private:
  int topic_;
  bool tombstones_;
  SerdePtr<K> ks_;
  SerdePtr<V> vs_;
  std::string kbuf_, vbuf_;
};

// Forwards unchanged (Merge, ToStream, branch outputs), a table's deletes included when a
// node downstream takes them.
template <typename K, typename V>
class PassNode final : public Receiver<K, V> {
 public:
  using Receiver<K, V>::Receiver;
  void Connect(NodeBase* child) override { out_.Add(child); }
  bool WantsDeletes() const override { return out_.wants_deletes(); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    return out_.Forward(key, value, ts);
  }
  Status ProcessDelete(const K& key, Timestamp ts) override { return out_.ForwardDelete(key, ts); }

 private:
  Outputs<K, V> out_;
};

template <typename K, typename V, typename K2, typename V2, typename F>
class MapNode final : public Receiver<K, V> {
 public:
  MapNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    std::pair<K2, V2> kv = fn_(key, value);
    return out_.Forward(kv.first, kv.second, ts);
  }

 private:
  F fn_;
  Outputs<K2, V2> out_;
};

template <typename K, typename V, typename V2, typename F>
class MapValuesNode final : public Receiver<K, V> {
 public:
  MapValuesNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  // A delete has no value to map, judge or show: it passes unchanged (the key is kept).
  bool WantsDeletes() const override { return out_.wants_deletes(); }
  Status ProcessDelete(const K& key, Timestamp ts) override { return out_.ForwardDelete(key, ts); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    V2 v2 = fn_(value);
    return out_.Forward(key, v2, ts);
  }

 private:
  F fn_;
  Outputs<K, V2> out_;
};

template <typename K, typename V, typename K2, typename F>
class KeyByNode final : public Receiver<K, V> {
 public:
  KeyByNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    K2 k2 = fn_(key, value);
    return out_.Forward(k2, value, ts);
  }

 private:
  F fn_;
  Outputs<K2, V> out_;
};

template <typename K, typename V, typename F>
class FilterNode final : public Receiver<K, V> {
 public:
  FilterNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  // A delete has no value to map, judge or show: it passes unchanged (the key is kept).
  bool WantsDeletes() const override { return out_.wants_deletes(); }
  Status ProcessDelete(const K& key, Timestamp ts) override { return out_.ForwardDelete(key, ts); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    if (!fn_(key, value)) return Status::Ok();
    return out_.Forward(key, value, ts);
  }

 private:
  F fn_;
  Outputs<K, V> out_;
};

template <typename K, typename V, typename F>
class PeekNode final : public Receiver<K, V> {
 public:
  PeekNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  // A delete has no value to map, judge or show: it passes unchanged (the key is kept).
  bool WantsDeletes() const override { return out_.wants_deletes(); }
  Status ProcessDelete(const K& key, Timestamp ts) override { return out_.ForwardDelete(key, ts); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    fn_(key, value);
    return out_.Forward(key, value, ts);
  }

 private:
  F fn_;
  Outputs<K, V> out_;
};

template <typename K, typename V, typename K2, typename V2, typename F>
class FlatMapNode final : public Receiver<K, V> {
 public:
  FlatMapNode(std::string name, F fn) : Receiver<K, V>(std::move(name)), fn_(std::move(fn)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    auto results = fn_(key, value);
    for (const auto& kv : results) SLUICE_RETURN_IF_ERROR(out_.Forward(kv.first, kv.second, ts));
    return Status::Ok();
  }

 private:
  F fn_;
  Outputs<K2, V2> out_;
};

// Sends each record to the first branch whose predicate holds; drops it if none does. Child i
// (in connection order) is branch i.
template <typename K, typename V>
class BranchNode final : public Receiver<K, V> {
 public:
  using Predicate = std::function<bool(const K&, const V&)>;
  BranchNode(std::string name, std::vector<Predicate> preds)
      : Receiver<K, V>(std::move(name)), preds_(std::move(preds)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    this->Enter();
    for (size_t i = 0; i < preds_.size() && i < out_.size(); ++i) {
      if (preds_[i](key, value)) return out_.at(i)->Process(key, value, ts);
    }
    return Status::Ok();
  }

 private:
  std::vector<Predicate> preds_;
  Outputs<K, V> out_;
};

// Count, Reduce and Aggregate: agg = fn(key, value, old-or-initial), stored under the key and
// forwarded downstream as the table's update. Init() gives the aggregate of an absent key;
// Update(key, value, found, old) the new one.
template <typename K, typename V, typename A, typename Update>
class AggregateNode final : public Receiver<K, V> {
 public:
  AggregateNode(std::string name, int store, SerdePtr<K> ks, SerdePtr<A> as, Update update)
      : Receiver<K, V>(std::move(name)),
        store_(store),
        ks_(ks),
        as_(as),
        update_(std::move(update)) {}
  void Connect(NodeBase* child) override { out_.Add(child); }
  Status Init(ProcessorContext* ctx) override {
    SLUICE_RETURN_IF_ERROR(NodeBase::Init(ctx));
    store_.Bind(ctx);
    return Status::Ok();
  }
  Status Process(const K& key, const V& value, Timestamp ts) override {
    ks_->Serialize(key, &kbuf_);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(kbuf_, &abuf_, &found));
    if (found) {
      Status s = as_->Deserialize(abuf_, &agg_);
      if (!s.ok()) return s.WithContext(fmt::format("stored aggregate of '{}'", this->name()));
    }
    this->Enter();
    agg_ = update_(key, value, found, std::move(agg_));
    as_->Serialize(agg_, &abuf_);
    SLUICE_RETURN_IF_ERROR(store_->Put(kbuf_, abuf_));
    return out_.Forward(key, agg_, ts);
  }

 private:
  StoreRef store_;
  SerdePtr<K> ks_;
  SerdePtr<A> as_;
  Update update_;
  std::string kbuf_, abuf_;
  A agg_{};
  Outputs<K, A> out_;
};

}  // namespace sluice::internal
