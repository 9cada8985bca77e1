#include "runtime/commit_format.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(CommitFormatTest, CheckpointRoundTrips) {
  TaskCheckpoint c;
  c.commit_number = 42;
  c.producer_id = 7;
  c.inputs = {{"tx", 3, 123456789}, {"app-s-repartition", 3, 0}};
  c.outputs = {{"balances", 0, 17}, {"balances", 1, 0}};
  auto d = DecodeCheckpoint(EncodeCheckpoint(c));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, c);
}

TEST(CommitFormatTest, EmptyCheckpointRoundTrips) {
  TaskCheckpoint c;
  auto d = DecodeCheckpoint(EncodeCheckpoint(c));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, c);
}

TEST(CommitFormatTest, TruncatedOrForeignCheckpointIsCorruption) {
  TaskCheckpoint c;
  c.commit_number = 5;
  c.inputs = {{"tx", 0, 99}};
  std::string bytes = EncodeCheckpoint(c);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto d = DecodeCheckpoint(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(d.status().code(), StatusCode::kCorruption) << "prefix " << n;
  }
  EXPECT_EQ(DecodeCheckpoint(bytes + "x").status().code(), StatusCode::kCorruption);
  std::string other = bytes;
  other[0] = 'Z';
  auto d = DecodeCheckpoint(other);
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
  EXPECT_NE(d.status().message().find("sluice job reset"), std::string::npos);
}

TEST(CommitFormatTest, MarkAndOutboxRoundTrip) {
  auto m = DecodeMark(EncodeMark(981));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 981);
  EXPECT_FALSE(DecodeMark("M").ok());
  OutboxEntry e{"out", 2, std::string("batch\0bytes", 11)};
  auto d = DecodeOutboxEntry(EncodeOutboxEntry(e));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, e);
  EXPECT_FALSE(DecodeOutboxEntry(EncodeOutboxEntry(OutboxEntry{"out", 2, ""})).ok());
}

TEST(CommitFormatTest, KeysSortByTaskAndOutboxOrder) {
  TaskId t{1, 12};
  EXPECT_EQ(CheckpointKey(t), "ckpt/1/12");
  EXPECT_EQ(MarkKey(t), "mark/1/12");
  EXPECT_TRUE(OutboxKey(t, 9).starts_with(OutboxPrefix(t)));
  EXPECT_LT(OutboxKey(t, 9), OutboxKey(t, 10));
  EXPECT_LT(OutboxKey(t, 999999), OutboxKey(t, 2000000));
  // A task's prefix does not cover another task's keys.
  EXPECT_FALSE(OutboxKey(TaskId{1, 123}, 0).starts_with(OutboxPrefix(t)));
}

}  // namespace
}  // namespace sluice
