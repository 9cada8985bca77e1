// The balances job: running account balances, and the exactly-once oracle.
//
// Input: key = account, value = a signed integer amount in decimal text (what
// `sluice produce --key-separator :` writes for a line "alice:-25"). For every input record the
// job emits exactly one output record: key = the account, value = the balance after this
// transaction, in decimal text. The outputs of one account are therefore the prefix sums of
// its inputs, in input order. An amount that is not a decimal integer stops the job with an
// error naming the record.
#pragma once

#include <string>

#include "operators/topology_builder.h"

namespace sluice::examples {

struct BalancesOptions {
  // Topic of (account, amount). Default "transactions".
  std::string input = "transactions";
  // Topic of (account, balance). Default "balances".
  std::string output = "balances";
  // Name of the balance store. Default "balances-store".
  std::string store = "balances-store";
};

void AddBalances(TopologyBuilder& builder, const BalancesOptions& options = {});

}  // namespace sluice::examples
