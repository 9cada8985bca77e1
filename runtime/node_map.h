// NodeMap<V>: a string-keyed hash map whose entries never move (a pointer to one stays valid
// until Clear), for TaskStore's per-key cache on the record path.
//
// Why not std::unordered_map: its prime bucket count costs an integer division per probe and a
// pointer chase per bucket; on wordcount the cache lookup was the largest single cost. Here the
// index is open addressing over a power-of-two array of (hash, node) pairs, probed linearly, so a
// hit is usually one cache line of the index plus the node itself. Nodes are allocated one by one
// and owned by the map. No erase (the cache only grows until it is cleared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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
    if ((nodes_.size() + 1) * 2 > slots_.size()) Grow();
    nodes_.push_back(std::make_unique<Node>());
    Node* n = nodes_.back().get();
    n->key.assign(key);
    Place(Hash(key), n);
    return n;
  }

  size_t size() const { return nodes_.size(); }
  void Clear() {
    nodes_.clear();
    slots_.clear();
    mask_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    Node* node = nullptr;
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
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace sluice
