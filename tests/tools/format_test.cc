#include "tools/format.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::tools {
namespace {

RecordView MakeView(std::string_view key, std::string_view value, bool has_key = true) {
  RecordView r;
  r.offset = Offset(42);
  r.timestamp = Timestamp(1700000000123);
  r.has_key = has_key;
  r.key = key;
  r.has_value = true;
  r.value = value;
  return r;
}

std::string Render(std::string_view spec, const RecordView& r) {
  auto f = RecordFormat::Parse(spec);
  EXPECT_TRUE(f.ok()) << f.status();
  fmt::memory_buffer out;
  f->Append("clicks", PartitionId(3), r, out);
  return fmt::to_string(out);
}

TEST(RecordFormatTest, DefaultPrintsValueAndNewline) {
  EXPECT_EQ(Render(RecordFormat::kDefault, MakeView("k", "v")), "v\n");
}

TEST(RecordFormatTest, EveryTokenAndEscape) {
  EXPECT_EQ(Render("%t %p %o %k %s %T%%\\t|\\\\|\\r\\n", MakeView("key", "val")),
            "clicks 3 42 key val 1700000000123%\t|\\|\r\n");
}

TEST(RecordFormatTest, NullKeyPrintsNothing) {
  EXPECT_EQ(Render("[%k]=[%s]", MakeView("", "v", /*has_key=*/false)), "[]=[v]");
}

TEST(RecordFormatTest, WithANullTextATombstoneDiffersFromAnEmptyValue) {
  auto f = RecordFormat::Parse("%k\\t%s\\n");
  ASSERT_TRUE(f.ok()) << f.status();
  f->set_null_text("NULL");  // consume -Z
  RecordView tombstone = MakeView("u1", "");
  tombstone.has_value = false;
  fmt::memory_buffer out;
  f->Append("t", PartitionId(0), tombstone, out);
  f->Append("t", PartitionId(0), MakeView("u2", ""), out);
  EXPECT_EQ(fmt::to_string(out), "u1\tNULL\nu2\t\n");
}

TEST(RecordFormatTest, NoHeadersPrintsNothing) {
  EXPECT_EQ(Render("<%h>", MakeView("k", "v")), "<>");
}

TEST(RecordFormatTest, RejectsUnknownTokensWithTheValidOnes) {
  for (const char* bad : {"%x", "%", "abc%", "\\q", "\\", "%s %Z"}) {
    auto f = RecordFormat::Parse(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  }
  auto f = RecordFormat::Parse("%x");
  EXPECT_NE(f.status().message().find("%k key"), std::string::npos) << f.status();
}

TEST(RecordFormatTest, LiteralTextPassesThrough) {
  EXPECT_EQ(Render("plain text", MakeView("k", "v")), "plain text");
  EXPECT_EQ(Render("", MakeView("k", "v")), "");
}

}  // namespace
}  // namespace sluice::tools
