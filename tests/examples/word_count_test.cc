// The word-count job through the TestDriver (the same AddWordCount that `sluice run` uses).
#include "examples/word_count.h"

#include <gtest/gtest.h>

#include "operators/test_driver.h"

namespace sluice::examples {
namespace {

using sluice::testing::KeyValueTimestamp;
using sluice::testing::TestDriver;
using WC = KeyValueTimestamp<std::string, int64_t>;

TEST(WordCountTest, SplitWordsLowercasesAndSplitsOnPunctuation) {
  EXPECT_EQ(SplitWords("Hello, hello  WORLD!x2"),
            (std::vector<std::string>{"hello", "hello", "world", "x2"}));
  EXPECT_EQ(SplitWords(""), std::vector<std::string>{});
  EXPECT_EQ(SplitWords("  ..  "), std::vector<std::string>{});
  EXPECT_EQ(SplitWords("caf\xc3\xa9 ok"), (std::vector<std::string>{"caf\xc3\xa9", "ok"}));
}

TEST(WordCountTest, EmitsTheRunningCountOfEveryWord) {
  TopologyBuilder b;
  AddWordCount(b, {.input = "lines", .output = "counts"});
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  TestDriver d(std::move(t).value());
  ASSERT_TRUE((d.PipeInput<std::string, std::string>("lines", "", "the cat", Timestamp(10)).ok()));
  ASSERT_TRUE(
      (d.PipeInput<std::string, std::string>("lines", "", "The dog, the end", Timestamp(20)).ok()));
  auto out = d.ReadOutput<std::string, int64_t>("counts", {.value = DecimalInt64Serde()});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (std::vector<WC>{{"the", 1, Timestamp(10)},
                                   {"cat", 1, Timestamp(10)},
                                   {"the", 2, Timestamp(20)},
                                   {"dog", 1, Timestamp(20)},
                                   {"the", 3, Timestamp(20)},
                                   {"end", 1, Timestamp(20)}}));
  auto store = d.StoreContents<std::string, int64_t>("word-counts-store");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*store,
            (std::map<std::string, int64_t>{{"cat", 1}, {"dog", 1}, {"end", 1}, {"the", 3}}));
}

TEST(WordCountTest, OutputValuesAreDecimalText) {
  TopologyBuilder b;
  AddWordCount(b);
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  TestDriver d(std::move(t).value());
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE((d.PipeInput<std::string, std::string>("lines", "", "w", Timestamp(i)).ok()));
  }
  auto raw = d.ReadOutput("word-counts");
  ASSERT_EQ(raw.size(), 12u);
  EXPECT_EQ(raw.back().key, "w");
  EXPECT_EQ(raw.back().value, "12");
}

TEST(WordCountTest, RepartitionsByWord) {
  TopologyBuilder b;
  AddWordCount(b);
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->stages().size(), 2u);
  EXPECT_GE(t->FindTopic("word-counts-store-repartition"), 0);
}

}  // namespace
}  // namespace sluice::examples
