// The balances job through the TestDriver, against the prefix-sum oracle.
#include "examples/balances.h"

#include <gtest/gtest.h>

#include <random>

#include "operators/test_driver.h"

namespace sluice::examples {
namespace {

using sluice::testing::TestDriver;

TestDriver MakeDriver() {
  TopologyBuilder b;
  AddBalances(b, {.input = "tx", .output = "bal"});
  auto t = b.Build();
  EXPECT_TRUE(t.ok()) << t.status();
  return TestDriver(std::move(t).value());
}

TEST(BalancesTest, EmitsTheBalanceAfterEveryTransaction) {
  TestDriver d = MakeDriver();
  for (auto [acct, amount] : std::vector<std::pair<const char*, const char*>>{
           {"alice", "100"}, {"bob", "5"}, {"alice", "-30"}, {"alice", "+2"}}) {
    ASSERT_TRUE(
        d.PipeBytes("tx", std::string_view(acct), std::string_view(amount), Timestamp(1)).ok());
  }
  auto out = d.ReadOutput("bal");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].key, "alice");
  EXPECT_EQ(out[0].value, "100");
  EXPECT_EQ(out[1].value, "5");
  EXPECT_EQ(out[2].value, "70");
  EXPECT_EQ(out[3].value, "72");
  auto store =
      d.StoreContents<std::string, int64_t>("balances-store", {.value = DecimalInt64Serde()});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*store, (std::map<std::string, int64_t>{{"alice", 72}, {"bob", 5}}));
}

TEST(BalancesTest, OutputsArePrefixSumsPerAccount) {
  TestDriver d = MakeDriver();
  std::mt19937 rng(7);
  std::map<std::string, std::vector<int64_t>> inputs;
  for (int i = 0; i < 2000; ++i) {
    std::string acct = "acct-" + std::to_string(rng() % 37);
    int64_t amount = static_cast<int64_t>(rng() % 2001) - 1000;
    inputs[acct].push_back(amount);
    ASSERT_TRUE(d.PipeBytes("tx", std::string_view(acct), std::string_view(std::to_string(amount)),
                            Timestamp(i))
                    .ok());
  }
  std::map<std::string, std::vector<int64_t>> outputs;
  for (const auto& r : d.ReadOutput("bal")) outputs[r.key].push_back(std::stoll(r.value));
  ASSERT_EQ(outputs.size(), inputs.size());
  for (const auto& [acct, amounts] : inputs) {
    int64_t sum = 0;
    std::vector<int64_t> expect;
    for (int64_t a : amounts) expect.push_back(sum += a);
    EXPECT_EQ(outputs[acct], expect) << acct;
  }
}

TEST(BalancesTest, ANonNumericAmountStopsWithAClearError) {
  TestDriver d = MakeDriver();
  Status s = d.PipeBytes("tx", std::string_view("alice"), std::string_view("ten"), Timestamp(1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'ten'"), std::string::npos) << s;
  EXPECT_TRUE(d.ReadOutput("bal").empty());
}

}  // namespace
}  // namespace sluice::examples
