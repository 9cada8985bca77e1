#include "core/topic_config.h"

#include <gtest/gtest.h>

#include "core/partitioner.h"

namespace sluice {
namespace {

TEST(TopicNameTest, AcceptsKafkaLegalNames) {
  for (const std::string& n :
       std::vector<std::string>{"a", "clicks", "my.topic_1-x", "...a", std::string(249, 'x')}) {
    EXPECT_TRUE(ValidateTopicName(n).ok()) << n;
  }
}

TEST(TopicNameTest, RejectsIllegalNamesWithAMessageSayingWhy) {
  struct Case {
    std::string name;
    std::string expect;
  } cases[] = {
      {"", "empty"},           {".", "not allowed"}, {"..", "not allowed"},
      {"a/b", "'/'"},          {"../../x", "'/'"},   {std::string("a\0b", 3), "0x00"},
      {"caf\xc3\xa9", "0xc3"}, {"sp ace", "' '"},    {std::string(250, 'x'), "250 characters"}};
  for (const auto& c : cases) {
    Status st = ValidateTopicName(c.name);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
  }
}

TEST(TopicConfigTest, RoundTripsAndRejectsBadValues) {
  TopicConfig c{.partitions = 4,
                .retention_ms = 1000,
                .retention_bytes = 1 << 20,
                .segment_bytes = 4096,
                .max_message_bytes = 2048};
  auto parsed = TopicConfig::Parse(c.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->partitions, 4);
  EXPECT_EQ(parsed->retention_ms, 1000);
  EXPECT_EQ(parsed->segment_bytes, 4096);
  EXPECT_EQ(parsed->max_message_bytes, 2048);
  EXPECT_FALSE(TopicConfig{.partitions = 0}.Validate().ok());
  EXPECT_FALSE(TopicConfig{.partitions = kMaxPartitions + 1}.Validate().ok());
  EXPECT_FALSE(TopicConfig{.retention_ms = 0}.Validate().ok());
  EXPECT_FALSE(TopicConfig::Parse("partitions=x\n").ok());
  EXPECT_FALSE(TopicConfig::Parse("bogus=1\npartitions=1\n").ok());
}

// Kafka Streams creates every internal topic with message.timestamp.type=CreateTime: the
// timestamp the log keeps anyway. LogAppendTime (the broker's clock) is refused saying so.
TEST(TopicConfigTest, MessageTimestampTypeIsCreateTimeOnly) {
  TopicConfig c;
  EXPECT_TRUE(c.Set("message.timestamp.type", "CreateTime").ok());
  Status append = c.Set("message.timestamp.type", "LogAppendTime");
  EXPECT_FALSE(append.ok());
  EXPECT_NE(append.message().find("set CreateTime"), std::string::npos) << append.message();
  EXPECT_FALSE(c.Set("message.timestamp.type", "createtime").ok());
  bool described = false;
  for (const auto& [k, v] : c.KafkaConfigs()) {
    if (k == "message.timestamp.type") described = v == "CreateTime";
  }
  EXPECT_TRUE(described);
}

// Vectors from Kafka's UtilsTest.testMurmur2, so keys land where the Java client puts them.
TEST(PartitionerTest, Murmur2MatchesTheJavaClient) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(PartitionerTest, KeysMapToPositiveModulo) {
  // toPositive(-973932308) = 1173551340; % 7 = 1173551340 - 167650191*7 = 3.
  EXPECT_EQ(PartitionForKey("21", 7), PartitionId(3));
  for (int n = 1; n < 20; ++n) {
    PartitionId p = PartitionForKey("foobar", n);
    EXPECT_GE(p.value(), 0);
    EXPECT_LT(p.value(), n);
  }
}

}  // namespace
}  // namespace sluice
