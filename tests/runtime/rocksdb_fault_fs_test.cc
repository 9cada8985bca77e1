// RocksFaultFileSystem (tests/testing/rocksdb_fault_fs.h): what survives DropUnsyncedData, that a
// frozen file system changes nothing, the mutation gate, and a real RocksDB on top of it.
#include "tests/testing/rocksdb_fault_fs.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/runtime/runtime_test_util.h"

namespace sluice::testing {
namespace {

using rocksdb::FileOptions;
using rocksdb::IOOptions;

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RocksFaultFsTest : public ::testing::Test {
 protected:
  std::unique_ptr<rocksdb::FSWritableFile> Open(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    EXPECT_TRUE(fs_->NewWritableFile(Path(name), FileOptions(), &f, nullptr).ok());
    return f;
  }
  void Append(rocksdb::FSWritableFile* f, const std::string& data) {
    ASSERT_TRUE(f->Append(data, IOOptions(), nullptr).ok());
  }
  void SyncDir() {
    std::unique_ptr<rocksdb::FSDirectory> d;
    ASSERT_TRUE(fs_->NewDirectory(dir_.path(), IOOptions(), &d, nullptr).ok());
    ASSERT_TRUE(d->Fsync(IOOptions(), nullptr).ok());
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  std::shared_ptr<RocksFaultFileSystem> fs_ = std::make_shared<RocksFaultFileSystem>();
};

TEST_F(RocksFaultFsTest, PowerLossKeepsOnlySyncedBytesAndSyncedDirectoryEntries) {
  auto a = Open("a");
  Append(a.get(), "abc");
  ASSERT_TRUE(a->Sync(IOOptions(), nullptr).ok());
  Append(a.get(), "def");
  SyncDir();
  auto b = Open("b");  // created after the directory's fsync
  Append(b.get(), "xyz");
  ASSERT_TRUE(b->Fsync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(a->Close(IOOptions(), nullptr).ok());
  ASSERT_TRUE(b->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Contents(Path("a")), "abcdef");

  fs_->Freeze();
  ASSERT_TRUE(fs_->DropUnsyncedData().ok());
  fs_->Unfreeze();
  EXPECT_EQ(Contents(Path("a")), "abc");
  EXPECT_FALSE(std::filesystem::exists(Path("b")));
}

TEST_F(RocksFaultFsTest, PowerLossUndoesARenameNotCoveredByADirectoryFsync) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir ? "directory synced after the rename" : "no directory fsync");
    auto cur = Open("CURRENT");
    Append(cur.get(), "old");
    ASSERT_TRUE(cur->Sync(IOOptions(), nullptr).ok());
    ASSERT_TRUE(cur->Close(IOOptions(), nullptr).ok());
    SyncDir();
    auto tmp = Open("000001.dbtmp");
    Append(tmp.get(), "new");
    ASSERT_TRUE(tmp->Sync(IOOptions(), nullptr).ok());
    ASSERT_TRUE(tmp->Close(IOOptions(), nullptr).ok());
    ASSERT_TRUE(fs_->RenameFile(Path("000001.dbtmp"), Path("CURRENT"), IOOptions(), nullptr).ok());
    if (sync_dir) SyncDir();
    ASSERT_TRUE(fs_->DropUnsyncedData().ok());
    EXPECT_EQ(Contents(Path("CURRENT")), sync_dir ? "new" : "old");
    EXPECT_FALSE(std::filesystem::exists(Path("000001.dbtmp")));
  }
}

TEST_F(RocksFaultFsTest, FrozenOrGatedOperationsFailAndChangeNothing) {
  auto a = Open("a");
  Append(a.get(), "abc");
  fs_->Freeze();
  EXPECT_TRUE(a->Append("def", IOOptions(), nullptr).IsIOError());
  EXPECT_TRUE(a->Sync(IOOptions(), nullptr).IsIOError());
  EXPECT_TRUE(fs_->DeleteFile(Path("a"), IOOptions(), nullptr).IsIOError());
  EXPECT_EQ(Contents(Path("a")), "abc");
  fs_->Unfreeze();

  // The gate allows one more operation, then the power is off for good.
  int allowed = 1;
  fs_->SetMutationGate([&] { return allowed-- > 0; });
  Append(a.get(), "d");
  EXPECT_TRUE(a->Append("e", IOOptions(), nullptr).IsIOError());
  EXPECT_TRUE(fs_->frozen());
  EXPECT_EQ(Contents(Path("a")), "abcd");
}

TEST_F(RocksFaultFsTest, RocksDbKeepsSyncedWritesAndLosesUnsyncedOnes) {
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs_);
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.env = env.get();
  const std::string db_dir = Path("db");
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(opts, db_dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions synced;
    synced.sync = true;
    ASSERT_TRUE(db->Put(synced, "durable", "1").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "volatile", "2").ok());
    fs_->Freeze();  // the power goes off; closing writes nothing more
    db->Close().PermitUncheckedError();
  }
  ASSERT_TRUE(fs_->DropUnsyncedData().ok());
  fs_->Unfreeze();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(opts, db_dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string v;
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "durable", &v).ok());
  EXPECT_EQ(v, "1");
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "volatile", &v).IsNotFound());
}

}  // namespace
}  // namespace sluice::testing
