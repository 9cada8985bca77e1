// The POSIX FileSystem and the fault-injecting one the durability tests rely on: if
// FaultInjectionFileSystem did not really drop unsynced data, the power-loss tests would prove
// nothing, so its behaviour is pinned down here.
#include <gtest/gtest.h>

#include "core/file_system.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::FaultInjectionFileSystem;
using testing::ReadFileOrDie;
using testing::TempDir;

TEST(FileSystemTest, JoinPathAndDirName) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "/b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(DirName("/x/y/z.log"), "/x/y");
  EXPECT_EQ(DirName("z.log"), ".");
  EXPECT_EQ(DirName("/z"), "/");
  EXPECT_EQ(DirName("a/b/"), "a");
}

TEST(FileSystemTest, WritesAppendsReadsAndReplacesFiles) {
  TempDir tmp;
  FileSystem* fs = FileSystem::Default();
  std::string dir = tmp.Sub("x/y/z");
  ASSERT_TRUE(fs->CreateDirs(dir).ok());
  ASSERT_TRUE(fs->CreateDirs(dir).ok());  // exists: fine
  std::string path = JoinPath(dir, "f");
  {
    auto f = fs->OpenWritable(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("hello ").ok());
    ASSERT_TRUE((*f)->Append("world").ok());
    EXPECT_EQ((*f)->size(), 11u);
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  {
    auto f = fs->OpenWritable(path);  // appends at the end
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->size(), 11u);
    ASSERT_TRUE((*f)->Append("!").ok());
    ASSERT_TRUE((*f)->Truncate(5).ok());
    ASSERT_TRUE((*f)->Append("?").ok());
  }
  EXPECT_EQ(ReadFileOrDie(path), "hello?");
  auto r = fs->OpenReadable(path);
  ASSERT_TRUE(r.ok());
  char buf[16];
  auto got = (*r)->Read(3, 16, buf);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "lo?");  // short at EOF
  ASSERT_TRUE(fs->WriteFileAtomic(path, "replaced").ok());
  EXPECT_EQ(ReadFileOrDie(path), "replaced");
  EXPECT_FALSE(fs->Exists(path + ".tmp"));
  auto names = fs->ListDir(dir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"f"});
  auto missing = fs->OpenReadable(JoinPath(dir, "nope"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  ASSERT_TRUE(fs->RemoveAll(tmp.Sub("x")).ok());
  EXPECT_FALSE(fs->Exists(dir));
}

class FaultFsTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, std::string_view data, bool sync) {
    auto f = fs_.OpenWritable(tmp_.Sub(name));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    if (sync) {
      ASSERT_TRUE((*f)->Sync().ok());
    }
  }
  TempDir tmp_{true};
  FaultInjectionFileSystem fs_;
};

TEST_F(FaultFsTest, PowerLossKeepsOnlySyncedBytesAndSyncedDirectoryEntries) {
  Write("old", "synced", true);
  ASSERT_TRUE(fs_.SyncDir(tmp_.path()).ok());
  Write("old", "+unsynced", false);
  Write("new-synced-data", "data", true);  // data synced, directory entry not
  Write("new-unsynced", "x", false);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("old")), "synced");
  EXPECT_FALSE(FileSystem::Default()->Exists(tmp_.Sub("new-synced-data")));
  EXPECT_FALSE(FileSystem::Default()->Exists(tmp_.Sub("new-unsynced")));
}

TEST_F(FaultFsTest, PowerLossUndoesARenameNotCoveredByADirectorySync) {
  ASSERT_TRUE(fs_.WriteFileAtomic(tmp_.Sub("cfg"), "v1").ok());
  Write("cfg.tmp", "v2", true);
  ASSERT_TRUE(fs_.Rename(tmp_.Sub("cfg.tmp"), tmp_.Sub("cfg")).ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("cfg")), "v2");
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("cfg")), "v1");
  // Once the directory is synced the rename sticks.
  ASSERT_TRUE(fs_.WriteFileAtomic(tmp_.Sub("cfg"), "v3").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("cfg")), "v3");
}

TEST_F(FaultFsTest, FailsTheNthOperationOnceOrPersistently) {
  fs_.FailNth(2, {.error = ENOSPC, .ops = testing::kOpWrite});
  auto f = fs_.OpenWritable(tmp_.Sub("f"));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("1").ok());
  Status s = (*f)->Append("2");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("injected"), std::string::npos);
  EXPECT_TRUE((*f)->Append("3").ok());
  fs_.FailNth(1, {.error = EIO, .ops = testing::kOpSync, .persistent = true});
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIOError);
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIOError);
  EXPECT_TRUE((*f)->Append("4").ok());  // writes are not in the mask
  EXPECT_EQ(fs_.faults_injected(), 3);
  fs_.ClearFaults();
  EXPECT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("f")), "134");
}

TEST_F(FaultFsTest, PartialWritesAndFreeze) {
  fs_.FailNth(1, {.error = ENOSPC, .ops = testing::kOpWrite, .partial_write = true});
  auto f = fs_.OpenWritable(tmp_.Sub("f"));
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE((*f)->Append("abcdef").ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("f")), "abc");
  fs_.ClearFaults();
  fs_.Freeze();
  EXPECT_FALSE((*f)->Append("x").ok());
  EXPECT_FALSE(fs_.RemoveFile(tmp_.Sub("f")).ok());
  EXPECT_FALSE(fs_.WriteFileAtomic(tmp_.Sub("g"), "y").ok());
  EXPECT_EQ(ReadFileOrDie(tmp_.Sub("f")), "abc");  // reads still work
  fs_.Unfreeze();
  EXPECT_TRUE((*f)->Append("x").ok());
}

TEST_F(FaultFsTest, RandomFaultsAreReproducibleFromTheSeed) {
  auto run = [&](uint64_t seed) {
    FaultInjectionFileSystem fs;
    fs.FailOneIn(3, seed, {.error = EIO, .ops = testing::kOpWrite});
    auto f = fs.OpenWritable(tmp_.Sub("r" + std::to_string(seed)));
    SLUICE_CHECK(f.ok());
    std::string pattern;
    for (int i = 0; i < 60; ++i) pattern += (*f)->Append("x").ok() ? '.' : 'F';
    return pattern;
  };
  std::string a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a.find('F'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

}  // namespace
}  // namespace sluice
