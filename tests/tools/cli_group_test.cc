// Consumer groups across processes (issue 11): `sluice consume --group G --follow` processes going
// through a served directory split a topic's partitions, take over a killed member's partitions,
// and each record a new producer writes reaches exactly one of them. Without a server, a second
// process joining an active group is refused and told to serve the directory. A serving process
// killed while a producer streams through it loses no acknowledged record.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/log_client.h"
#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;
// Guards against hangs, not timing assertions. A killed member's partitions move after the
// consumers' 10 s session timeout.
constexpr auto kHangGuard = std::chrono::seconds(60);

class CliGroupTest : public CliTest {
 protected:
  void Serve() {
    server_ = std::make_unique<SluiceProcess>(
        std::vector<std::string>{"--data", data_, "serve", "--listen", "127.0.0.1:0"});
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(data_ + "/OWNER") && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << server_->err();
  }
  // The address `sluice serve` listens on, from its OWNER file.
  std::string ServerAddress() {
    std::ifstream in(data_ + "/OWNER");
    std::string word;
    while (in >> word) {
      if (word.starts_with("address=")) return word.substr(8);
    }
    return "";
  }
  void TearDown() override {
    members_.clear();
    if (server_) {
      server_->Signal(SIGKILL);
      server_->Wait();
    }
    CliTest::TearDown();
  }
  std::unique_ptr<SluiceProcess> StartMember(const std::string& topic) {
    return std::make_unique<SluiceProcess>(
        WithData({"consume", topic, "--group", "g", "--follow", "--format", "%p %o %s\\n"}), env_);
  }

  // Reads what every live member printed so far (members_[i] == nullptr: killed).
  void Pump() {
    for (auto& m : members_) {
      if (m) m->ReadStdoutLines(1u << 30, std::chrono::milliseconds(50));
    }
  }
  // (partition, offset) -> the members that printed it, over every member ever started.
  std::map<std::pair<int, int64_t>, std::set<size_t>> Seen() {
    std::map<std::pair<int, int64_t>, std::set<size_t>> seen;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const std::string& out = members_[i] ? members_[i]->out() : outputs_[i];
      for (const std::string& line : SplitLines(out)) {
        std::istringstream in(line);
        int p;
        int64_t o;
        in >> p >> o;
        seen[{p, o}].insert(i);
      }
    }
    return seen;
  }
  // Waits until the members together printed `n` distinct records.
  void WaitForDistinct(size_t n) {
    auto deadline = Clock::now() + kHangGuard;
    while (Seen().size() < n && Clock::now() < deadline) Pump();
    ASSERT_EQ(Seen().size(), n);
  }
  // Partition -> committed offset, from `group describe`; and which rows name a member.
  std::map<int, int64_t> Committed(std::set<std::string>* members = nullptr) {
    std::map<int, int64_t> out;
    std::vector<std::string> rows = SplitLines(Ok({"group", "describe", "g"}));
    for (size_t i = 1; i < rows.size(); ++i) {
      std::istringstream in(rows[i]);
      std::string topic, committed, end, lag, member;
      int p;
      in >> topic >> p >> committed >> end >> lag;
      std::getline(in >> std::ws, member);  // a member id holds its client id: spaces
      if (committed != "-") out[p] = std::stoll(committed);
      if (members != nullptr && !member.empty() && member != "-") members->insert(member);
    }
    return out;
  }

  // Starts `n` members on a served 4-partition topic with 400 records, checks they split it,
  // kills one, produces 200 more records with a new producer and checks the survivors got them.
  void SplitKillAndTakeOver(size_t n);

  std::unique_ptr<SluiceProcess> server_;
  std::vector<std::unique_ptr<SluiceProcess>> members_;
  std::vector<std::string> outputs_;  // a killed member's final output
};

std::string Records(int from, int to) {
  std::string in;
  for (int i = from; i < to; ++i) in += "k" + std::to_string(i) + ":v" + std::to_string(i) + "\n";
  return in;
}

