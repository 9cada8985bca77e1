#include "server/protocol/api_keys.h"

#include <iterator>

namespace sluice::kafka {

std::span<const ApiInfo> SupportedApis() { return kServedApis; }

const ApiInfo* FindApi(int16_t key) {
  for (const ApiInfo& a : kServedApis) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

bool IsSupported(int16_t key, int16_t version) {
  const ApiInfo* a = FindApi(key);
  return a != nullptr && version >= a->min_version && version <= a->max_version;
}

bool IsFlexible(int16_t key, int16_t version) {
  const ApiInfo* a = FindApi(key);
  return a != nullptr && version >= a->first_flexible;
}

const char* ApiName(int16_t key) {
  const ApiInfo* a = FindApi(key);
  return a ? a->name : "UnknownApi";
}

const char* KafkaApiName(int16_t key) {
  // Apache Kafka's API keys 0..87 (the apiKey of each *Request.json), served or not.
  static constexpr const char* kNames[] = {
      "Produce",
      "Fetch",
      "ListOffsets",
      "Metadata",
      "LeaderAndIsr",
      "StopReplica",
      "UpdateMetadata",
      "ControlledShutdown",
      "OffsetCommit",
      "OffsetFetch",
      "FindCoordinator",
      "JoinGroup",
      "Heartbeat",
      "LeaveGroup",
      "SyncGroup",
      "DescribeGroups",
      "ListGroups",
      "SaslHandshake",
      "ApiVersions",
      "CreateTopics",
      "DeleteTopics",
      "DeleteRecords",
      "InitProducerId",
      "OffsetForLeaderEpoch",
      "AddPartitionsToTxn",
      "AddOffsetsToTxn",
      "EndTxn",
      "WriteTxnMarkers",
      "TxnOffsetCommit",
      "DescribeAcls",
      "CreateAcls",
      "DeleteAcls",
      "DescribeConfigs",
      "AlterConfigs",
      "AlterReplicaLogDirs",
      "DescribeLogDirs",
      "SaslAuthenticate",
      "CreatePartitions",
      "CreateDelegationToken",
      "RenewDelegationToken",
      "ExpireDelegationToken",
      "DescribeDelegationToken",
      "DeleteGroups",
      "ElectLeaders",
      "IncrementalAlterConfigs",
      "AlterPartitionReassignments",
      "ListPartitionReassignments",
      "OffsetDelete",
      "DescribeClientQuotas",
      "AlterClientQuotas",
      "DescribeUserScramCredentials",
      "AlterUserScramCredentials",
      "Vote",
      "BeginQuorumEpoch",
      "EndQuorumEpoch",
      "DescribeQuorum",
      "AlterPartition",
      "UpdateFeatures",
      "Envelope",
      "FetchSnapshot",
      "DescribeCluster",
      "DescribeProducers",
      "BrokerRegistration",
      "BrokerHeartbeat",
      "UnregisterBroker",
      "DescribeTransactions",
      "ListTransactions",
      "AllocateProducerIds",
      "ConsumerGroupHeartbeat",
      "ConsumerGroupDescribe",
      "ControllerRegistration",
      "GetTelemetrySubscriptions",
      "PushTelemetry",
      "AssignReplicasToDirs",
      "ListClientMetricsResources",
      "DescribeTopicPartitions",
      "ShareGroupHeartbeat",
      "ShareGroupDescribe",
      "ShareFetch",
      "ShareAcknowledge",
      "AddRaftVoter",
      "RemoveRaftVoter",
      "UpdateRaftVoter",
      "InitializeShareGroupState",
      "ReadShareGroupState",
      "WriteShareGroupState",
      "DeleteShareGroupState",
      "ReadShareGroupStateSummary",
  };
  if (key < 0 || key >= static_cast<int16_t>(std::size(kNames))) return "UnknownApi";
  return kNames[key];
}

}  // namespace sluice::kafka
