// kill -9 of a real writer process during concurrent appends (reliability scenario A5): the
// child (append_child.cc) prints every acknowledged record; this test kills it with SIGKILL after
// a random short time, ten times over the same data, and checks the ledger after each kill: every
// acknowledged value at its offset, no value twice, offsets dense.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/partition.h"
#include "tests/testing/storage_util.h"

#ifndef SLUICE_APPEND_CHILD
#error "SLUICE_APPEND_CHILD must name the append_child binary"
#endif

namespace sluice {
namespace {

constexpr int kPartitions = 3;

// Runs the child for `run_for`, then SIGKILLs it; returns everything it printed.
std::string RunAndKill(const std::string& dir, const std::string& tag,
                       std::chrono::milliseconds run_for) {
  testing::KilledChild c = testing::RunAndKill({SLUICE_APPEND_CHILD, dir, "65536", tag}, run_for);
  EXPECT_TRUE(c.killed_by_sigkill) << "the child exited by itself with status " << c.status;
  return c.out;
}

TEST(StorageCrashTest, KillNineDuringConcurrentAppendsLosesNothingAcknowledged) {
  testing::TempDir tmp;
  // SLUICE_CRASH_SEED=<n> replays a run.
  const char* env = std::getenv("SLUICE_CRASH_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::printf("StorageCrashTest seed %llu (rerun with SLUICE_CRASH_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  std::vector<std::map<int64_t, std::string>> ledger(kPartitions);
  size_t acked_total = 0;
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    auto run_for = std::chrono::milliseconds(30 + rng() % 400);
    std::string out = RunAndKill(tmp.path(), "r" + std::to_string(round), run_for);
    // Only whole lines are acknowledgements; a line cut by the kill is not.
    std::istringstream in(out.substr(0, out.rfind('\n') + 1));
    int p;
    long long offset;
    std::string value;
    while (in >> p >> offset >> value) {
      ASSERT_TRUE(p >= 0 && p < kPartitions);
      auto [it, fresh] = ledger[p].emplace(offset, value);
      ASSERT_TRUE(fresh) << "offset " << offset << " of partition " << p
                         << " was acknowledged twice: " << it->second << " and " << value;
      ++acked_total;
    }
    // Verify with read-only opens, which change nothing: the next child still finds the log as
    // the kill left it and must recover it.
    std::set<std::string> values;
    for (int q = 0; q < kPartitions; ++q) {
      auto part =
          Partition::Open(JoinPath(tmp.path(), "p" + std::to_string(q)), "crash", PartitionId(q),
                          TopicConfig{}, PartitionOptions{.read_only = true});
      ASSERT_TRUE(part.ok()) << part.status();
      auto recs = testing::ReadAll(**part);  // checks CRCs and dense offsets
      ASSERT_TRUE(recs.ok()) << recs.status();
      for (const auto& r : *recs) {
        ASSERT_TRUE(values.insert(r.value).second) << "value " << r.value << " appears twice";
      }
      for (const auto& [o, v] : ledger[q]) {
        ASSERT_LT(o, static_cast<int64_t>(recs->size())) << "acknowledged offset lost";
        ASSERT_EQ((*recs)[o].value, v) << "partition " << q << " offset " << o;
      }
    }
  }
  EXPECT_GT(acked_total, 0u);
  std::printf("StorageCrashTest: %zu acknowledged records checked over 10 kills\n", acked_total);
}

}  // namespace
}  // namespace sluice
