#include "runtime/changelog.h"

#include <fmt/format.h>

#include <functional>
#include <thread>
#include <utility>

#include "core/varint.h"
#include "runtime/failpoint.h"

namespace sluice {
namespace {

std::string TaskPrefix(int32_t partition) {
  std::string p(kTaskPrefixBytes, '\0');
  varint::PutBE32(p.data(), static_cast<uint32_t>(partition));
  return p;
}

int32_t PartitionOf(std::string_view store_key) {
  return static_cast<int32_t>(varint::GetBE32(store_key.data()));
}

// Collects the Puts and Deletes of the store column families.
class ChangeCollector : public rocksdb::WriteBatch::Handler {
 public:
  explicit ChangeCollector(const std::vector<StoreChangelog>& stores) : stores_(stores) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    return Add(cf, key, std::string(value.data(), value.size()));
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    return Add(cf, key, std::nullopt);
  }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    return Add(cf, key, std::nullopt);
  }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
    return Refuse(cf, "DeleteRange");
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Refuse(cf, "Merge");
  }

  std::vector<ChangelogRecord> records;
  Status error;

 private:
  int StoreOf(uint32_t cf) const {
    for (size_t i = 0; i < stores_.size(); ++i) {
      if (stores_[i].cf != nullptr && stores_[i].cf->GetID() == cf) return static_cast<int>(i);
    }
    return -1;
  }
  rocksdb::Status Add(uint32_t cf, const rocksdb::Slice& key, std::optional<std::string> value) {
    const int s = StoreOf(cf);
    if (s < 0) return rocksdb::Status::OK();
    const StoreChangelog& store = stores_[s];
    if (key.size() < kTaskPrefixBytes) {
      error = Corruption(
          "a change of store column family '{}' has a key of {} bytes, shorter "
          "than the task prefix: the state is damaged",
          store.cf->GetName(), key.size());
      return rocksdb::Status::Aborted();
    }
    const std::string_view k(key.data(), key.size());
    const int32_t p = PartitionOf(k);
    if (p < 0 || p >= store.partitions) {
      error = Corruption(
          "a change of store column family '{}' belongs to task partition {}, but the store's "
          "stage has {} partitions: the state is not this topology's",
          store.cf->GetName(), p, store.partitions);
      return rocksdb::Status::Aborted();
    }
    records.push_back({s, p, std::string(k.substr(kTaskPrefixBytes)), std::move(value)});
    return rocksdb::Status::OK();
  }
  rocksdb::Status Refuse(uint32_t cf, std::string_view what) {
    const int s = StoreOf(cf);
    if (s < 0) return rocksdb::Status::OK();
    error = InvalidArgument(
        "a commit holds a {} in store column family '{}', which a changelog cannot carry; a "
        "store changes only by Put and Delete",
        what, stores_[s].cf->GetName());
    return rocksdb::Status::Aborted();
  }

  const std::vector<StoreChangelog>& stores_;
};

// Reads partition `tp` with read_committed from its start to its end as of the call, handing
// each record to `fn` until it returns false.
Status ReadToEnd(client::LogClient& client, const TopicPartition& tp, const RestoreOptions& options,
                 const std::function<Result<bool>(const client::ConsumedRecord&)>& fn) {
  // A Kafka cluster may not have elected the leaders of a topic it has just created: ask again
  // while it says so.
  auto offsets = [&](client::OffsetSpec spec) -> Result<Offset> {
    const auto give_up = std::chrono::steady_clock::now() + options.stall_timeout;
    while (true) {
      auto at = client.ListOffsets({tp}, spec);
      if (at.ok()) return at->at(tp);
      const StatusCode code = at.status().code();
      if ((code != StatusCode::kUnavailable && code != StatusCode::kNotFound) ||
          std::chrono::steady_clock::now() > give_up) {
        return at.status();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  SLUICE_ASSIGN_OR_RETURN(const Offset start, offsets(client::OffsetSpec::Earliest()));
  SLUICE_ASSIGN_OR_RETURN(const Offset end, offsets(client::OffsetSpec::Latest()));
  if (start >= end) return Status::Ok();
  client::ConsumerConfig cc;
  cc.isolation = Isolation::kReadCommitted;
  SLUICE_ASSIGN_OR_RETURN(auto consumer, client.NewConsumer(cc));
  SLUICE_RETURN_IF_ERROR(consumer->Assign({tp}));
  SLUICE_RETURN_IF_ERROR(consumer->Seek(tp, start));
  Offset at = start;
  auto progress = std::chrono::steady_clock::now();
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(Offset pos, consumer->Position(tp));
    if (pos >= end) return Status::Ok();
    const auto now = std::chrono::steady_clock::now();
    if (pos > at) {
      at = pos;
      progress = now;
    } else if (now - progress > options.stall_timeout) {
      return Unavailable(
          "reading changelog {}-{}: no progress for {} ms at offset {} of end {}; is the broker "
          "reachable?",
          tp.topic, tp.partition.value(), options.stall_timeout.count(), pos.value(), end.value());
    }
    if (options.stop != nullptr && options.stop->load()) {
      return Aborted("reading changelog {}-{}: the job was stopped", tp.topic,
                     tp.partition.value());
    }
    SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords recs,
                            consumer->Poll(std::chrono::milliseconds(100)));
    for (const client::ConsumedRecord& r : recs) {
      if (r.offset >= end) return Status::Ok();  // written after the restore began
      SLUICE_ASSIGN_OR_RETURN(bool more, fn(r));
      if (!more) return Status::Ok();
    }
  }
}

}  // namespace

