// A user's job binary as a user writes it with RunMain (tools/run_main.h), for run_main_test.cc:
// JSON orders counted per customer.
#include <string>
#include <utility>

#include "operators/json_serde.h"
#include "operators/topology_builder.h"
#include "tools/run_main.h"

struct Order {
  std::string id;
  std::string customer;
  double amount = 0;
};
SLUICE_JSON_FIELDS(Order, id, customer, amount)

namespace {

void AddOrderCounts(sluice::TopologyBuilder& b) {
  b.Stream<std::string, Order>("orders")
      .Map([](const std::string&, const Order& o) { return std::pair(o.customer, o.id); },
           "by-customer")
      .GroupByKey()
      .Count("orders-per-customer")
      .ToStream("count-updates")
      .WithSerdes({.value = sluice::DecimalInt64Serde()})
      .To("order-counts", "order-counts-sink");
}

}  // namespace

int main(int argc, char** argv) { return sluice::RunMain(argc, argv, AddOrderCounts); }
