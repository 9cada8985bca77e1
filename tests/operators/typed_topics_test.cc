// TestDriver's typed input and output topics (TestInputTopic/TestOutputTopic), and a table topic
// that does not hold a windowed stream's windows open.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "operators/joins.h"
#include "operators/json_serde.h"
#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "operators/windows.h"
#include "tests/operators/driver_util.h"

struct TtOrder {
  std::string id;
  std::string customer;
  double amount = 0;
  int64_t ts = 0;
};
SLUICE_JSON_FIELDS(TtOrder, id, customer, amount, ts)

struct TtCustomer {
  std::string name;
  std::string region;
};
SLUICE_JSON_FIELDS(TtCustomer, name, region)

struct TtRevenue {
  std::string customer;
  std::string region;
  int64_t window_start = 0;
  double revenue = 0;
  bool operator==(const TtRevenue&) const = default;
};
SLUICE_JSON_FIELDS(TtRevenue, customer, region, window_start, revenue)

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;

// Orders (keyed by customer) joined with the customers table, revenue per customer per minute
// with 10 s grace.
Topology RevenueTopology() {
  TopologyBuilder b;
  auto customers = b.Table<std::string, TtCustomer>("customers", "customers-store");
  auto orders = b.Stream<std::string, TtOrder>("orders").WithEventTime(
      [](const std::string&, const TtOrder& o) { return std::optional<Timestamp>(o.ts); },
      "order-time");
  JoinTable(orders, customers, "with-customer", JoinKind::kLeft,
            [](const std::string&, const TtOrder& o, const std::optional<TtCustomer>& c) {
              return TtRevenue{
                  .customer = o.customer, .region = c ? c->region : "unknown", .revenue = o.amount};
            })
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(std::chrono::minutes(1)).Grace(std::chrono::seconds(10)))
      .Reduce("revenue-per-minute",
              [](const TtRevenue& sum, const TtRevenue& r) {
                TtRevenue out = sum;
                out.revenue += r.revenue;
                return out;
              })
      .Map(
          [](const std::string& customer, const WindowResult<TtRevenue>& w) {
            TtRevenue r = w.value;
            r.window_start = w.start;
            return std::pair(customer, r);
          },
          "with-window")
      .To("revenue", "revenue-sink");
  return BuildOrDie(b);
}

constexpr int64_t kT0 = 1'700'000'040'000;  // a minute boundary in 2023

