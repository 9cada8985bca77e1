#include "tests/runtime/runtime_test_util.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <random>
#include <set>

#include "core/partitioner.h"
#include "core/record_batch.h"

namespace sluice::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sluice-rt-XXXXXX";
  char* p = mkdtemp(tmpl.data());
  SLUICE_CHECK(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Log> OpenLogOrDie(const std::string& dir) {
  LogOptions o;
  o.data_dir = dir;
  o.retention_check_interval = std::chrono::milliseconds(0);
  auto log = Log::Open(o);
  SLUICE_CHECK_OK(log.status());
  return std::move(log).value();
}

void CreateTopicOrDie(Log* log, const std::string& topic, int32_t partitions) {
  TopicConfig c;
  c.partitions = partitions;
  SLUICE_CHECK_OK(log->CreateTopic(topic, c));
}

std::map<std::string, std::vector<int64_t>> ProduceTransactions(Log* log, const std::string& topic,
                                                                int n, int accounts, uint32_t seed,
                                                                int batch) {
  auto cfg = log->DescribeTopic(topic);
  SLUICE_CHECK_OK(cfg.status());
  int32_t parts = cfg->partitions;
  std::vector<RecordBatchBuilder> builders(parts);
  std::map<std::string, std::vector<int64_t>> inputs;
  std::mt19937 rng(seed);
  auto flush = [&](int32_t p) {
    if (builders[p].empty()) return;
    auto part = log->GetPartition(topic, PartitionId(p));
    SLUICE_CHECK_OK(part.status());
    std::string b = builders[p].Finish();
    SLUICE_CHECK_OK((*part)->Append(b, Acks::kLeader).status());
  };
  for (int i = 0; i < n; ++i) {
    std::string acct = fmt::format("acct-{}", rng() % accounts);
    int64_t amount = static_cast<int64_t>(rng() % 2001) - 1000;
    inputs[acct].push_back(amount);
    int32_t p = PartitionForKey(acct, parts).value();
    builders[p].Add(Timestamp(1000 + i), acct, std::to_string(amount));
    if (builders[p].record_count() >= batch) flush(p);
  }
  for (int32_t p = 0; p < parts; ++p) flush(p);
  return inputs;
}

std::map<std::string, int64_t> ProduceLines(Log* log, const std::string& topic, int n,
                                            int vocabulary, uint32_t seed) {
  auto cfg = log->DescribeTopic(topic);
  SLUICE_CHECK_OK(cfg.status());
  const int32_t parts = cfg->partitions;
  std::vector<RecordBatchBuilder> builders(parts);
  std::map<std::string, int64_t> words;
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    std::string line;
    for (int w = 0, k = 1 + static_cast<int>(rng() % 5); w < k; ++w) {
      std::string word = "w" + std::to_string(rng() % vocabulary);
      ++words[word];
      line += word + " ";
    }
    builders[i % parts].Add(Timestamp(i), std::nullopt, line);
  }
  for (int32_t p = 0; p < parts; ++p) {
    auto part = log->GetPartition(topic, PartitionId(p));
    SLUICE_CHECK_OK(part.status());
    SLUICE_CHECK_OK((*part)->Append(builders[p].Finish(), Acks::kAll).status());
  }
  return words;
}

std::string CheckRunningCounts(const std::map<std::string, int64_t>& expect,
                               const std::vector<std::vector<KeyValue>>& outputs) {
  std::map<std::string, int64_t> seen;
  for (const auto& part : outputs) {
    for (const auto& kv : part) {
      int64_t& n = seen[kv.key];
      if (kv.value != std::to_string(n + 1)) {
        return "word '" + kv.key + "': count " + kv.value + " after " + std::to_string(n);
      }
      ++n;
    }
  }
  for (const auto& [w, n] : expect) {
    if (seen[w] != n) {
      return "word '" + w + "': " + std::to_string(seen[w]) + " of " + std::to_string(n) +
             " counts";
    }
  }
  if (seen.size() != expect.size()) return "counts for words not in the input";
  return "";
}

