// TransactionCoordinator: Kafka's transaction coordinator for this single broker
// (server/README.md, "Transactions").
//
// Per transactional id it keeps the producer id, epoch, state (Empty, Ongoing, PrepareCommit,
// PrepareAbort, CompleteCommit, CompleteAbort), the partitions in the open transaction (each
// with the partition's log end when it was added: no batch of the transaction is below it),
// the offsets TxnOffsetCommit staged for groups, and the timeout. Every state change is written
// to <data_dir>/transactions/state (a checksummed metadata file, replaced atomically and
// fsynced) before it is acknowledged. EndTxn writes Prepare*, appends the markers (acks=all) to
// every partition, applies staged offsets on commit, then writes Complete*. Recover() finishes
// what a crash interrupted: PrepareCommit completes its commit, Ongoing and PrepareAbort abort.
//
// Partition-side state (each partition's open transactions, last stable offset and aborted
// transactions) is core's: Partition::last_stable_offset and AbortedTransactions, kept from the
// batches and markers in the log (core/txn_index.h). After writing markers, the coordinator
// calls the marker listener for each partition, so parked read_committed fetches wake at once.
//
// Thread safety: thread-safe. Transactional appends hold AppendGuard() (shared) so that a marker
// (written under the exclusive lock) never lands between a check and its append.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/offset_store.h"
#include "core/status.h"

namespace sluice::kafka {

enum class TxnState : int {
  kEmpty = 0,
  kOngoing = 1,
  kPrepareCommit = 2,
  kPrepareAbort = 3,
  kCompleteCommit = 4,
  kCompleteAbort = 5,
};

class TransactionCoordinator {
 public:
  // Largest transaction timeout a producer may ask for (Kafka's transaction.max.timeout.ms).
  static constexpr int32_t kMaxTimeoutMs = 900000;

  explicit TransactionCoordinator(Log* log);

  // Loads the state file and completes or aborts every transaction a crash left open.
  Status Recover();

  struct InitResult {
    int16_t error = 0;
    int64_t producer_id = -1;
    int16_t epoch = -1;
    std::string message;
  };
  InitResult InitProducerId(const std::string& txn_id, int32_t timeout_ms);
  // Returns the error code for all the partitions (0 = added).
  int16_t AddPartitions(const std::string& txn_id, int64_t pid, int16_t epoch,
                        const std::vector<TopicPartition>& parts, std::string* message);
  int16_t AddOffsets(const std::string& txn_id, int64_t pid, int16_t epoch,
                     const std::string& group, std::string* message);
  int16_t StageOffsets(const std::string& txn_id, const std::string& group, int64_t pid,
                       int16_t epoch, const std::map<TopicPartition, CommittedOffset>& offsets,
                       std::string* message);
  int16_t EndTxn(const std::string& txn_id, int64_t pid, int16_t epoch, bool commit,
                 std::string* message);
  // Aborts (and fences, epoch + 1) the transactions open longer than their timeout.
  void AbortExpired(std::chrono::system_clock::time_point now);

  // For a transactional produce to `tp`: 0 if (pid, epoch) has an Ongoing transaction holding
  // `tp`, else INVALID_PRODUCER_EPOCH (fenced) or INVALID_TXN_STATE. Call under AppendGuard.
  int16_t CheckTransactionalAppend(int64_t pid, int16_t epoch, const TopicPartition& tp) const;

  std::shared_mutex& append_mutex() { return mu_; }

  // Whether a transaction not yet completed staged an offset of `group` for `tp` (TxnOffsetCommit):
  // OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for it.
  bool HasPendingOffset(const std::string& group, const TopicPartition& tp) const;

  // Called (under the coordinator's lock; it must not call back into the coordinator) after a
  // marker is appended to `tp`. Set before serving.
  void SetMarkerListener(std::function<void(const TopicPartition&)> listener) {
    marker_listener_ = std::move(listener);
  }

 private:
  struct Txn {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    TxnState state = TxnState::kEmpty;
    int32_t timeout_ms = 0;
    int64_t start_ms = 0;
    std::map<TopicPartition, int64_t> partitions;  // -> first possible offset
    std::map<std::string, std::map<TopicPartition, CommittedOffset>> offsets;  // by group
  };

  Txn* Find(const std::string& txn_id);
  // Checks pid and epoch against `t` (nullptr = unknown id); error code or 0.
  static int16_t CheckProducer(const Txn* t, int64_t pid, int16_t epoch, std::string* message);
  Status Persist();
  // Writes markers, applies offsets on commit, persists Complete*. REQUIRES: state is Prepare*.
  Status Complete(const std::string& txn_id, Txn* t);
  // Moves `t` from Ongoing to Prepare* (persisted) and completes it.
  Status EndLocked(const std::string& txn_id, Txn* t, bool commit);
  std::string Serialize() const;
  Status Parse(std::string_view text);

  Log* log_;
  std::string path_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Txn> txns_;
  std::map<int64_t, std::string> by_pid_;  // producer id -> transactional id
  std::set<std::string> open_;             // ids in Ongoing or Prepare*
  std::function<void(const TopicPartition&)> marker_listener_;
};

}  // namespace sluice::kafka
