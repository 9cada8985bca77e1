// sluice produce --timestamp, --timestamp-field and --header (issue 15 item 5), through the real
// binary: what consume prints back is what was asked for.
#include <gtest/gtest.h>

#include <string>

#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

class CliProduceTest : public CliTest {};

TEST_F(CliProduceTest, TimestampSetsEveryRecordsTime) {
  CreateTopic("t", 1);
  Ok({"produce", "t", "--timestamp", "2023-11-14T22:13:20Z"}, "a\nb\n");
  Ok({"produce", "t", "--timestamp", "42"}, "c\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning", "--format", "%T %s\\n"}),
            "1700000000000 a\n1700000000000 b\n42 c\n");
}

TEST_F(CliProduceTest, TimestampFieldTakesEachRecordsTimeFromItsJsonValue) {
  CreateTopic("t", 1);
  Ok({"produce", "t", "--timestamp-field", "ts"},
     "{\"user\":\"u1\",\"ts\":1700000000123}\n"
     "{\"nested\":{\"ts\":5},\"ts\" : \"2023-11-14T22:13:21Z\"}\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning", "--format", "%T\\n"}),
            "1700000000123\n1700000001000\n");
  // A line without the field stops the produce, naming the line; the lines before it are written.
  CliResult r = Sluice({"produce", "t", "--timestamp-field", "ts"}, "{\"ts\":7}\n{\"x\":1}\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("line 2: --timestamp-field ts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 records before it were written"), std::string::npos) << r.err;
}

TEST_F(CliProduceTest, HeadersAreAddedToEveryRecord) {
  CreateTopic("t", 1);
  Ok({"produce", "t", "--header", "source=cli", "--header", "v=a=b"}, "x\ny\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning", "--format", "%h %s\\n"}),
            "source=cli,v=a=b x\nsource=cli,v=a=b y\n");
}

TEST_F(CliProduceTest, BadTimeOptionsAreUsageErrors) {
  CreateTopic("t", 1);
  ExpectFailure(Sluice({"produce", "t", "--timestamp", "yesterday"}, "a\n"), 2);
  ExpectFailure(Sluice({"produce", "t", "--timestamp", "1", "--timestamp-field", "ts"}, "a\n"), 2);
  ExpectFailure(Sluice({"produce", "t", "--header", "novalue"}, "a\n"), 2);
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), "");
}

}  // namespace
}  // namespace sluice::testing