void CliGroupTest::SplitKillAndTakeOver(size_t n) {
  CreateTopic("t", 4);
  Ok({"produce", "t", "--key-separator", ":"}, Records(0, 400));
  Serve();
  for (size_t i = 0; i < n; ++i) {
    members_.push_back(StartMember("t"));
    outputs_.emplace_back();
  }
  WaitForDistinct(400);
  // `group describe` names every member once the group is stable.
  std::set<std::string> named;
  auto deadline = Clock::now() + kHangGuard;
  while (named.size() < n && Clock::now() < deadline) {
    named.clear();
    Committed(&named);
    Pump();
  }
  EXPECT_EQ(named.size(), n) << "group describe names every member";

  // Kill the last member. What it printed after its last commit may be printed again by the
  // partitions' next owner (in-flight records, which Kafka redelivers too), nothing else.
  const size_t victim = n - 1;
  Pump();
  std::map<int, int64_t> committed_at_kill = Committed();
  members_[victim]->Signal(SIGKILL);
  members_[victim]->Wait();
  outputs_[victim] = members_[victim]->out();
  members_[victim].reset();
  std::set<int> victim_partitions;
  for (const auto& [po, who] : Seen()) {
    if (who.contains(victim)) victim_partitions.insert(po.first);
  }
  EXPECT_FALSE(victim_partitions.empty()) << "every member was given partitions";

  // A new producer's records reach the survivors (the victim's partitions were taken over).
  Ok({"produce", "t", "--key-separator", ":"}, Records(400, 600));
  WaitForDistinct(600);
  std::map<std::pair<int, int64_t>, std::set<size_t>> seen = Seen();
  std::map<int, int64_t> count;
  for (const auto& [po, who] : seen) {
    auto [p, o] = po;
    ++count[p];
    if (who.size() == 1) continue;
    int64_t committed = committed_at_kill.contains(p) ? committed_at_kill[p] : 0;
    EXPECT_TRUE(who.size() == 2 && who.contains(victim) && o >= committed)
        << "partition " << p << " offset " << o << " was printed by " << who.size()
        << " members; only the killed member's records after its last commit (" << committed
        << ") may be printed again";
  }
  // No gaps: each partition's offsets 0..end-1 were printed (so the victim's partitions, which
  // also got new records, were taken over), 600 records in all.
  int64_t total = 0;
  for (const auto& [p, c] : count) {
    int64_t highest = std::prev(seen.lower_bound({p + 1, 0}))->first.second;
    EXPECT_EQ(highest + 1, c) << "partition " << p << " has gaps";
    total += c;
  }
  EXPECT_EQ(total, 600);

  for (auto& m : members_) {
    if (!m) continue;
    m->Signal(SIGINT);
    EXPECT_EQ(m->Wait(), 0) << m->err();
  }
  // What the survivors printed was committed when they stopped.
  std::map<int, int64_t> final_committed = Committed();
  for (const auto& [p, c] : count) EXPECT_EQ(final_committed[p], c) << "partition " << p;
}

TEST_F(CliGroupTest, TwoMembersSplitATopicAndTheSurvivorTakesOverAKilledOnesPartitions) {
  SplitKillAndTakeOver(2);
}

TEST_F(CliGroupTest, ThreeMembersSplitATopicAndTheSurvivorsTakeOverAKilledOnesPartitions) {
  SplitKillAndTakeOver(3);
}

