// Changelogs of a job running over a broker (runtime/README.md "Changelogs and restore").
//
// Each store of the job has a compacted topic "<app>-<store>-changelog" with one partition per
// task of the store's stage. Partition p holds the changes of task p's keys (the key without the
// task's 4-byte prefix; a deletion is a tombstone), written inside the Kafka transaction that
// commits the input offsets they belong to, so a read_committed reader of the changelog up to its
// end always finds the state of the group's last committed transaction.
//
// - ChangelogRecordsOf derives a commit's changelog records from the commit's RocksDB WriteBatch:
//   the Puts and Deletes in the stores' column families (no operator or TaskStore code knows).
// - ChangelogWriter keeps the records of the last commit in the state (column family
//   __sluice_meta, "changelog/outbox/*", in the commit's own WriteBatch) so that a re-publication
//   after a crash sends them again, and sends them inside the commit's transaction.
// - RestoreTask rebuilds one task's stores from their changelog partitions.
//
// Thread safety: none; used by the job's driver thread.
#pragma once

#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/log_client.h"
#include "core/status.h"
#include "runtime/state_db.h"

namespace sluice {

// "<app>-<store>-changelog".
std::string ChangelogTopic(std::string_view app, std::string_view store);

// One store's changelog: the column family its changes are read from, its topic, and the number
// of partitions (tasks) of the stage that owns the store.
struct StoreChangelog {
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string topic;
  int32_t partitions = 0;
};

// The change of one key: for stores[store].topic, partition `partition` (the task's), value
// nullopt for a deletion (a tombstone in the topic).
struct ChangelogRecord {
  int store = 0;
  int32_t partition = 0;
  std::string key;
  std::optional<std::string> value;
};

// The changelog records of `batch`: its Puts and Deletes in the column families of `stores`, in
// batch order, with the task prefix stripped into ChangelogRecord::partition. Other column
// families are ignored. kCorruption for a store key shorter than the prefix or of a partition the
// store does not have, kInvalidArgument for an operation a changelog cannot carry (Merge,
// DeleteRange) in a store column family.
Result<std::vector<ChangelogRecord>> ChangelogRecordsOf(const rocksdb::WriteBatch& batch,
                                                        const std::vector<StoreChangelog>& stores);

// Creates each missing changelog topic (cleanup.policy=compact, `partitions` partitions).
// kInvalidArgument naming the topic, both counts and what to do if one exists with another
// partition count.
Status EnsureChangelogTopics(client::LogClient& admin, const std::vector<StoreChangelog>& stores);

struct RestoreStats {
  int64_t records = 0;  // changelog records applied (tombstones included)
  std::chrono::nanoseconds took{0};
};

struct RestoreOptions {
  // A WriteBatch of restored records is written once it holds this many bytes. Default 4 MiB.
  size_t batch_bytes = 4 << 20;
  // Give up (kUnavailable) when the read makes no progress for this long. Default 60 s.
  std::chrono::milliseconds stall_timeout{60000};
  // Set by another thread to abandon the restore (kAborted). Default none.
  const std::atomic<bool>* stop = nullptr;
};

// Rebuilds task `partition`'s keys in every store of `stores` (the task's stage's stores) from
// partition `partition` of their changelog topics: deletes the task's key range in each store
// (one synced write), then reads the partition with a read_committed consumer of `client` from
// its beginning to its end as of now (the last stable offset) and applies each record (a
// tombstone deletes) in WriteBatches of about options.batch_bytes, written without sync; the WAL
// is synced at the end. Rerunning it after a crash at any point gives the same state. Failpoint
// "during_restore" after each batch written. The caller must drop any cache of these keys
// (TaskStore::Discard + Init).
Result<RestoreStats> RestoreTask(client::LogClient& client, StateDb& db,
                                 const std::vector<StoreChangelog>& stores, int32_t partition,
                                 const RestoreOptions& options = {});

// Whether any of `stores`' changelog partitions holds a committed record (read_committed, up
// to the end as of now). A job starting with neither state nor group offsets uses it to refuse a
// changelog left by an earlier run of the same application id.
Result<bool> AnyChangelogRecord(client::LogClient& client,
                                const std::vector<StoreChangelog>& stores,
                                const RestoreOptions& options = {});

// The changelog side of a commit (runtime/README.md "Changelogs and restore"). State keys
// (column family __sluice_meta), under `key_prefix` ("changelog/" for the job's one writer; a
// writer per task needs a prefix per task):
//   <prefix>outbox/<16-digit chunk>  'L', count, count x (store index, partition, key, value or
//                                    length -1 for a tombstone): the changelog records of the
//                                    last commit, in send order
//   <prefix>complete                 'Y': the changelogs hold every change of this state
class ChangelogWriter {
 public:
  ChangelogWriter(StateDb* db, std::vector<StoreChangelog> stores,
                  std::string key_prefix = "changelog/");

  const std::vector<StoreChangelog>& stores() const { return stores_; }

  // At recovery: reads the last commit's changelog records from the state (sent again if that
  // commit's transaction is re-published) and whether the changelogs are complete. A state with
  // commits but without the completeness mark was written before changelogs existed: its next
  // commit sends every key of every store first (ALL of the state), then marks it complete.
  // kCorruption for a damaged entry.
  Status Load(bool state_has_commits);
  // Whether the changelogs hold every change of the state (a restore from them is exact).
  bool complete() const { return complete_; }

  // In a commit, after the stores moved their changes into `wb`: derives this commit's records
  // from `wb` (ChangelogRecordsOf), and adds to `wb` the deletion of the last commit's outbox
  // and the outbox of this one. They are this commit's records from now on (Send).
  Status AddToCommit(rocksdb::WriteBatch* wb);
  // Inside the commit's open transaction: sends the records of the last AddToCommit (or of the
  // commit found by Load).
  Status Send(client::LogProducer& producer) const;
  // After a restore replaced the state: forgets the loaded records (they belong to a commit the
  // group does not have) and adds the deletion of their outbox and the completeness mark to `wb`.
  void Reset(rocksdb::WriteBatch* wb);

  size_t pending() const { return records_.size(); }

 private:
  StateDb* db_;
  std::vector<StoreChangelog> stores_;
  std::string outbox_prefix_;
  std::string complete_key_;
  std::vector<ChangelogRecord> records_;  // of the last commit
  std::vector<std::string> keys_;         // its outbox chunks in the state
  bool complete_ = true;
  bool mark_written_ = false;
};

}  // namespace sluice