TEST(TypedTopicsTest, PipeTypedRecordsAndReadThemAsListMapAndValues) {
  TestDriver driver(RevenueTopology());
  auto customers = driver.CreateInputTopic<std::string, TtCustomer>("customers");
  auto orders = driver.CreateInputTopic<std::string, TtOrder>("orders");
  auto revenue = driver.CreateOutputTopic<std::string, TtRevenue>("revenue");
  ASSERT_TRUE(customers.PipeInput("c1", {"Ada", "EU"}, Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput("c1", {"o1", "c1", 10.5, kT0 + 1000}, Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput("c2", {"o2", "c2", 4, kT0 + 2000}, Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput("c1", {"o3", "c1", 1.5, kT0 + 59'000}, Timestamp(kT0)).ok());
  EXPECT_TRUE(revenue.IsEmpty());  // the minute is still open
  ASSERT_TRUE(orders
                  .PipeRecordList({{"c2", {"o4", "c2", 1, kT0 + 70'000}, Timestamp(kT0)},
                                   {"c2", {"o5", "c2", 2, kT0 + 71'000}, Timestamp(kT0)}})
                  .ok());
  ASSERT_EQ(revenue.size(), 2u);
  Result<std::vector<KeyValueTimestamp<std::string, TtRevenue>>> list = revenue.ReadRecordsToList();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  std::map<std::string, TtRevenue> by_key;
  for (const auto& r : *list) by_key[r.key] = r.value;
  EXPECT_EQ(by_key["c1"], (TtRevenue{"c1", "EU", kT0, 12.0}));
  EXPECT_EQ(by_key["c2"], (TtRevenue{"c2", "unknown", kT0, 4.0}));
  EXPECT_TRUE(revenue.IsEmpty());  // reading consumed them

  // Two windows of c2 close at the end: the map holds the later one.
  ASSERT_TRUE(orders.PipeInput("c2", {"o6", "c2", 8, kT0 + 200'000}, Timestamp(kT0)).ok());
  ASSERT_TRUE(driver.EndInput().ok());
  EXPECT_EQ(revenue.size(), 2u);
  Result<std::map<std::string, TtRevenue>> map = revenue.ReadKeyValuesToMap();
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->size(), 1u);
  EXPECT_EQ(map->at("c2"), (TtRevenue{"c2", "unknown", kT0 + 180'000, 8.0}));
}

TEST(TypedTopicsTest, ReadValuesToListAndPipeWithoutKey) {
  TopologyBuilder b;
  b.Stream<std::string, TtOrder>("orders")
      .MapValues([](const TtOrder& o) { return o.id; }, "id")
      .To("ids", "ids-sink");
  TestDriver driver(BuildOrDie(b));
  auto orders = driver.CreateInputTopic<std::string, TtOrder>("orders");
  auto ids = driver.CreateOutputTopic<std::string, std::string>("ids");
  ASSERT_TRUE(orders.PipeInput(TtOrder{"a", "c", 1, 1}, Timestamp(1)).ok());
  ASSERT_TRUE(orders.PipeInput("k", TtOrder{"b", "c", 1, 2}, Timestamp(2)).ok());
  Result<std::vector<std::string>> values = ids.ReadValuesToList();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(*values, (std::vector<std::string>{"a", "b"}));
  // A topic the topology does not read, and a value that is not an order, are errors.
  auto nope = driver.CreateInputTopic<std::string, TtOrder>("nope");
  EXPECT_EQ(nope.PipeInput("k", TtOrder{}, Timestamp(3)).code(), StatusCode::kNotFound);
  auto raw = driver.CreateInputTopic<std::string, std::string>("orders");
  Status bad = raw.PipeInput("k", "{\"id\":1}", Timestamp(3));
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument) << bad;
}

// The table topic is fed once, at time 0 (customers loaded before the orders of 2023): as a
// table beside a stream it is state, not time, so it does not hold the orders' windows open.
// And a customer written later with the wall clock (2026) does not move the orders' event time.
TEST(TypedTopicsTest, ATableTopicDoesNotHoldWindowsOpenNorMoveTheStreamsTime) {
  TestDriver driver(RevenueTopology());
  auto customers = driver.CreateInputTopic<std::string, TtCustomer>("customers");
  auto orders = driver.CreateInputTopic<std::string, TtOrder>("orders");
  auto revenue = driver.CreateOutputTopic<std::string, TtRevenue>("revenue");
  ASSERT_TRUE(customers.PipeInput("c1", {"Ada", "EU"}, Timestamp(0)).ok());
  ASSERT_TRUE(orders.PipeInput("c1", {"o1", "c1", 5, kT0 + 1000}, Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput("c1", {"o2", "c1", 6, kT0 + 71'000}, Timestamp(kT0)).ok());
  Result<std::vector<TtRevenue>> closed = revenue.ReadValuesToList();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(*closed, (std::vector<TtRevenue>{{"c1", "EU", kT0, 5.0}}));

  const int64_t k2026 = 1'780'000'000'000;
  ASSERT_TRUE(customers.PipeInput("c2", {"Bob", "US"}, Timestamp(k2026)).ok());
  EXPECT_LT(driver.WatermarkOf("orders").value(), k2026);
  ASSERT_TRUE(orders.PipeInput("c1", {"o3", "c1", 7, kT0 + 72'000}, Timestamp(kT0)).ok());
  EXPECT_EQ(driver.late_records(), 0);
  EXPECT_TRUE(revenue.IsEmpty());  // the second minute is still open
}

}  // namespace
}  // namespace sluice::testing
