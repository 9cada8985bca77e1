// The revenue job under the TestDriver, with typed topics: no log, no threads, no timing.
#include <gtest/gtest.h>

#include "revenue_job.h"

namespace {

using sluice::Timestamp;
constexpr int64_t kT0 = 1'700'000'040'000;  // a minute boundary

std::string OrderJson(const char* id, const char* customer, double amount, int64_t ts) {
  return sluice::ToJson(Order{id, customer, amount, ts});
}

TEST(RevenueTest, RevenuePerCustomerPerMinuteWithLateAndBadOrdersRouted) {
  sluice::TopologyBuilder b;
  AddRevenue(b);
  auto topology = b.Build();
  ASSERT_TRUE(topology.ok()) << topology.status();
  sluice::testing::TestDriver driver(std::move(topology).value());
  auto customers = driver.CreateInputTopic<std::string, Customer>("customers");
  auto orders = driver.CreateInputTopic<std::string, std::string>("orders");
  auto revenue = driver.CreateOutputTopic<std::string, Revenue>("revenue");
  auto late = driver.CreateOutputTopic<std::string, Revenue>("orders-late");
  auto dead = driver.CreateOutputTopic<std::string, DeadLetter>("orders-dead-letter");

  // Customers loaded once at time 0: a table does not hold the orders' windows open.
  ASSERT_TRUE(customers.PipeInput("c1", {"Ada", "EU"}, Timestamp(0)).ok());
  ASSERT_TRUE(orders.PipeInput(OrderJson("o1", "c1", 10, kT0 + 1'000), Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput(OrderJson("o2", "c2", 4, kT0 + 2'000), Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput(OrderJson("o3", "c1", 2.5, kT0 + 59'000), Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput("{\"id\":\"o4\",\"customer\":7}", Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput(OrderJson("o5", "c1", 1, kT0 + 75'000), Timestamp(kT0)).ok());
  ASSERT_TRUE(orders.PipeInput(OrderJson("o6", "c1", 9, kT0 + 3'000), Timestamp(kT0)).ok());

  auto closed = revenue.ReadKeyValuesToMap();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->size(), 2u);
  EXPECT_EQ(closed->at("c1"), (Revenue{"EU", kT0, 12.5, 2}));
  EXPECT_EQ(closed->at("c2"), (Revenue{"unknown", kT0, 4, 1}));
  auto too_late = late.ReadValuesToList();  // o6: its window closed at kT0 + 70 s
  ASSERT_TRUE(too_late.ok()) << too_late.status();
  EXPECT_EQ(too_late->size(), 1u);
  auto bad = dead.ReadValuesToList();
  ASSERT_TRUE(bad.ok()) << bad.status();
  ASSERT_EQ(bad->size(), 1u);
  EXPECT_NE(bad->at(0).error.find("'customer' must be a string"), std::string::npos);

  ASSERT_TRUE(driver.EndInput().ok());
  auto last = revenue.ReadRecordsToList();
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->at(0).value, (Revenue{"EU", kT0 + 60'000, 1, 1}));
}

}  // namespace
