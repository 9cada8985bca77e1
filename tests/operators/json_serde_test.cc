#include "operators/json_serde.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

struct JsonOrder {
  std::string id;
  std::string customer;
  double amount = 0;
  int64_t ts = 0;
  int32_t qty = 0;
  bool paid = false;
  std::optional<std::string> coupon;
  bool operator==(const JsonOrder&) const = default;
};
SLUICE_JSON_FIELDS(JsonOrder, id, customer, amount, ts, qty, paid, coupon)

namespace sluice {
namespace {

JsonOrder Sample() {
  return {.id = "o-1",
          .customer = "c \"7\"\n\\é",
          .amount = 12.25,
          .ts = 1700000000123,
          .qty = -3,
          .paid = true,
          .coupon = "SPRING"};
}

TEST(JsonSerdeTest, IsTheDefaultSerdeOfADeclaredStructAndRoundTrips) {
  SerdePtr<JsonOrder> serde = DefaultSerde<JsonOrder>();
  ASSERT_NE(serde, nullptr);
  EXPECT_EQ(serde->name(), "json");
  for (JsonOrder o : {Sample(), JsonOrder{}}) {
    std::string bytes;
    serde->Serialize(o, &bytes);
    JsonOrder back;
    ASSERT_TRUE(serde->Deserialize(bytes, &back).ok()) << bytes;
    EXPECT_EQ(back, o) << bytes;
  }
}

TEST(JsonSerdeTest, WritesCompactMembersInDeclarationOrderAndLeavesOutEmptyOptionals) {
  JsonOrder o = Sample();
  o.coupon.reset();
  o.customer = "c1";
  EXPECT_EQ(ToJson(o), R"({"id":"o-1","customer":"c1","amount":12.25,"ts":1700000000123,"qty":-3,)"
                       R"("paid":true})");
}

TEST(JsonSerdeTest, ReadsMembersInAnyOrderSkippingUnknownOnes) {
  Result<JsonOrder> o = ParseJson<JsonOrder>(
      R"( {"extra":{"a":[1,2,{"b":null}]},"ts":5,"paid":false,"qty":2,"amount":3,)"
      R"("customer":"c\u0031","id":"x","id":"ignored","coupon":null} )");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->id, "x");
  EXPECT_EQ(o->customer, "c1");
  EXPECT_EQ(o->amount, 3.0);
  EXPECT_EQ(o->ts, 5);
  EXPECT_EQ(o->qty, 2);
  EXPECT_FALSE(o->coupon.has_value());
}

TEST(JsonSerdeTest, AMissingMemberIsAnErrorNamingIt) {
  Result<JsonOrder> o =
      ParseJson<JsonOrder>(R"({"id":"x","customer":"c","ts":5,"qty":2,"paid":true})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find("'amount' is missing"), std::string::npos) << o.status();
}

TEST(JsonSerdeTest, AMemberOfTheWrongTypeIsAnErrorSayingWhatWasExpected) {
  const std::string base = R"("id":"x","customer":"c","qty":2,"paid":true)";
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {"{" + base + R"(,"amount":"12","ts":5})", "'amount' must be a number, not a string"},
      {"{" + base + R"(,"amount":1,"ts":5.5})", "'ts' must be an integer"},
      {"{" + base + R"(,"amount":1,"ts":null})", "'ts' must be an integer, not null"},
      {"{" + base + R"(,"amount":1,"ts":[5]})", "'ts' must be an integer, not an array"},
      {R"({"id":"x","customer":"c","qty":3000000000,"paid":true,"amount":1,"ts":5})",
       "'qty' must be a 32-bit integer"},
      {R"({"id":7,"customer":"c","qty":3,"paid":true,"amount":1,"ts":5})",
       "'id' must be a string, not a number"},
      {R"({"id":"x","customer":"c","qty":3,"paid":1,"amount":1,"ts":5})",
       "'paid' must be true or false, not a number"},
  };
  for (const Case& c : cases) {
    Result<JsonOrder> o = ParseJson<JsonOrder>(c.json);
    ASSERT_FALSE(o.ok()) << c.json;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find(c.message), std::string::npos)
        << c.json << " -> " << o.status();
  }
}

TEST(JsonSerdeTest, GarbageIsAnErrorNotACrash) {
  const std::string ok = ToJson(Sample());
  for (std::string bad :
       {std::string(""), std::string("   "), std::string("not json"), std::string("[1,2]"),
        std::string("42"), std::string("\"str\""), ok.substr(0, ok.size() - 1), ok + "}",
        ok + " {}", std::string("{\"id\":\"x\",}"), std::string("{\"id\":\"x\0y\"}", 11),
        std::string("\xff\xfe{}")}) {
    Result<JsonOrder> o = ParseJson<JsonOrder>(bad);
    EXPECT_FALSE(o.ok()) << "accepted: " << bad;
    if (!o.ok()) {
      EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  // Every prefix of a good document is an error too (simdjson reads a padded copy).
  for (size_t n = 0; n < ok.size(); ++n) {
    EXPECT_FALSE(ParseJson<JsonOrder>(ok.substr(0, n)).ok()) << ok.substr(0, n);
  }
}

struct Renamed {
  int64_t user_id = 0;
  std::optional<double> score;
};

TEST(JsonSerdeTest, JsonSerdeBindsOtherNamesWithoutTheMacro) {
  SerdePtr<Renamed> s =
      JsonSerde<Renamed>(JsonField("userId", &Renamed::user_id), JsonField("s", &Renamed::score));
  std::string bytes;
  s->Serialize({.user_id = 9, .score = 0.5}, &bytes);
  EXPECT_EQ(bytes, R"({"userId":9,"s":0.5})");
  Renamed r;
  ASSERT_TRUE(s->Deserialize(R"({"userId":-4})", &r).ok());
  EXPECT_EQ(r.user_id, -4);
  EXPECT_FALSE(r.score.has_value());
}

}  // namespace
}  // namespace sluice
