// The library example of README.md, kept compiling and working. If you change one, change both.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/consumer.h"
#include "core/log.h"
#include "core/producer.h"

namespace sluice {
namespace {

Status Example(const std::string& dir, std::vector<std::string>* printed) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open({.data_dir = dir}));
  SLUICE_RETURN_IF_ERROR(log->CreateTopic("clicks", TopicConfig{.partitions = 4}));

  SLUICE_ASSIGN_OR_RETURN(auto producer, Producer::Create(log.get(), {.acks = Acks::kAll}));
  SLUICE_RETURN_IF_ERROR(producer->Send("clicks", Record{.key = "alice", .value = "/cart"}));
  SLUICE_RETURN_IF_ERROR(producer->Flush());  // durable (fsynced) once this returns OK

  SLUICE_ASSIGN_OR_RETURN(auto consumer, Consumer::Create(log.get(), {.group_id = "dashboard"}));
  SLUICE_RETURN_IF_ERROR(consumer->Subscribe({"clicks"}));
  SLUICE_ASSIGN_OR_RETURN(ConsumerRecords records, consumer->Poll(std::chrono::seconds(1)));
  for (const ConsumerRecord& r : records) {
    printed->push_back(fmt::format("{}/{} @{}: {} = {}", r.tp->topic, r.tp->partition,
                                   r.record.offset, r.record.key, r.record.value));
  }
  return consumer->Commit();
}

TEST(ReadmeExampleTest, ProducesConsumesAndCommits) {
  std::string dir = std::string(::testing::TempDir()) + "/readme-example-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::vector<std::string> printed;
  Status s = Example(dir, &printed);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(s.ok()) << s;
  // "alice" hashes to partition 1 of 4 (murmur2, as Kafka's Java client).
  EXPECT_EQ(printed, std::vector<std::string>{"clicks/1 @0: alice = /cart"});
}

}  // namespace
}  // namespace sluice
