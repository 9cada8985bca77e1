#include "examples/balances.h"

namespace sluice::examples {

void AddBalances(TopologyBuilder& builder, const BalancesOptions& options) {
  builder
      .Stream<std::string, int64_t>(options.input, {.value = DecimalInt64Serde()}, "transactions")
      .GroupByKey()
      .Reduce(options.store, [](int64_t balance, int64_t amount) { return balance + amount; })
      .ToStream("balance-updates")
      .To(options.output, "balances-sink");
}

}  // namespace sluice::examples
