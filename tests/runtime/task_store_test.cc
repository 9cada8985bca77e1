// TaskStore: the per-task cache over a RocksDB column family, and what its commits write.
#include "runtime/task_store.h"

#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

std::string Value(TaskStore& s, std::string_view key) {
  std::string v;
  bool found = false;
  EXPECT_TRUE(s.Get(key, &v, &found).ok());
  return found ? v : "<absent>";
}

TEST(TaskStoreTest, CommitsWriteOnlyWhatRocksDbMustChange) {
  testing::TempDir dir;
  auto db = StateDb::Open(dir.path() + "/db", {"s"});
  ASSERT_TRUE(db.ok()) << db.status();
  {
    TaskStore st(db->get(), (*db)->store(0), 3);
    ASSERT_TRUE(st.Init().ok());
    EXPECT_EQ(Value(st, "a"), "<absent>");
    ASSERT_TRUE(st.Put("a", "1").ok());
    ASSERT_TRUE(st.Put("short-lived", "x").ok());
    ASSERT_TRUE(st.Delete("short-lived").ok());  // created and deleted between two commits
    rocksdb::WriteBatch wb;
    st.MoveChangesTo(&wb);
    EXPECT_EQ(wb.Count(), 1u);  // Put a; nothing for a key RocksDB never held
    ASSERT_TRUE((*db)->Write(&wb, true).ok());
    ASSERT_TRUE(st.Delete("a").ok());
    rocksdb::WriteBatch wb2;
    st.MoveChangesTo(&wb2);
    EXPECT_EQ(wb2.Count(), 1u);  // a was committed, so its delete must reach RocksDB
    ASSERT_TRUE((*db)->Write(&wb2, true).ok());
    ASSERT_TRUE(st.Put("b", "2").ok());
    rocksdb::WriteBatch wb3;
    st.MoveChangesTo(&wb3);
    ASSERT_TRUE((*db)->Write(&wb3, true).ok());
  }
  // A new task over the same state: not empty, so misses read RocksDB.
  TaskStore again(db->get(), (*db)->store(0), 3);
  ASSERT_TRUE(again.Init().ok());
  EXPECT_EQ(Value(again, "a"), "<absent>");
  EXPECT_EQ(Value(again, "b"), "2");
  ASSERT_TRUE(again.Delete("b").ok());
  rocksdb::WriteBatch wb;
  again.MoveChangesTo(&wb);
  EXPECT_EQ(wb.Count(), 1u);
  // Another partition of the same store is still empty and sees none of partition 3's keys.
  TaskStore other(db->get(), (*db)->store(0), 4);
  ASSERT_TRUE(other.Init().ok());
  EXPECT_EQ(Value(other, "b"), "<absent>");
}

}  // namespace
}  // namespace sluice
