// NodeMap<V>: a string-keyed hash map whose entries never move (a pointer to one stays valid
// until Clear), for TaskStore's per-key cache on the record path.
//
// Why not std::unordered_map: its prime bucket count costs an integer division per probe and a
// pointer chase per bucket; on wordcount the cache lookup was the largest single cost. Here the
// index is open addressing over a power-of-two array of (hash, node) pairs, probed linearly, so a
// hit is usually one cache line of the index plus the node itself. Nodes are allocated one by one
// and owned by the map; Erase frees one (backward-shift deletion keeps probe runs intact).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

template <typename V>
class NodeMap {
 public:
  struct Node {
    std::string key;
    V value{};
  };

  NodeMap() = default;
  NodeMap(const NodeMap&) = delete;
  NodeMap& operator=(const NodeMap&) = delete;
  ~NodeMap() { Clear(); }

  // The node of `key`, or nullptr.
  Node* Find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    const uint64_t h = Hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.node == nullptr) return nullptr;
      if (s.hash == h && s.node->key == key) return s.node;
    }
  }

  // Adds `key` (which must not be present) with a default value; returns its node.
  Node* Insert(std::string_view key) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Node* n = new Node();
    n->key.assign(key);
    Place(Hash(key), n);
    ++size_;
    return n;
  }

  // Removes and frees `n` (a node of this map); other nodes stay where they are.
  void Erase(Node* n) {
    const uint64_t h = Hash(n->key);
    size_t i = h & mask_;
    while (slots_[i].node != n) i = (i + 1) & mask_;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    for (size_t j = (i + 1) & mask_; slots_[j].node != nullptr; j = (j + 1) & mask_) {
      const size_t home = slots_[j].hash & mask_;
      // slots_[j] may move to i if its home is not in the cyclic range (i, j].
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    delete n;
    --size_;
  }

  // Calls fn(node) for every node; fn may not insert or erase.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.node != nullptr) fn(s.node);
    }
  }

  size_t size() const { return size_; }
  void Clear() {
    for (Slot& s : slots_) delete s.node;
    slots_.clear();
    mask_ = 0;
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    Node* node = nullptr;  // owned
  };

  static uint64_t Hash(std::string_view key) { return std::hash<std::string_view>()(key); }

  void Place(uint64_t h, Node* n) {
    size_t i = h & mask_;
    while (slots_[i].node != nullptr) i = (i + 1) & mask_;
    slots_[i] = Slot{h, n};
  }

  void Grow() {
    const size_t cap = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.node != nullptr) Place(s.hash, s.node);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace sluice
