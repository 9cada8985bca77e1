// Changelogs (runtime/changelog.h): the records a commit's WriteBatch yields, their outbox in the
// state, and the restore of a task from its changelog partitions (over the embedded client).
#include "runtime/changelog.h"

#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include <map>

#include "core/varint.h"
#include "runtime/task_store.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

std::string Key(int32_t partition, std::string_view key) {
  std::string k(kTaskPrefixBytes, '\0');
  varint::PutBE32(k.data(), static_cast<uint32_t>(partition));
  k.append(key);
  return k;
}

// A task's keys (prefix stripped) and values in column family `cf`.
std::map<std::string, std::string> TaskKeys(StateDb& db, rocksdb::ColumnFamilyHandle* cf,
                                            int32_t partition) {
  std::map<std::string, std::string> out;
  const std::string prefix = Key(partition, "");
  EXPECT_TRUE(db.ScanPrefix(cf, prefix, [&](std::string_view k, std::string_view v) {
                  out[std::string(k.substr(prefix.size()))] = std::string(v);
                }).ok());
  return out;
}

std::string Describe(const ChangelogRecord& r) {
  return std::to_string(r.store) + "/" + std::to_string(r.partition) + "/" + r.key + "=" +
         r.value.value_or("<tombstone>");
}

std::vector<std::string> Describe(const std::vector<ChangelogRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(Describe(r));
  return out;
}

class ChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = StateDb::Open(dir_.path() + "/db", {"a", "b", "unlogged"});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(db).value();
    stores_ = {{db_->store(0), "app-a-changelog", 2}, {db_->store(1), "app-b-changelog", 2}};
  }

  testing::TempDir dir_;
  std::unique_ptr<StateDb> db_;
  std::vector<StoreChangelog> stores_;
};

TEST_F(ChangelogTest, RecordsOfABatchArePutsAndDeletesOfTheStoresWithoutThePrefix) {
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put(db_->store(0), Key(1, "apple"), "3").ok());
  ASSERT_TRUE(wb.Put(db_->meta(), "ckpt/0/1", "meta is not a store").ok());
  ASSERT_TRUE(wb.Delete(db_->store(1), Key(0, "gone")).ok());
  ASSERT_TRUE(wb.Put(db_->store(2), Key(0, "x"), "a store without a changelog").ok());
  ASSERT_TRUE(wb.Put(db_->store(0), Key(0, ""), "empty key").ok());
  ASSERT_TRUE(wb.SingleDelete(db_->store(0), Key(1, "pear")).ok());
  auto recs = ChangelogRecordsOf(wb, stores_);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(Describe(*recs), (std::vector<std::string>{"0/1/apple=3", "1/0/gone=<tombstone>",
                                                       "0/0/=empty key", "0/1/pear=<tombstone>"}));
}

TEST_F(ChangelogTest, RecordsOfABatchRefuseWhatAChangelogCannotCarry) {
  {
    rocksdb::WriteBatch wb;
    ASSERT_TRUE(wb.Put(db_->store(0), Key(2, "k"), "v").ok());  // the stage has 2 partitions
    auto recs = ChangelogRecordsOf(wb, stores_);
    ASSERT_FALSE(recs.ok());
    EXPECT_EQ(recs.status().code(), StatusCode::kCorruption) << recs.status();
  }
  {
    rocksdb::WriteBatch wb;
    ASSERT_TRUE(wb.Put(db_->store(1), "ab", "v").ok());  // shorter than the prefix
    EXPECT_EQ(ChangelogRecordsOf(wb, stores_).status().code(), StatusCode::kCorruption);
  }
  {
    rocksdb::WriteBatch wb;
    ASSERT_TRUE(wb.DeleteRange(db_->store(0), Key(0, ""), Key(1, "")).ok());
    auto recs = ChangelogRecordsOf(wb, stores_);
    EXPECT_EQ(recs.status().code(), StatusCode::kInvalidArgument) << recs.status();
  }
  {
    rocksdb::WriteBatch wb;  // a DeleteRange elsewhere is none of the changelog's business
    ASSERT_TRUE(wb.DeleteRange(db_->store(2), Key(0, ""), Key(1, "")).ok());
    auto recs = ChangelogRecordsOf(wb, stores_);
    ASSERT_TRUE(recs.ok()) << recs.status();
    EXPECT_TRUE(recs->empty());
  }
}

// Restore over the embedded client: the changelog's last value per key, tombstones deleting,
// the task's earlier keys gone, other tasks' keys untouched, and the same again on a rerun.
TEST_F(ChangelogTest, RestoreRebuildsExactlyTheTasksKeysAndIsRepeatable) {
  client::ClientOptions co;
  co.data_dir = dir_.path() + "/log";
  auto c = client::OpenLogClient(co);
  ASSERT_TRUE(c.ok()) << c.status();
  for (const auto& s : stores_) {
    client::TopicSpec spec;
    spec.partitions = 2;
    ASSERT_TRUE((*c)->CreateTopic(s.topic, spec).ok());
  }
  {
    auto p = (*c)->NewProducer({});
    ASSERT_TRUE(p.ok()) << p.status();
    auto send = [&](const std::string& topic, int32_t part, std::string k,
                    std::optional<std::string> v) {
      ASSERT_TRUE(
          (*p)->Send(topic, Record{.key = std::move(k), .value = std::move(v)}, PartitionId(part))
              .ok());
    };
    send("app-a-changelog", 1, "k1", "v1");
    send("app-a-changelog", 1, "k2", "v2");
    send("app-a-changelog", 1, "k1", std::nullopt);  // tombstone
    send("app-a-changelog", 1, "k3", "v3");
    send("app-a-changelog", 1, "k2", "v2b");
    send("app-a-changelog", 0, "other", "task 0's");
    send("app-b-changelog", 1, "b1", "w1");
    ASSERT_TRUE((*p)->Flush().ok());
  }
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put(db_->store(0), Key(1, "stale"), "x").ok());
  ASSERT_TRUE(wb.Put(db_->store(0), Key(1, "k1"), "stale too").ok());
  ASSERT_TRUE(wb.Put(db_->store(0), Key(0, "keep"), "task 0 stays").ok());
  ASSERT_TRUE(wb.Put(db_->store(1), Key(1, "stale-b"), "y").ok());
  ASSERT_TRUE(db_->Write(&wb, true).ok());

  for (int run = 0; run < 2; ++run) {
    RestoreOptions o;
    o.batch_bytes = 1;  // a write per record: exercises the batching
    auto st = RestoreTask(**c, *db_, stores_, 1, o);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->records, 6);
    EXPECT_EQ(TaskKeys(*db_, db_->store(0), 1),
              (std::map<std::string, std::string>{{"k2", "v2b"}, {"k3", "v3"}}));
    EXPECT_EQ(TaskKeys(*db_, db_->store(1), 1), (std::map<std::string, std::string>{{"b1", "w1"}}));
    EXPECT_EQ(TaskKeys(*db_, db_->store(0), 0),
              (std::map<std::string, std::string>{{"keep", "task 0 stays"}}));
  }
  auto any = AnyChangelogRecord(**c, stores_);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_TRUE(*any);
  client::TopicSpec spec;
  spec.partitions = 2;
  ASSERT_TRUE((*c)->CreateTopic("app-empty-changelog", spec).ok());
  auto none = AnyChangelogRecord(**c, {{db_->store(2), "app-empty-changelog", 2}});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  ASSERT_TRUE((*c)->Close().ok());
}

}  // namespace
}  // namespace sluice