TEST_F(CliGroupTest, WithoutAServerASecondMemberIsRefusedAndAKilledMemberReleasesTheGroup) {
  CreateTopic("t", 2);
  Ok({"produce", "t", "--key-separator", ":"}, Records(0, 10));
  members_.push_back(StartMember("t"));
  outputs_.emplace_back();
  WaitForDistinct(10);
  // Nobody serves the directory: nothing could split the partitions, so a second member (another
  // process) is refused instead of reading every partition too, with or without --follow.
  CliResult r = Sluice({"consume", "t", "--group", "g"});
  std::string err = ExpectFailure(r, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(err.find("group 'g' already has an active member"), std::string::npos) << err;
  EXPECT_NE(err.find("sluice serve --data " + data_), std::string::npos) << err;
  {
    SluiceProcess second(WithData({"consume", "t", "--group", "g", "--follow"}), env_);
    EXPECT_TRUE(second.WaitForStderr("already has an active member", kHangGuard)) << second.out();
    EXPECT_EQ(second.Wait(), 1);
    EXPECT_EQ(second.out(), "");
  }
  // Other groups are not affected; the member shows in describe, and a reset is refused.
  EXPECT_EQ(CountLines(Ok({"consume", "t", "--group", "other"})), 10u);
  std::string desc = Ok({"group", "describe", "g"});
  EXPECT_NE(desc.find("pid " + std::to_string(members_[0]->pid())), std::string::npos) << desc;
  err = ExpectFailure(Sluice({"group", "reset", "g", "--topic", "t", "--to-earliest"}), 1);
  EXPECT_NE(err.find("active member"), std::string::npos) << err;

  // A member killed -9 releases the group with its lock: the next one starts at the group's
  // committed offsets (here: nothing was committed, so from the beginning).
  members_[0]->Signal(SIGKILL);
  members_[0]->Wait();
  members_[0].reset();
  EXPECT_EQ(CountLines(Ok({"consume", "t", "--group", "g"})), 10u);
  Ok({"produce", "t"}, "new\n");
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "new\n");
}

// Kill -9 of the serving process while a producer streams through it: every record the producer
// saw acknowledged is in the log exactly once afterwards, and the next command opens the
// directory itself.
TEST_F(CliGroupTest, KillingTheServerMidProduceLosesNoAcknowledgedRecord) {
  CreateTopic("t", 3);
  Serve();
  client::ClientOptions options;
  options.bootstrap_servers = ServerAddress();
  // Records the dead server never acknowledged fail after this instead of librdkafka's 300 s.
  options.kafka_config = {{"message.timeout.ms", "5000"}};
  auto client = client::OpenLogClient(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto producer = (*client)->NewProducer({.acks = Acks::kAll, .batch_bytes = 4096});
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<size_t> acks{0};
  size_t sent = 0;
  // Streams; once some records are acknowledged the server is killed, and 5000 more are sent
  // into the dead connection.
  bool killed = false;
  size_t sent_at_kill = 0;
  for (int i = 0; i < 500000 && (!killed || sent < sent_at_kill + 5000); ++i) {
    std::string value = "r" + std::to_string(i);
    Status s = (**producer)
                   .Send("t", Record{.value = value}, std::nullopt,
                         [&, value](const Status& st, const TopicPartition&, Offset) {
                           if (!st.ok()) return;
                           std::lock_guard lock(mu);
                           acked.insert(value);
                           acks.fetch_add(1);
                         });
    if (!s.ok()) break;
    ++sent;
    if (!killed && acks.load() >= 2000) {
      server_->Signal(SIGKILL);
      server_->Wait();
      server_.reset();
      killed = true;
      sent_at_kill = sent;
    }
  }
  ASSERT_TRUE(killed) << "the producer was acknowledged only " << acks.load() << " records";
  (void)(**producer).Flush();  // fails: the server is gone
  producer->reset();
  client->reset();
  std::set<std::string> acked_copy;
  {
    std::lock_guard lock(mu);
    acked_copy = acked;
  }
  EXPECT_LT(acked_copy.size(), sent) << "the kill came mid-stream";

  // The next command falls back to the embedded log: every acknowledged record is there once.
  std::map<std::string, int> present;
  for (const std::string& line : SplitLines(Ok({"consume", "t", "--from-beginning"}))) {
    ++present[line];
  }
  for (const std::string& v : acked_copy) {
    EXPECT_EQ(present[v], 1) << v;
  }
  for (const auto& [v, c] : present) EXPECT_EQ(c, 1) << v << " is stored " << c << " times";
  Ok({"produce", "t"}, "after\n");
}

}  // namespace
}  // namespace sluice::testing