std::string ChangelogTopic(std::string_view app, std::string_view store) {
  return fmt::format("{}-{}-changelog", app, store);
}

Result<std::vector<ChangelogRecord>> ChangelogRecordsOf(const rocksdb::WriteBatch& batch,
                                                        const std::vector<StoreChangelog>& stores) {
  ChangeCollector c(stores);
  rocksdb::Status s = batch.Iterate(&c);
  if (!c.error.ok()) return c.error;
  SLUICE_RETURN_IF_ERROR(FromRocks(s, "reading the changes of a commit"));
  return std::move(c.records);
}

Status EnsureChangelogTopics(client::LogClient& admin, const std::vector<StoreChangelog>& stores) {
  for (const StoreChangelog& s : stores) {
    if (s.partitions <= 0) continue;  // a store no stage uses has no changes to log
    Result<int32_t> n = admin.PartitionCount(s.topic);
    if (n.ok()) {
      if (*n != s.partitions) {
        return InvalidArgument(
            "changelog topic '{}' has {} partitions but its store's stage has {} tasks; it was "
            "made for another topology or input partition count. Delete the topic and the "
            "job's state and group offsets to start over, or run with the partition count it "
            "was made for",
            s.topic, *n, s.partitions);
      }
      continue;
    }
    if (n.status().code() != StatusCode::kNotFound) return n.status();
    client::TopicSpec spec;
    spec.partitions = s.partitions;
    spec.configs["cleanup.policy"] = "compact";
    Status created = admin.CreateTopic(s.topic, spec);
    if (!created.ok() && created.code() != StatusCode::kAlreadyExists) {
      return created.WithContext(fmt::format("creating changelog topic '{}'", s.topic));
    }
    // A Kafka cluster's brokers learn of a new topic a moment after CreateTopics returns.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
      Result<int32_t> seen = admin.PartitionCount(s.topic);
      if (seen.ok() || seen.status().code() != StatusCode::kNotFound) break;
      if (std::chrono::steady_clock::now() > give_up) return seen.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return Status::Ok();
}

Result<RestoreStats> RestoreTask(client::LogClient& client, StateDb& db,
                                 const std::vector<StoreChangelog>& stores, int32_t partition,
                                 const RestoreOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  RestoreStats stats;
  const std::string prefix = TaskPrefix(partition);
  {
    // The task's keys go first, so the result is the changelog's content and nothing else,
    // however far an earlier attempt got. Point deletes, not DeleteRange: the stores' memtables
    // take insert hints by task prefix, which RocksDB does not keep apart for range deletions.
    rocksdb::WriteBatch wb;
    Status written;
    for (const StoreChangelog& s : stores) {
      SLUICE_RETURN_IF_ERROR(db.ScanPrefix(s.cf, prefix, [&](std::string_view k, std::string_view) {
        wb.Delete(s.cf, rocksdb::Slice(k.data(), k.size())).PermitUncheckedError();
        if (wb.GetDataSize() >= options.batch_bytes && written.ok()) {
          written = db.Write(&wb, /*sync=*/false);
          wb.Clear();
        }
      }));
      SLUICE_RETURN_IF_ERROR(written.WithContext("restore: clearing a task"));
    }
    SLUICE_RETURN_IF_ERROR(db.Write(&wb, /*sync=*/true).WithContext("restore: clearing a task"));
  }
  for (const StoreChangelog& s : stores) {
    rocksdb::WriteBatch wb;
    std::string key;
    auto flush = [&]() -> Status {
      if (wb.Count() == 0) return Status::Ok();
      SLUICE_RETURN_IF_ERROR(db.Write(&wb, /*sync=*/false).WithContext("restore"));
      wb.Clear();
      FailPoint("during_restore");
      return Status::Ok();
    };
    const TopicPartition tp{s.topic, PartitionId(partition)};
    SLUICE_RETURN_IF_ERROR(
        ReadToEnd(client, tp, options, [&](const client::ConsumedRecord& r) -> Result<bool> {
          if (!r.key) {
            return Corruption("changelog {}-{} holds a record without a key at offset {}", s.topic,
                              partition, r.offset.value());
          }
          key.assign(prefix);
          key.append(*r.key);
          rocksdb::Status st = r.value ? wb.Put(s.cf, key, *r.value) : wb.Delete(s.cf, key);
          SLUICE_RETURN_IF_ERROR(FromRocks(st, "restore"));
          ++stats.records;
          if (wb.GetDataSize() >= options.batch_bytes) SLUICE_RETURN_IF_ERROR(flush());
          return true;
        }).WithContext(fmt::format("restoring task partition {} of '{}'", partition, s.topic)));
    SLUICE_RETURN_IF_ERROR(flush());
  }
  SLUICE_RETURN_IF_ERROR(db.SyncWal());
  stats.took = std::chrono::steady_clock::now() - t0;
  return stats;
}

Result<bool> AnyChangelogRecord(client::LogClient& client,
                                const std::vector<StoreChangelog>& stores,
                                const RestoreOptions& options) {
  bool any = false;
  for (const StoreChangelog& s : stores) {
    for (int32_t p = 0; p < s.partitions && !any; ++p) {
      SLUICE_RETURN_IF_ERROR(ReadToEnd(client, {s.topic, PartitionId(p)}, options,
                                       [&](const client::ConsumedRecord&) -> Result<bool> {
                                         any = true;
                                         return false;
                                       }));
    }
  }
  return any;
}

}  // namespace sluice
