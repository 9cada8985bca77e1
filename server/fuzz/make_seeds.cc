// Writes the seed corpus: one valid request per served API and version (as a size-prefixed
// stream, which the fuzzer reads both as a stream and as one frame), plus known-bad shapes.
// Usage: kafka_fuzz_make_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "server/protocol/api_keys.h"
#include "server/protocol/request.h"

using namespace sluice::kafka;

namespace {

RequestBody Sample(int16_t key) {
  switch (static_cast<ApiKey>(key)) {
    case ApiKey::kProduce: {
      ProduceRequest r;
      r.acks = 1;
      r.topics = {{"t", {{0, std::string(61, '\0')}}}};
      return r;
    }
    case ApiKey::kFetch: {
      FetchRequest r;
      r.topics = {{"t", {{0, -1, 0, -1, 1024}}}};
      return r;
    }
    case ApiKey::kListOffsets: {
      ListOffsetsRequest r;
      r.topics = {{"t", {{0, -1}}}};
      return r;
    }
    case ApiKey::kMetadata: {
      MetadataRequest r;
      r.topics = std::vector<std::string>{"t"};
      return r;
    }
    case ApiKey::kOffsetCommit: {
      OffsetCommitRequest r;
      r.group_id = "g";
      r.topics = {{"t", {{0, 5, -1, -1, std::string("m")}}}};
      return r;
    }
    case ApiKey::kOffsetFetch: {
      OffsetFetchRequest r;
      r.group_id = "g";
      r.topics = std::vector<OffsetFetchRequest::Topic>{{"t", {0}}};
      return r;
    }
    case ApiKey::kFindCoordinator:
      return FindCoordinatorRequest{"g", 0};
    case ApiKey::kJoinGroup: {
      JoinGroupRequest r;
      r.group_id = "g";
      r.session_timeout_ms = 10000;
      r.protocol_type = "consumer";
      r.protocols = {{"range", "x"}};
      return r;
    }
    case ApiKey::kHeartbeat:
      return HeartbeatRequest{"g", 1, "m", std::nullopt};
    case ApiKey::kLeaveGroup:
      return LeaveGroupRequest{"g", {{"m", std::nullopt}}};
    case ApiKey::kSyncGroup:
      return SyncGroupRequest{"g", 1, "m", std::nullopt, {{"m", "a"}}};
    case ApiKey::kDescribeGroups:
      return DescribeGroupsRequest{{"g"}, false};
    case ApiKey::kListGroups:
      return ListGroupsRequest{};
    case ApiKey::kApiVersions:
      return ApiVersionsRequest{"librdkafka", "2.0.2"};
    case ApiKey::kCreateTopics: {
      CreateTopicsRequest r;
      r.topics = {{"t", 1, 1, {}, {{"retention.ms", std::string("1")}}}};
      return r;
    }
    case ApiKey::kDeleteTopics:
      return DeleteTopicsRequest{{"t"}, 1000};
    case ApiKey::kInitProducerId:
      return InitProducerIdRequest{std::nullopt, 1000};
    case ApiKey::kAddPartitionsToTxn:
      return AddPartitionsToTxnRequest{"tx", 1, 0, {{"t", {0, 1}}}};
    case ApiKey::kAddOffsetsToTxn:
      return AddOffsetsToTxnRequest{"tx", 1, 0, "g"};
    case ApiKey::kEndTxn:
      return EndTxnRequest{"tx", 1, 0, true};
    case ApiKey::kTxnOffsetCommit: {
      TxnOffsetCommitRequest r{"tx", "g", 1, 0, {}};
      r.topics = {{"t", {{0, 5, -1, std::string("m")}}}};
      return r;
    }
    case ApiKey::kSaslHandshake:
      return SaslHandshakeRequest{"SCRAM-SHA-256"};
    case ApiKey::kSaslAuthenticate:
      return SaslAuthenticateRequest{std::string("n,,n=user,r=abc")};
    case ApiKey::kDeleteRecords:
      return DeleteRecordsRequest{{{"t", {{0, 5}}}}, 1000};
    case ApiKey::kDescribeConfigs:
      return DescribeConfigsRequest{{{2, "t", std::nullopt}}, true, false};
    case ApiKey::kAlterConfigs:
      return AlterConfigsRequest{{{2, "t", {{"retention.ms", std::string("1000")}}}}, false};
    case ApiKey::kDeleteGroups:
      return DeleteGroupsRequest{{"g"}};
    case ApiKey::kIncrementalAlterConfigs:
      return IncrementalAlterConfigsRequest{{{2, "t", {{"retention.ms", 0, std::string("1")}}}},
                                            false};
    case ApiKey::kOffsetDelete:
      return OffsetDeleteRequest{"g", {{"t", {0}}}};
    case ApiKey::kDescribeCluster:
      return DescribeClusterRequest{false, 1};
  }
  return ListGroupsRequest{};
}

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kafka_fuzz_make_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  for (const ApiInfo& api : SupportedApis()) {
    for (int16_t v = api.min_version; v <= api.max_version; ++v) {
      RequestHeader h{api.key, v, 1, std::string("seed")};
      Write(dir, std::string(api.name) + "-v" + std::to_string(v),
            EncodeRequest(h, Sample(api.key)));
    }
  }
  Write(dir, "bad-huge-array",
        std::string("\0\0\0\x12\0\0\0\7\0\0\0\1\xff\xff\xff\xff\0\1\0\0\x75\x30\x7f\xff\xff\xff",
                    26));
  Write(dir, "bad-negative-size", std::string("\xff\xff\xff\xff", 4));
  Write(dir, "bad-tags", std::string("\0\0\0\7\0\x12\0\3\0\0\0\1\xff\xff\x7f", 15));
  return 0;
}
