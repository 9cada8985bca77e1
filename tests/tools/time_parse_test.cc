#include "tools/time_parse.h"

#include <gtest/gtest.h>

namespace sluice::tools {
namespace {

int64_t Ms(std::string_view s) {
  auto t = ParseTime(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status();
  return t.ok() ? t->value() : -1;
}

TEST(TimeParseTest, EpochMilliseconds) {
  EXPECT_EQ(Ms("0"), 0);
  EXPECT_EQ(Ms("1700000000123"), 1700000000123);
}

TEST(TimeParseTest, IsoForms) {
  // 2023-11-14T22:13:20Z is 1700000000 s after the epoch.
  EXPECT_EQ(Ms("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(Ms("2023-11-14T22:13:20"), 1700000000000);  // UTC without a zone
  EXPECT_EQ(Ms("2023-11-14 22:13:20"), 1700000000000);
  EXPECT_EQ(Ms("2023-11-14T22:13:20.5Z"), 1700000000500);
  EXPECT_EQ(Ms("2023-11-14T22:13:20.123456Z"), 1700000000123);
  EXPECT_EQ(Ms("2023-11-15T00:13:20+02:00"), 1700000000000);
  EXPECT_EQ(Ms("2023-11-14T16:43:20-0530"), 1700000000000);
  EXPECT_EQ(Ms("2023-11-14T22:13Z"), 1700000000000 - 20000);
  EXPECT_EQ(Ms("1970-01-01"), 0);
  EXPECT_EQ(Ms("2024-02-29"), 1709164800000);  // leap day
  EXPECT_EQ(Ms("2000-03-01T00:00:00Z"), 951868800000);
}

TEST(TimeParseTest, RejectsWithTheAcceptedForms) {
  for (const char* bad :
       {"", "yesterday", "2024-02-30", "2023-02-29", "2024-13-01", "2024-1-1", "2024-01-01T25:00",
        "2024-01-01T10:00:61", "2024-01-01T10:00Zjunk", "-5", "12.5", "99999999999999999999",
        "2024-01-01T10:00+25:00", "2024-01-01T10:00:00."}) {
    auto t = ParseTime(bad);
    EXPECT_FALSE(t.ok()) << "accepted '" << bad << "'";
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find("ISO-8601"), std::string::npos);
    }
  }
}

TEST(TimeParseTest, FormatTimeRoundTrips) {
  EXPECT_EQ(FormatTime(Timestamp(1700000000123)), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatTime(Timestamp(0)), "1970-01-01T00:00:00.000Z");
  for (int64_t ms : {int64_t{951868800000}, int64_t{1709164800001}, int64_t{4102444799999}}) {
    EXPECT_EQ(Ms(FormatTime(Timestamp(ms))), ms);
  }
}

}  // namespace
}  // namespace sluice::tools
