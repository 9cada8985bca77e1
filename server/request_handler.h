// RequestHandler: turns one Kafka request frame into its response frame against the core Log.
//
// No sockets here (KafkaServer owns those), so every API can be tested by calling Handle with
// a frame. Handle may complete later and on another thread: long-polling Fetch (parked in a
// FetchWaitList until data arrives or max_wait passes) and JoinGroup/SyncGroup (held by the
// group coordinator until the rebalance phase completes).
//
// Thread safety: thread-safe; Handle may run concurrently for different connections.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <type_traits>

#include "core/log.h"
#include "core/metrics.h"
#include "server/auth/credentials.h"
#include "server/auth/scram.h"
#include "server/fetch_wait_list.h"
#include "server/kafka_group_coordinator.h"
#include "server/protocol/request.h"
#include "server/server_options.h"
#include "server/transaction_coordinator.h"

namespace sluice::kafka {

// SASL state of one connection (only with ServerOptions::sasl_mechanisms). A connection has one
// request in flight at a time, so its handlers never touch this concurrently.
struct SaslSession {
  std::string mechanism;        // chosen by SaslHandshake
  bool handshake_done = false;  // a mechanism was accepted
  // SaslHandshake v0: the next frames are bare SASL tokens (no Kafka header), answered bare.
  bool raw_tokens = false;
  std::unique_ptr<auth::ScramServer> scram;
  bool authenticated = false;
  std::string principal;  // the user name once authenticated
};

// Who sent a request (for logs, member ids and DescribeGroups).
struct ClientInfo {
  std::string host;  // peer IP
  uint64_t connection_id = 0;
  // Set by the connection when SASL is enabled; null otherwise.
  std::shared_ptr<SaslSession> sasl;
};

// What the connection does with a handled request.
struct Reply {
  std::string frame;   // the whole response frame, size prefix included; empty = send nothing
  bool close = false;  // close the connection (after sending `frame`, if any)
  std::string error;   // a client error to log (one line), empty if none
};

class RequestHandler {
 public:
  using Executor = FetchWaitList::Executor;
  using Done = std::function<void(Reply)>;

  // `log` must outlive the handler. `executor` runs deferred work (fetch retries); the server
  // passes its worker pool, tests may run work inline. `advertised_port` is the bound port.
  RequestHandler(Log* log, const ServerOptions& options, std::string advertised_host,
                 int32_t advertised_port, Executor executor);

  // Handles one frame (without its size prefix). Calls `done` exactly once.
  void Handle(std::string frame, const ClientInfo& client, Done done);

  // Loads the transaction state and finishes the transactions the last run left open (commits
  // the decided ones, aborts the rest). The server calls it before accepting connections.
  Status RecoverTransactions() { return txns_.Recover(); }

  // Expires long-polls and group timeouts; the server calls it every few milliseconds.
  void Tick(std::chrono::steady_clock::time_point now);
  // Answers everything held (server stop).
  void Shutdown();

  KafkaGroupCoordinator& groups() { return groups_; }
  // Appends the request counters (per API: requests, errors), request and response bytes,
  // Produce and Fetch latency, and the log's partitions, end offsets and fsync latency. A request
  // counts as an error when its reply names a client error or closes the connection. Reads
  // atomics; the log part holds the topics lock shared, as a Fetch does.
  void AppendMetrics(PrometheusText& out);
  size_t parked_fetches() const { return fetch_waits_.size(); }

 private:
  template <typename Resp>
  static std::string Frame(const RequestHeader& h, const Resp& resp) {
    WireWriter w;
    BeginResponseFrame(h, w);
    resp.Encode(w, h.api_version);
    return FinishResponseFrame(w);
  }

  // Calls the handler SLUICE_KAFKA_APIS names for the request's API.
  void HandleDecoded(DecodedRequest req, const ClientInfo& client, Done done);
  // Adapts the four handler shapes of the API table to one call: a handler returning its Reply
  // now (optionally given the client), one answering later through `done`, and one that also
  // needs the client.
  template <typename Method, typename Req>
  void Serve(Method method, const RequestHeader& h, Req& req, const ClientInfo& client, Done done) {
    if constexpr (std::is_invocable_v<Method, RequestHandler*, const RequestHeader&, Req&,
                                      const ClientInfo&, Done>) {
      (this->*method)(h, req, client, std::move(done));
    } else if constexpr (std::is_invocable_v<Method, RequestHandler*, const RequestHeader&, Req&,
                                             const ClientInfo&>) {
      done((this->*method)(h, req, client));
    } else if constexpr (std::is_invocable_v<Method, RequestHandler*, const RequestHeader&, Req&,
                                             Done>) {
      (this->*method)(h, req, std::move(done));
    } else {
      done((this->*method)(h, req));
    }
  }

