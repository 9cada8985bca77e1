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
// - The broker job keeps a commit's records in the task's own outbox (runtime/broker_job.cc), so
//   a re-publication after a crash sends them again inside the commit's transaction.
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

}  // namespace sluice
