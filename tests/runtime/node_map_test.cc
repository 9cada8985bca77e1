#include "runtime/node_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace sluice {
namespace {

TEST(NodeMapTest, FindsWhatWasInsertedAndNodesNeverMove) {
  NodeMap<int> m;
  EXPECT_EQ(m.Find("absent"), nullptr);
  std::map<std::string, NodeMap<int>::Node*> seen;
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string k = "k" + std::to_string(rng() % 50000);
    NodeMap<int>::Node* n = m.Find(k);
    if (n == nullptr) {
      ASSERT_EQ(seen.count(k), 0u) << k;
      n = m.Insert(k);
      n->value = static_cast<int>(k.size());
      seen[k] = n;
    } else {
      ASSERT_EQ(seen.at(k), n) << k;  // the same node across the index's growth
    }
  }
  EXPECT_EQ(m.size(), seen.size());
  for (const auto& [k, n] : seen) {
    ASSERT_EQ(m.Find(k), n);
    EXPECT_EQ(n->key, k);
    EXPECT_EQ(n->value, static_cast<int>(k.size()));
  }
  EXPECT_EQ(m.Find("k-not-there"), nullptr);
  EXPECT_EQ(m.Find(""), nullptr);
  m.Clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.Find(seen.begin()->first), nullptr);
  m.Insert("")->value = 5;
  ASSERT_NE(m.Find(""), nullptr);
  EXPECT_EQ(m.Find("")->value, 5);
}

// Random inserts and erases against std::map: every key is found exactly while it is present,
// and erasing never loses another key of the same probe run.
TEST(NodeMapTest, EraseKeepsEveryOtherKeyFindable) {
  NodeMap<int> m;
  std::map<std::string, NodeMap<int>::Node*> oracle;
  std::mt19937 rng(11);
  for (int i = 0; i < 50000; ++i) {
    std::string k = "k" + std::to_string(rng() % 3000);
    auto it = oracle.find(k);
    if (it == oracle.end()) {
      ASSERT_EQ(m.Find(k), nullptr) << k;
      oracle[k] = m.Insert(k);
    } else if (rng() % 2) {
      ASSERT_EQ(m.Find(k), it->second) << k;
      m.Erase(it->second);
      oracle.erase(it);
      ASSERT_EQ(m.Find(k), nullptr) << k;
    }
    if (i % 5000 == 0) {
      for (const auto& [key, n] : oracle) ASSERT_EQ(m.Find(key), n) << key;
    }
  }
  EXPECT_EQ(m.size(), oracle.size());
  size_t seen = 0;
  m.ForEach([&](const NodeMap<int>::Node*) { ++seen; });
  EXPECT_EQ(seen, oracle.size());
}

}  // namespace
}  // namespace sluice