  Reply HandleApiVersions(const RequestHeader& h, const ApiVersionsRequest& req);
  Reply HandleMetadata(const RequestHeader& h, const MetadataRequest& req,
                       const ClientInfo& client);
  Reply HandleCreateTopics(const RequestHeader& h, const CreateTopicsRequest& req,
                           const ClientInfo& client);
  Reply HandleDeleteTopics(const RequestHeader& h, const DeleteTopicsRequest& req,
                           const ClientInfo& client);
  Reply HandleInitProducerId(const RequestHeader& h, const InitProducerIdRequest& req,
                             const ClientInfo& client);
  Reply HandleFindCoordinator(const RequestHeader& h, const FindCoordinatorRequest& req);
  Reply HandleProduce(const RequestHeader& h, const ProduceRequest& req, const ClientInfo& client);
  // Takes the request (moved into the shared state a parked Fetch keeps) and its deadline.
  void StartFetch(const RequestHeader& h, FetchRequest& req, const ClientInfo& client, Done done);
  void HandleFetch(const RequestHeader& h, std::shared_ptr<const FetchRequest> req,
                   std::chrono::steady_clock::time_point deadline, Done done);
  Reply HandleListOffsets(const RequestHeader& h, const ListOffsetsRequest& req,
                          const ClientInfo& client);
  void HandleJoinGroup(const RequestHeader& h, const JoinGroupRequest& req,
                       const ClientInfo& client, Done done);
  void HandleSyncGroup(const RequestHeader& h, const SyncGroupRequest& req, Done done);
  Reply HandleHeartbeat(const RequestHeader& h, const HeartbeatRequest& req);
  Reply HandleLeaveGroup(const RequestHeader& h, const LeaveGroupRequest& req);
  Reply HandleOffsetCommit(const RequestHeader& h, const OffsetCommitRequest& req,
                           const ClientInfo& client);
  Reply HandleOffsetFetch(const RequestHeader& h, const OffsetFetchRequest& req,
                          const ClientInfo& client);
  Reply HandleListGroups(const RequestHeader& h, const ListGroupsRequest& req,
                         const ClientInfo& client);
  Reply HandleDescribeGroups(const RequestHeader& h, const DescribeGroupsRequest& req,
                             const ClientInfo& client);

  // Permissions (only with SASL; without it everything is permitted). True when the connection's
  // principal holds every bit of `ops` on the resource.
  bool Permitted(const ClientInfo& client, auth::ResourceType type, std::string_view name,
                 uint8_t ops) const;
  // True when the principal holds any of read/write/admin on the topic (Metadata visibility).
  bool TopicVisible(const ClientInfo& client, std::string_view topic) const;
  // The one log line of a refused request: principal, API and resources.
  static std::string Denied(const ClientInfo& client, const RequestHeader& h, const char* what,
                            const std::vector<std::string>& names, const char* error);
  // JoinGroup, SyncGroup, Heartbeat, LeaveGroup and FindCoordinator need read on their group;
  // returns the GROUP_AUTHORIZATION_FAILED answer when it is missing.
  std::optional<Reply> CheckGroupAccess(const RequestHeader& h, const RequestBody& body,
                                        const ClientInfo& client);
  Reply HandleSaslHandshake(const RequestHeader& h, const SaslHandshakeRequest& req,
                            const ClientInfo& client);
  Reply HandleSaslAuthenticate(const RequestHeader& h, const SaslAuthenticateRequest& req,
                               const ClientInfo& client);
  // A bare SASL token after SaslHandshake v0.
  Reply HandleRawSaslToken(std::string_view token, const ClientInfo& client);
  // One step of the chosen mechanism: the server's answer, or an error (authentication failed).
  Result<std::string> SaslStep(SaslSession& session, std::string_view token);
  bool sasl_enabled() const { return !options_.sasl_mechanisms.empty(); }
  // Under SASL, the transaction APIs need write on the transactional id (the refusal, logged,
  // or nullopt), and AddOffsetsToTxn/TxnOffsetCommit read on the group, AddPartitionsToTxn write
  // on each topic.
  std::optional<std::string> CheckTxnIdAccess(const RequestHeader& h, const std::string& txn_id,
                                              const ClientInfo& client);
  Reply HandleAddPartitionsToTxn(const RequestHeader& h, const AddPartitionsToTxnRequest& req,
                                 const ClientInfo& client);
  Reply HandleAddOffsetsToTxn(const RequestHeader& h, const AddOffsetsToTxnRequest& req,
                              const ClientInfo& client);
  Reply HandleEndTxn(const RequestHeader& h, const EndTxnRequest& req, const ClientInfo& client);
  Reply HandleTxnOffsetCommit(const RequestHeader& h, const TxnOffsetCommitRequest& req,
                              const ClientInfo& client);

