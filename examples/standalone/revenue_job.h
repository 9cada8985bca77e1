// Revenue per customer per minute: JSON orders joined with a customers table, in 1-minute
// windows that accept orders up to 10 s late; later orders go to "orders-late", unparsable ones
// to "orders-dead-letter". main.cc runs it; revenue_test.cc tests it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "sluice/sluice.h"

struct Order {
  std::string id;
  std::string customer;
  double amount = 0;
  int64_t ts = 0;  // event time, epoch ms
};
SLUICE_JSON_FIELDS(Order, id, customer, amount, ts)

struct Customer {
  std::string name;
  std::string region;
};
SLUICE_JSON_FIELDS(Customer, name, region)

struct Revenue {
  std::string region;
  int64_t window_start = 0;
  double amount = 0;
  int64_t orders = 0;
  bool operator==(const Revenue&) const = default;
};
SLUICE_JSON_FIELDS(Revenue, region, window_start, amount, orders)

struct DeadLetter {
  std::string error;
  std::string value;
};
SLUICE_JSON_FIELDS(DeadLetter, error, value)

// An order as read: parsed, or the error and the raw value.
struct ParsedOrder {
  std::optional<Order> order;
  DeadLetter bad;
};

inline void AddRevenue(sluice::TopologyBuilder& b) {
  using namespace std::chrono_literals;
  auto customers = b.Table<std::string, Customer>("customers", "customers-table");
  auto parsed =
      b.Stream<std::string, std::string>("orders")
          .MapValues(
              [](const std::string& v) {
                sluice::Result<Order> o = sluice::ParseJson<Order>(v);
                if (!o.ok()) return ParsedOrder{std::nullopt, {o.status().message(), v}};
                return ParsedOrder{*o, {}};
              },
              "parse-order")
          .WithEventTime(
              [](const std::string&, const ParsedOrder& p) -> std::optional<sluice::Timestamp> {
                if (!p.order) return std::nullopt;  // unparsable: no event time
                return sluice::Timestamp(p.order->ts);
              },
              "order-time");
  auto ok_bad = parsed.Branch([](const std::string&, const ParsedOrder& p) { return !!p.order; },
                              [](const std::string&, const ParsedOrder&) { return true; });
  ok_bad[1]
      .MapValues([](const ParsedOrder& p) { return p.bad; }, "dead-letter")
      .To("orders-dead-letter", "dead-letter-sink");
  auto orders =
      ok_bad[0].Map([](const std::string&,
                       const ParsedOrder& p) { return std::pair(p.order->customer, *p.order); },
                    "by-customer");
  sluice::JoinTable(orders, customers, "with-customer", sluice::JoinKind::kLeft,
                    [](const std::string&, const Order& o, const std::optional<Customer>& c) {
                      return Revenue{c ? c->region : "unknown", 0, o.amount, 1};
                    })
      .GroupByKey()
      .WindowedBy(sluice::Windows::Tumbling(1min).Grace(10s).LateRecordsTo("orders-late"))
      .Reduce("revenue-per-minute",
              [](const Revenue& sum, const Revenue& r) {
                return Revenue{r.region, 0, sum.amount + r.amount, sum.orders + r.orders};
              })
      .Map(
          [](const std::string& customer, const sluice::WindowResult<Revenue>& w) {
            Revenue r = w.value;
            r.window_start = w.start;
            return std::pair(customer, r);
          },
          "with-window")
      .To("revenue", "revenue-sink");
}