std::vector<std::vector<KeyValue>> ReadTopic(Log* log, const std::string& topic) {
  auto cfg = log->DescribeTopic(topic);
  SLUICE_CHECK_OK(cfg.status());
  std::vector<std::vector<KeyValue>> out(cfg->partitions);
  for (int32_t p = 0; p < cfg->partitions; ++p) {
    auto part = log->GetPartition(topic, PartitionId(p));
    SLUICE_CHECK_OK(part.status());
    SLUICE_CHECK_OK((*part)->Refresh());
    int64_t pos = (*part)->log_start_offset().value();
    while (pos < (*part)->high_watermark().value()) {
      auto r = (*part)->Read(Offset(pos), 1 << 20);
      SLUICE_CHECK_OK(r.status());
      std::string_view data = r->data;
      while (!data.empty()) {
        int64_t size = BatchSizeAt(data);
        SLUICE_CHECK(size > 0);
        auto view = RecordBatchView::Parse(data.substr(0, size));
        SLUICE_CHECK_OK(view.status());
        SLUICE_CHECK_OK(view->ForEachRecord([&](const RecordView& rec) {
          if (rec.offset.value() < pos) return;
          out[p].push_back({std::string(rec.key), std::string(rec.value), !rec.has_value});
          pos = rec.offset.value() + 1;
        }));
        data.remove_prefix(size);
      }
    }
  }
  return out;
}

namespace {

// Per account: the balances in the output, in order.
std::map<std::string, std::vector<int64_t>> OutputsByAccount(
    const std::vector<std::vector<KeyValue>>& outputs) {
  std::map<std::string, std::vector<int64_t>> got;
  for (const auto& part : outputs) {
    for (const auto& kv : part) got[kv.key].push_back(std::stoll(kv.value));
  }
  return got;
}

// "" if every account with output had input, else which one had not.
std::string UnknownAccount(const std::map<std::string, std::vector<int64_t>>& inputs,
                           const std::map<std::string, std::vector<int64_t>>& got) {
  for (const auto& [acct, g] : got) {
    if (!inputs.count(acct)) return fmt::format("output for unknown account {}", acct);
  }
  return "";
}

std::vector<int64_t> PrefixSums(const std::vector<int64_t>& amounts) {
  std::vector<int64_t> sums;
  int64_t sum = 0;
  for (int64_t a : amounts) sums.push_back(sum += a);
  return sums;
}

}  // namespace

std::string CheckBalances(const std::map<std::string, std::vector<int64_t>>& inputs,
                          const std::vector<std::vector<KeyValue>>& outputs) {
  auto got = OutputsByAccount(outputs);
  for (const auto& [acct, amounts] : inputs) {
    const std::vector<int64_t> expect = PrefixSums(amounts);
    const auto& g = got[acct];
    if (g.size() != expect.size()) {
      return fmt::format("account {}: {} inputs but {} outputs", acct, expect.size(), g.size());
    }
    for (size_t i = 0; i < g.size(); ++i) {
      if (g[i] != expect[i]) {
        return fmt::format("account {}: output {} is {} but the prefix sum is {}", acct, i, g[i],
                           expect[i]);
      }
    }
  }
  return UnknownAccount(inputs, got);
}

std::string CheckBalancesAnyOrder(const std::map<std::string, std::vector<int64_t>>& inputs,
                                  const std::vector<std::vector<KeyValue>>& outputs) {
  auto got = OutputsByAccount(outputs);
  for (const auto& [acct, amounts] : inputs) {
    const auto& g = got[acct];
    if (g.size() != amounts.size()) {
      return fmt::format("account {}: {} inputs but {} outputs", acct, amounts.size(), g.size());
    }
    std::multiset<int64_t> left(amounts.begin(), amounts.end());
    int64_t prev = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      auto it = left.find(g[i] - prev);
      if (it == left.end()) {
        return fmt::format("account {}: output {} ({}) is no input amount added to {}", acct, i,
                           g[i], prev);
      }
      left.erase(it);
      prev = g[i];
    }
  }
  return UnknownAccount(inputs, got);
}

std::string CheckBalancesAtLeastOnce(const std::map<std::string, std::vector<int64_t>>& inputs,
                                     const std::vector<std::vector<KeyValue>>& outputs) {
  auto got = OutputsByAccount(outputs);
  for (const auto& [acct, amounts] : inputs) {
    const std::vector<int64_t> expect = PrefixSums(amounts);
    const std::set<int64_t> valid(expect.begin(), expect.end());
    size_t matched = 0;
    for (int64_t v : got[acct]) {
      if (!valid.count(v)) return fmt::format("account {}: {} is no prefix sum", acct, v);
      if (matched < expect.size() && v == expect[matched]) ++matched;
    }
    if (matched < expect.size()) {
      return fmt::format("account {}: prefix sum {} ({}) is missing from the output", acct, matched,
                         expect[matched]);
    }
  }
  return UnknownAccount(inputs, got);
}

}  // namespace sluice::testing
