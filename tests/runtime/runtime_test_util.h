// Helpers for runtime tests: temporary directories, producing balances and wordcount input into a
// Log, reading topics back, and the oracles of the balances job (prefix sums) and of wordcount
// (running counts).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"

namespace sluice::testing {

// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Log> OpenLogOrDie(const std::string& dir);
void CreateTopicOrDie(Log* log, const std::string& topic, int32_t partitions);

// Appends `n` transactions "acct-<i>:<amount>" (key = account, value = decimal amount) to
// `topic`, keyed to partitions as Kafka's partitioner does, in batches of `batch` records.
// Returns the amounts per account in input order.
std::map<std::string, std::vector<int64_t>> ProduceTransactions(Log* log, const std::string& topic,
                                                                int n, int accounts, uint32_t seed,
                                                                int batch = 100);

// Appends `n` lines of 1-5 words "w<k>" (k < vocabulary) to `topic`, round-robin over its
// partitions, one batch per partition. Returns the occurrences per word.
std::map<std::string, int64_t> ProduceLines(Log* log, const std::string& topic, int n,
                                            int vocabulary, uint32_t seed);

struct KeyValue {
  std::string key;
  std::string value;
  bool tombstone = false;  // a null value (value is then empty)
};
// Every record of every partition of `topic`, partition by partition, in offset order.
std::vector<std::vector<KeyValue>> ReadTopic(Log* log, const std::string& topic);

// Checks that `outputs` (the balances topic) hold, per account, exactly the prefix sums of its
// inputs in order. Returns "" if so, else a description of the first difference.
std::string CheckBalances(const std::map<std::string, std::vector<int64_t>>& inputs,
                          const std::vector<std::vector<KeyValue>>& outputs);
// At-least-once: per account every prefix sum appears, in order (a stretch replayed after a crash
// may repeat), and nothing that is not a prefix sum of that account appears.
// Exactly once in any order (an account's inputs came through several partitions): per account,
// as many outputs as inputs, and the steps between consecutive outputs (from 0) are exactly its
// input amounts, each used once.
std::string CheckBalancesAnyOrder(const std::map<std::string, std::vector<int64_t>>& inputs,
                                  const std::vector<std::vector<KeyValue>>& outputs);
// wordcount: every word's outputs (all in one partition) must be its running count 1, 2, ..., n:
// no count repeated, skipped or out of order, and none missing. "" when they are.
std::string CheckRunningCounts(const std::map<std::string, int64_t>& expect,
                               const std::vector<std::vector<KeyValue>>& outputs);
std::string CheckBalancesAtLeastOnce(const std::map<std::string, std::vector<int64_t>>& inputs,
                                     const std::vector<std::vector<KeyValue>>& outputs);

}  // namespace sluice::testing
