// Request decoding/encoding for every served API and version, and the ApiVersions bytes that
// real clients depend on (captured from the real clients).
#include <gtest/gtest.h>

#include <string>

#include "server/protocol/api_keys.h"
#include "server/protocol/error_codes.h"
#include "server/protocol/request.h"

namespace sluice::kafka {
namespace {

std::string Hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

// One populated body per API, exercising optional and nullable fields.
RequestBody SampleBody(int16_t key) {
  switch (static_cast<ApiKey>(key)) {
    case ApiKey::kProduce: {
      ProduceRequest r;
      r.acks = -1;
      r.timeout_ms = 30000;
      r.topics = {{"t1", {{0, std::string("batchbytes")}, {1, std::nullopt}}}};
      return r;
    }
    case ApiKey::kFetch: {
      FetchRequest r;
      r.max_wait_ms = 500;
      r.min_bytes = 1;
      r.max_bytes = 1 << 20;
      r.isolation_level = 1;
      r.topics = {{"t1", {{0, -1, 5, -1, 1 << 20}}}};
      r.forgotten_topics = {{"old", {1, 2}}};
      r.rack_id = "r";
      return r;
    }
    case ApiKey::kListOffsets: {
      ListOffsetsRequest r;
      r.topics = {{"t1", {{0, -2}, {1, 1700000000000}}}};
      return r;
    }
    case ApiKey::kMetadata: {
      MetadataRequest r;
      r.topics = std::vector<std::string>{"a", "b"};
      r.allow_auto_topic_creation = false;
      return r;
    }
    case ApiKey::kOffsetCommit: {
      OffsetCommitRequest r;
      r.group_id = "g";
      r.generation_id = 3;
      r.member_id = "m-1";
      r.topics = {{"t1", {{0, 42, -1, -1, std::nullopt}, {1, 7, -1, -1, std::string("md")}}}};
      return r;
    }
    case ApiKey::kOffsetFetch: {
      OffsetFetchRequest r;
      r.group_id = "g";
      r.topics = std::vector<OffsetFetchRequest::Topic>{{"t1", {0, 1}}};
      r.require_stable = true;  // v7+
      return r;
    }
    case ApiKey::kFindCoordinator:
      return FindCoordinatorRequest{"g", 0};
    case ApiKey::kJoinGroup: {
      JoinGroupRequest r;
      r.group_id = "g";
      r.session_timeout_ms = 10000;
      r.rebalance_timeout_ms = 10000;
      r.protocol_type = "consumer";
      r.protocols = {{"range", "meta"}, {"roundrobin", "meta2"}};
      return r;
    }
    case ApiKey::kHeartbeat:
      return HeartbeatRequest{"g", 2, "m", std::nullopt};
    case ApiKey::kLeaveGroup: {
      LeaveGroupRequest r;
      r.group_id = "g";
      r.members = {{"m", std::nullopt}};
      return r;
    }
    case ApiKey::kSyncGroup: {
      SyncGroupRequest r;
      r.group_id = "g";
      r.generation_id = 1;
      r.member_id = "m";
      r.assignments = {{"m", "assignment"}};
      return r;
    }
    case ApiKey::kDescribeGroups: {
      DescribeGroupsRequest r;
      r.groups = {"g", "h"};
      return r;
    }
    case ApiKey::kListGroups:
      return ListGroupsRequest{};
    case ApiKey::kApiVersions:
      return ApiVersionsRequest{"librdkafka", "2.0.2"};
    case ApiKey::kCreateTopics: {
      CreateTopicsRequest r;
      r.topics = {{"new", 3, 1, {{0, {1}}}, {{"retention.ms", std::string("1000")}}}};
      r.timeout_ms = 1000;
      return r;
    }
    case ApiKey::kDeleteTopics:
      return DeleteTopicsRequest{{"a", "b"}, 1000};
    case ApiKey::kInitProducerId:
      return InitProducerIdRequest{std::nullopt, 60000};
    case ApiKey::kAddPartitionsToTxn:
      return AddPartitionsToTxnRequest{"tx", 7, 2, {{"t1", {0, 3}}, {"t2", {1}}}};
    case ApiKey::kAddOffsetsToTxn:
      return AddOffsetsToTxnRequest{"tx", 7, 2, "g"};
    case ApiKey::kEndTxn:
      return EndTxnRequest{"tx", 7, 2, true};
    case ApiKey::kTxnOffsetCommit: {
      TxnOffsetCommitRequest r{"tx", "g", 7, 2};
      r.generation_id = 4;
      r.member_id = "m-1";
      r.group_instance_id = "i-1";
      r.topics = {{"t1", {{0, 42, 5, std::nullopt}, {1, 7, -1, std::string("md")}}}};
      return r;
    }
    case ApiKey::kSaslHandshake:
      return SaslHandshakeRequest{"SCRAM-SHA-256"};
    case ApiKey::kSaslAuthenticate:
      return SaslAuthenticateRequest{std::string("n,,n=user,r=abc")};
    case ApiKey::kDeleteRecords:
      return DeleteRecordsRequest{{{"t1", {{0, 42}, {3, -1}}}, {"t2", {}}}, 30000};
    case ApiKey::kDescribeConfigs: {
      DescribeConfigsRequest r;
      r.resources = {{2, "t1", std::nullopt},
                     {4, "1", std::vector<std::string>{"num.partitions", "broker.id"}}};
      r.include_synonyms = true;
      r.include_documentation = true;
      return r;
    }
    case ApiKey::kAlterConfigs:
      return AlterConfigsRequest{
          {{2, "t1", {{"retention.ms", std::string("1000")}, {"segment.bytes", std::nullopt}}}},
          true};
    case ApiKey::kDeleteGroups:
      return DeleteGroupsRequest{{"g1", "g2"}};
    case ApiKey::kIncrementalAlterConfigs:
      return IncrementalAlterConfigsRequest{
          {{2, "t1", {{"retention.ms", 0, std::string("1000")}, {"segment.bytes", 1, {}}}}}, false};
    case ApiKey::kOffsetDelete:
      return OffsetDeleteRequest{"g", {{"t1", {0, 2}}, {"t2", {}}}};
    case ApiKey::kDescribeCluster:
      return DescribeClusterRequest{true, 1};
  }
  ADD_FAILURE() << "no sample for key " << key;
  return ListGroupsRequest{};
}

TEST(RequestCodecTest, EveryServedVersionRoundTripsStably) {
  for (const ApiInfo& api : SupportedApis()) {
    for (int16_t v = api.min_version; v <= api.max_version; ++v) {
      RequestHeader h{api.key, v, 17, std::string("client")};
      std::string frame = EncodeRequest(h, SampleBody(api.key));
      auto decoded = DecodeRequest(std::string_view(frame).substr(4));
      ASSERT_TRUE(decoded.ok()) << api.name << " v" << v << ": " << decoded.status();
      EXPECT_EQ(decoded->header.correlation_id, 17);
      EXPECT_EQ(decoded->header.client_id, "client");
      EXPECT_EQ(ApiKeyOf(decoded->body), api.key);
      std::string again = EncodeRequest(decoded->header, decoded->body);
      EXPECT_EQ(Hex(again), Hex(frame)) << api.name << " v" << v;
    }
  }
}

// TxnOffsetCommit v3 as Kafka's TxnOffsetCommitRequest.json lays it out (header v2, compact
// strings and arrays, tagged fields), built by hand: the group metadata a consumer's
// groupMetadata() carries reaches the handler.
TEST(RequestCodecTest, TxnOffsetCommitV3CarriesTheGroupMetadata) {
  std::string f;
  auto i16 = [&](int16_t v) { f += {char(v >> 8), char(v)}; };
  auto i32 = [&](int32_t v) { i16(int16_t(v >> 16)), i16(int16_t(v)); };
  auto i64 = [&](int64_t v) { i32(int32_t(v >> 32)), i32(int32_t(v)); };
  auto compact = [&](std::string_view s) { f += char(s.size() + 1), f += s; };
  i16(28), i16(3), i32(9), i16(1), f += "c", f += '\0';  // header v2, no tags
  compact("tx"), compact("g"), i64(7), i16(2);
  i32(4), compact("m-1"), compact("i-1");  // generation, member id, group instance id
  f += char(2), compact("t1"), f += char(2);
  i32(0), i64(42), i32(-1), f += char(0), f += '\0';  // null metadata, partition tags
  f += '\0', f += '\0';                               // topic tags, request tags
  auto d = DecodeRequest(f);
  ASSERT_TRUE(d.ok()) << d.status();
  const auto& r = std::get<TxnOffsetCommitRequest>(d->body);
  EXPECT_EQ(r.transactional_id, "tx");
  EXPECT_EQ(r.group_id, "g");
  EXPECT_EQ(r.producer_id, 7);
  EXPECT_EQ(r.generation_id, 4);
  EXPECT_EQ(r.member_id, "m-1");
  EXPECT_EQ(r.group_instance_id, std::optional<std::string>("i-1"));
  ASSERT_EQ(r.topics.size(), 1u);
  ASSERT_EQ(r.topics[0].partitions.size(), 1u);
  EXPECT_EQ(r.topics[0].partitions[0].committed_offset, 42);
  EXPECT_FALSE(r.topics[0].partitions[0].committed_metadata.has_value());

  TxnOffsetCommitResponse resp;
  resp.results = {{"t1", {{0, kIllegalGeneration}}}};
  WireWriter w;
  resp.Encode(w, 3);
  // throttle, 1 topic, "t1", 1 partition, index 0, ILLEGAL_GENERATION (22), three tag buffers.
  EXPECT_EQ(Hex(w.buffer()),
            "00000000"
            "02"
            "037431"
            "02"
            "00000000"
            "0016"
            "00"
            "00"
            "00");
  WireWriter w2;
  resp.Encode(w2, 2);
  EXPECT_EQ(Hex(w2.buffer()),
            "00000000"
            "00000001"
            "00027431"
            "00000001"
            "00000000"
            "0016");
}

TEST(RequestCodecTest, EveryTruncationOfAValidRequestIsRejectedCleanly) {
  RequestHeader h{0, 7, 1, std::string("c")};
  std::string frame = EncodeRequest(h, SampleBody(0)).substr(4);
  for (size_t n = 0; n < frame.size(); ++n) {
    auto decoded = DecodeRequest(std::string_view(frame).substr(0, n));
    // Every prefix that cuts into a field must fail; none may crash.
    if (decoded.ok()) ADD_FAILURE() << "prefix of " << n << " bytes decoded";
  }
}

TEST(RequestCodecTest, ParsesLibrdkafkasApiVersionsV3Request) {
  // A capture of librdkafka 2.0.2's first request.
  static const char kBytes[] =
      "\x00\x12\x00\x03\x00\x00\x00\x01\x00\x07rdkafka\x00\x0blibrdkafka\x06"
      "2.0.2\x00";
  std::string frame(kBytes, sizeof(kBytes) - 1);
  auto decoded = DecodeRequest(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& body = std::get<ApiVersionsRequest>(decoded->body);
  EXPECT_EQ(decoded->header.client_id, "rdkafka");
  EXPECT_EQ(body.client_software_name, "librdkafka");
  EXPECT_EQ(body.client_software_version, "2.0.2");
}

TEST(RequestCodecTest, ApiVersionsV3ResponseHasNoHeaderTagByte) {
  RequestHeader h{18, 3, 1, std::string("rdkafka")};
  WireWriter w;
  BeginResponseFrame(h, w);
  ApiVersionsResponse::Supported(kNone).Encode(w, 3);
  std::string frame = FinishResponseFrame(w);
  // size, correlation id 1, error 0, compact count 28+1 = 0x1d.
  EXPECT_EQ(Hex(frame.substr(4, 7)), "0000000100001d");
  // 28 entries of 7 bytes, throttle (4), body tags (1).
  EXPECT_EQ(frame.size(), 4u + 4 + 2 + 1 + 28 * 7 + 4 + 1);
  // First entry: Produce 0..7, tag byte.
  EXPECT_EQ(Hex(frame.substr(11, 7)), "00000000000700");
}

TEST(RequestCodecTest, UnsupportedApiVersionsAnswerUsesTheV0Layout) {
  RequestHeader h{18, 9, 5, std::nullopt};
  std::string frame = UnsupportedApiVersionsFrame(h);
  EXPECT_EQ(Hex(frame.substr(4, 10)),
            "00000005"
            "0023"
            "0000001c");  // corr, 35, 28 keys
  EXPECT_EQ(frame.size(), 4u + 4 + 2 + 4 + 28 * 6);
}

TEST(RequestCodecTest, UnknownKeysAndVersionsAreOutOfRange) {
  std::string unknown("\x27\x0f\x00\x00\x00\x00\x00\x01\xff\xff", 10);  // key 9999
  auto r1 = DecodeRequest(unknown);
  EXPECT_EQ(r1.status().code(), StatusCode::kOutOfRange);
  std::string too_new("\x00\x00\x00\x08\x00\x00\x00\x01\xff\xff", 10);  // Produce v8
  auto r2 = DecodeRequest(too_new);
  EXPECT_EQ(r2.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r2.status().message().find("supported 0..7"), std::string::npos) << r2.status();
  auto r3 = DecodeRequest("\x00\x12\x00");
  EXPECT_EQ(r3.status().code(), StatusCode::kInvalidArgument);
}

TEST(RequestCodecTest, MetadataV0EmptyListMeansAllTopicsAndV1NullDoes) {
  MetadataRequest all;  // topics = nullopt
  for (int16_t v : {0, 1, 4}) {
    std::string frame = EncodeRequest({3, v, 1, std::nullopt}, all);
    auto d = DecodeRequest(std::string_view(frame).substr(4));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_FALSE(std::get<MetadataRequest>(d->body).topics.has_value()) << v;
  }
  MetadataRequest none;
  none.topics = std::vector<std::string>{};
  std::string frame = EncodeRequest({3, 1, 1, std::nullopt}, none);
  auto d = DecodeRequest(std::string_view(frame).substr(4));
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(std::get<MetadataRequest>(d->body).topics.has_value());
  EXPECT_TRUE(std::get<MetadataRequest>(d->body).topics->empty());
}

TEST(RequestCodecTest, LyingProduceTopicCountIsRejectedWithoutAllocating) {
  // Produce v7: null txn id, acks, timeout, topic count INT32_MAX, nothing else.
  std::string frame(
      "\x00\x00\x00\x07\x00\x00\x00\x01\xff\xff"
      "\xff\xff"
      "\x00\x01"
      "\x00\x00\x75\x30"
      "\x7f\xff\xff\xff",
      20);
  auto d = DecodeRequest(frame);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("Produce v7"), std::string::npos) << d.status();
}

}  // namespace
}  // namespace sluice::kafka
