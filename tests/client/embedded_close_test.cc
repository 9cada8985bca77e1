// LogClient::Close of the embedded client reports the log's final flush and fsync: an error there
// means records the caller was told about may not be durable, so it must reach the caller (the
// CLI's writers exit 1 on it) rather than vanish in a destructor.
#include <gtest/gtest.h>

#include <string>

#include "client/log_client.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice::client {
namespace {

// Opens an embedded client on `dir` over `fs`, creates "t" and writes ten records that are
// acknowledged when the log has them, not when they are fsynced (so Close has data to sync).
std::unique_ptr<LogClient> OpenAndWrite(const std::string& dir, FileSystem* fs) {
  auto client = OpenLogClient({.data_dir = dir, .fs = fs});
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return nullptr;
  EXPECT_TRUE((*client)->CreateTopic("t", {.partitions = 1}).ok());
  auto producer = (*client)->NewProducer({.acks = Acks::kLeader});
  EXPECT_TRUE(producer.ok()) << producer.status();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE((*producer)->Send("t", Record{.value = "v" + std::to_string(i)}).ok());
  }
  EXPECT_TRUE((*producer)->Flush().ok());
  return std::move(client).value();
}

TEST(EmbeddedCloseTest, AFailedFinalFsyncIsReturnedByClose) {
  testing::TempDir tmp(/*in_memory=*/true);
  testing::FaultInjectionFileSystem fs;
  auto client = OpenAndWrite(tmp.Sub("d"), &fs);
  ASSERT_NE(client, nullptr);
  fs.FailNth(1, {.error = EIO, .ops = testing::kOpSync | testing::kOpSyncDir, .persistent = true});
  Status closed = client->Close();
  EXPECT_FALSE(closed.ok()) << "Close swallowed the failed fsync";
  EXPECT_NE(closed.message().find("Input/output error"), std::string::npos) << closed;
}

TEST(EmbeddedCloseTest, ACleanCloseIsOkAndTheRecordsAreThere) {
  testing::TempDir tmp(/*in_memory=*/true);
  testing::FaultInjectionFileSystem fs;
  auto client = OpenAndWrite(tmp.Sub("d"), &fs);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Close().ok());
  client.reset();
  auto reopened = OpenLogClient({.data_dir = tmp.Sub("d"), .fs = &fs});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto d = (*reopened)->DescribeTopic("t");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->partitions.at(0).end_offset.value(), 10);
}

}  // namespace
}  // namespace sluice::client