  // Admin APIs (admin_handlers.cc).
  Reply HandleDeleteRecords(const RequestHeader& h, const DeleteRecordsRequest& req,
                            const ClientInfo& client);
  Reply HandleDescribeConfigs(const RequestHeader& h, const DescribeConfigsRequest& req,
                              const ClientInfo& client);
  Reply HandleAlterConfigs(const RequestHeader& h, const AlterConfigsRequest& req,
                           const ClientInfo& client);
  Reply HandleIncrementalAlterConfigs(const RequestHeader& h,
                                      const IncrementalAlterConfigsRequest& req,
                                      const ClientInfo& client);
  Reply HandleDeleteGroups(const RequestHeader& h, const DeleteGroupsRequest& req,
                           const ClientInfo& client);
  Reply HandleOffsetDelete(const RequestHeader& h, const OffsetDeleteRequest& req,
                           const ClientInfo& client);
  Reply HandleDescribeCluster(const RequestHeader& h, const DescribeClusterRequest& req);
  // Applies one resource's config change (AlterConfigs replaces, IncrementalAlterConfigs edits)
  // to a topic: fills the result's error code and message.
  void AlterTopicConfig(const std::string& topic,
                        const std::function<Status(std::map<std::string, std::string>&)>& edit,
                        bool validate_only, const ClientInfo& client, const RequestHeader& h,
                        AlterConfigsResponse::Result* result, std::string* errors);

  // Creates `topic` with `partitions` if the caps allow; returns a Kafka error code.
  int16_t CreateTopicLocked(const std::string& topic, int32_t partitions, const TopicConfig* config,
                            std::string* message);
  // Builds a Fetch response; sets *ready when it should be sent now (enough bytes or an error).
  FetchResponse BuildFetch(const FetchRequest& req, bool* ready);

  // The log line for a request this broker does not serve (an API key it lacks or a version out
  // of its range), or "" when the same (API, client id, address) was logged within the last
  // minute; the next line counts the ones left out.
  std::string UnservedRequestLine(const RequestHeader& h, const ClientInfo& client);

  // Counts a finished request of API `api_key` (-1: not decodable) received `start`.
  void Account(int16_t api_key, std::chrono::steady_clock::time_point start, const Reply& reply);

  Log* log_;
  ServerOptions options_;
  static constexpr size_t kApiSlots = 128;  // API keys 0..127; others share the last slot
  struct ApiCounters {
    std::atomic<int64_t> requests{0};
    std::atomic<int64_t> errors{0};
  };
  std::array<ApiCounters, kApiSlots + 1> api_counters_;  // last: undecodable or unknown key
  std::atomic<int64_t> request_bytes_{0};
  std::atomic<int64_t> response_bytes_{0};
  LatencyHistogram produce_latency_;
  LatencyHistogram fetch_latency_;
  std::mutex unserved_mu_;
  struct UnservedLog {
    std::chrono::steady_clock::time_point last;
    int64_t suppressed = 0;
  };
  std::map<std::tuple<int16_t, std::string, std::string>, UnservedLog> unserved_;
  std::string advertised_host_;
  int32_t advertised_port_;
  // Shared for data-path requests, exclusive for DeleteTopics: a Partition* obtained from the
  // Log stays valid while the shared lock is held.
  std::shared_mutex topics_mu_;
  // Serialises topic creation (count caps, check-then-create).
  std::mutex create_mu_;
  FetchWaitList fetch_waits_;
  KafkaGroupCoordinator groups_;
  TransactionCoordinator txns_;
  std::chrono::steady_clock::time_point next_txn_expiry_check_{};
};

}  // namespace sluice::kafka
