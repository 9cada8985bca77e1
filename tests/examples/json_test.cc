// The examples' JSON reader and writer: numbers, escapes, malformed input, and a differential
// check of the one-pass parsers (JsonFields, FlatJsonReader) against the FlatJson-then-getters
// parsing the examples used before (tests/examples/json_reference.h), over generated records
// with random damage.
#include "examples/json.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "examples/clickstream.h"
#include "examples/nexmark.h"
#include "tests/examples/json_reference.h"

namespace sluice::examples {
namespace {

using reference::RefParse;
using reference::RefParseBid;
using reference::RefParsePageView;

struct Read {
  std::string name, text;
  JsonType type;
};

// Every member, copied (the reader's views end with the reader).
std::vector<Read> ReadAll(std::string_view text, Status* status) {
  FlatJsonReader r(text);
  FlatJsonReader::Member m;
  std::vector<Read> out;
  while (r.Next(&m)) out.push_back({std::string(m.name), std::string(m.text), m.type});
  *status = r.status();
  return out;
}

TEST(FlatJsonReaderTest, ReadsMembersAsViewsWithTypes) {
  std::string text = R"( { "s" : "abc", "n":-12.5e3 ,"t":true,"f":false,"z":null, "e":""} )";
  Status s;
  auto ms = ReadAll(text, &s);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(ms.size(), 6u);
  EXPECT_EQ(ms[0].name, "s");
  EXPECT_EQ(ms[0].text, "abc");
  EXPECT_EQ(ms[0].type, JsonType::kString);
  {
    // Without escapes the views point into the text itself.
    FlatJsonReader r(text);
    FlatJsonReader::Member m;
    ASSERT_TRUE(r.Next(&m));
    EXPECT_EQ(m.name.data(), text.data() + text.find('s'));
    EXPECT_EQ(m.text.data(), text.data() + text.find("abc"));
  }
  EXPECT_EQ(ms[1].text, "-12.5e3");
  EXPECT_EQ(ms[1].type, JsonType::kNumber);
  EXPECT_EQ(ms[2].type, JsonType::kTrue);
  EXPECT_EQ(ms[3].type, JsonType::kFalse);
  EXPECT_EQ(ms[4].type, JsonType::kNull);
  EXPECT_EQ(ms[4].text, "");
  EXPECT_EQ(ms[5].text, "");
  EXPECT_EQ(ms[5].type, JsonType::kString);
  ASSERT_TRUE(ReadAll("{}", &s).empty());
  EXPECT_TRUE(s.ok()) << s;
}

TEST(FlatJsonReaderTest, UnescapesEveryEscape) {
  Status s;
  auto ms = ReadAll(R"({"k\"ey":"a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\u20ac"})", &s);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].name, "k\"ey");
  EXPECT_EQ(ms[0].text, "a\"b\\c/d\be\ff\ng\rh\tiA\xc3\xa9\xe2\x82\xac");
}

TEST(FlatJsonReaderTest, RejectsMalformedInputSayingWhereAndWhat) {
  struct Case {
    const char* text;
    const char* what;
  };
  const Case cases[] = {
      {"", "expected '{' at byte 0"},
      {"[1]", "expected '{' at byte 0"},
      {"{\"a\":", "expected a value at byte 5"},
      {"{\"a\" 1}", "expected ':'"},
      {"{a:1}", "expected a string at byte 1"},
      {"{\"a\":1,}", "expected a string at byte 7"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
      {"{\"a\":{\"b\":1}}", "nested objects and arrays are not supported"},
      {"{\"a\":[1]}", "nested objects and arrays are not supported"},
      {"{\"a\":1} x", "trailing bytes after the object at byte 8"},
      {"{\"a\":\"x}", "unterminated string"},
      {"{\"a\":\"x\\", "unterminated string"},
      {"{\"a\":\"\\q\"}", "bad escape"},
      {"{\"a\":\"\\u12\"}", "bad \\u escape"},
      {"{\"a\":\"\\u12", "short \\u escape"},
      {"{\"a\":\"\\uzzzz\"}", "bad \\u escape"},
      {"{\"a\":tru}", "expected a number, string, true, false or null"},
      {"{\"a\":1.2.3}", "expected a number, string, true, false or null"},
      {"{\"a\":--1}", "expected a number, string, true, false or null"},
      {"{\"a\":1e}", "expected a number, string, true, false or null"},
  };
  for (const Case& c : cases) {
    Status s;
    ReadAll(c.text, &s);
    EXPECT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.message().find(c.what), std::string::npos) << c.text << ": " << s.message();
    EXPECT_NE(s.message().find("not a flat JSON object"), std::string::npos) << s.message();
  }
}

TEST(FlatJsonReaderTest, AcceptsTheNumbersStrtodReadsAsBefore) {
  // JSON's own grammar, and the wider forms strtod reads that were always accepted.
  for (const char* n : {"0", "-0", "7", "-123", "1.5", "-0.25", "1e9", "2E-3", "1.5e+10",
                        "9223372036854775807", "+1", ".5", "01", "0x1f", "inf", "nan"}) {
    Status s;
    std::string text = fmt::format("{{\"n\":{}}}", n);
    auto ms = ReadAll(text, &s);
    ASSERT_TRUE(s.ok()) << n << ": " << s;
    ASSERT_EQ(ms.size(), 1u);
    EXPECT_EQ(ms[0].text, n);
    EXPECT_EQ(ms[0].type, JsonType::kNumber);
  }
}

TEST(JsonFieldsTest, BindsFieldsWithTheGettersChecks) {
  int64_t a = 0, b = 0;
  std::string s, opt = "keep", nul = "keep";
  JsonFields f;
  f.Int("a", &a).String("s", &s).OptionalString("o", &opt).NullableString("z", &nul).Int("b", &b);
  // A nested member is a syntax error even when it is not bound.
  EXPECT_FALSE(f.Parse(R"({"x":[],"a":-42,"s":"hi","z":null,"b":1})").ok());
  Status st = f.Parse(R"({"x":1,"a":-42,"s":"h\u0069","z":null,"b":9223372036854775807,"a":1})");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(a, -42);  // the first "a" counts
  EXPECT_EQ(s, "hi");
  EXPECT_EQ(opt, "keep");
  EXPECT_EQ(nul, "keep");
  EXPECT_EQ(b, std::numeric_limits<int64_t>::max());

  // Integers: the short fast path, the full int64 range, and what from_chars accepts or not.
  auto int_of = [](std::string_view text) -> std::optional<int64_t> {
    int64_t v = 0;
    JsonFields f;
    f.Int("v", &v);
    if (!f.Parse(fmt::format("{{\"v\":{}}}", text)).ok()) return std::nullopt;
    return v;
  };
  EXPECT_EQ(int_of("0"), 0);
  EXPECT_EQ(int_of("-0"), 0);
  EXPECT_EQ(int_of("123456789012345678"), 123456789012345678);
  EXPECT_EQ(int_of("-999999999999999999"), -999999999999999999);
  EXPECT_EQ(int_of("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(int_of("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(int_of("01"), 1);  // not JSON, but strtod and from_chars read it, as before
  EXPECT_EQ(int_of("9223372036854775808"), std::nullopt);
  EXPECT_EQ(int_of("+1"), std::nullopt);
  EXPECT_EQ(int_of("1e3"), std::nullopt);
  EXPECT_EQ(int_of("2.0"), std::nullopt);

  auto message = [](std::string_view json) {
    int64_t a = 0, b = 0;
    std::string s, o, z;
    JsonFields f;
    f.Int("a", &a).String("s", &s).OptionalString("o", &o).NullableString("z", &z).Int("b", &b);
    return f.Parse(json).message();
  };
  EXPECT_EQ(message(R"({"s":"x","b":1})"), "member \"a\" is missing");
  EXPECT_EQ(message(R"({"a":1,"b":1})"), "member \"s\" is missing");
  EXPECT_EQ(message(R"({"a":1.5,"s":1,"b":1})"), "member \"a\" must be an integer, got '1.5'");
  EXPECT_EQ(message(R"({"a":"7","s":"x","b":1})"), "member \"a\" must be an integer, got '7'");
  EXPECT_EQ(message(R"({"a":null,"s":"x","b":1})"), "member \"a\" must be an integer, got ''");
  EXPECT_EQ(message(R"({"a":1,"s":"x","b":99999999999999999999})"),
            "member \"b\" must be an integer, got '99999999999999999999'");
  EXPECT_EQ(message(R"({"a":1,"s":true,"b":1})"), "member \"s\" must be a string");
  EXPECT_EQ(message(R"({"a":1,"s":"x","o":null,"b":1})"), "member \"o\" must be a string");
  EXPECT_EQ(message(R"({"a":1,"s":"x","z":3,"b":1})"), "member \"z\" must be a string");
  // Several bad members: the first in binding order is reported, whatever the document order.
  EXPECT_EQ(message(R"({"b":1.5,"s":"x","a":2.5})"), "member \"a\" must be an integer, got '2.5'");
  EXPECT_EQ(message(R"({"s":1,"b":"q","a":1})"), "member \"s\" must be a string");
  EXPECT_EQ(message(R"({"b":"q","a":1,"s":"x"})"), "member \"b\" must be an integer, got 'q'");
  EXPECT_EQ(message(R"({"a":1,"s":"x","b":1})"), "");
}

TEST(JsonWriterTest, WritesNumbersAsFmtDoes) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{42}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string out;
    AppendJsonNumber(&out, v);
    EXPECT_EQ(out, fmt::format("{}", v));
  }
  SplitMix64 r(5);
  std::vector<double> ds = {0.0,
                            -0.0,
                            1.0,
                            0.1,
                            1e16,
                            1e15,
                            1e-5,
                            123456.789,
                            std::numeric_limits<double>::max(),
                            std::numeric_limits<double>::min(),
                            std::numeric_limits<double>::denorm_min()};
  for (int i = 0; i < 2000; ++i) {
    ds.push_back(0.908 * static_cast<double>(r.Below(1000000) + 1));
    ds.push_back(std::ldexp(r.Unit() - 0.5, static_cast<int>(r.Below(200)) - 100));
  }
  for (double d : ds) {
    std::string out;
    AppendJsonNumber(&out, d);
    EXPECT_EQ(out, fmt::format("{}", d));
  }
  EXPECT_EQ(JsonWriter().Add("p", 2.5).Add("n", int64_t{-7}).Add("d", 1e300).Finish(),
            R"({"p":2.5,"n":-7,"d":1e+300})");
}

// Escaping and unescaping find a special byte at every offset (the scans go 8 bytes at a time).
TEST(JsonWriterTest, EscapesAndReadsBackSpecialBytesAtEveryOffset) {
  auto escaped = [](std::string_view s) {  // the plain way
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\t') {
        out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\xc3', ' '}) {
    for (size_t len = 1; len <= 20; ++len) {
      for (size_t at = 0; at < len; ++at) {
        std::string s(len, 'a');
        s[at] = special;
        std::string out;
        AppendJsonString(&out, s);
        ASSERT_EQ(out, escaped(s)) << int(special) << " at " << at << " of " << len;
        Status st;
        auto ms = ReadAll("{" + out + ":" + out + "}", &st);
        ASSERT_TRUE(st.ok()) << st;
        ASSERT_EQ(ms.size(), 1u);
        EXPECT_EQ(ms[0].name, s);
        EXPECT_EQ(ms[0].text, s);
      }
    }
  }
}

TEST(JsonWriterTest, LongAndEscapedNamesAndValuesTakeTheGeneralPath) {
  std::string long_name(60, 'n');
  std::string got = JsonWriter()
                        .Add("q\"uote", int64_t{1})
                        .Add(long_name, 2.5)
                        .Add("s", "tab\there")
                        .Add(long_name, "v")
                        .Add("a\\b", "plain")
                        .Finish();
  std::string want = "{";
  auto key = [&](std::string_view n) {
    if (want.size() > 1) want += ',';
    AppendJsonString(&want, n);
    want += ':';
  };
  key("q\"uote");
  want += "1";
  key(long_name);
  want += "2.5";
  key("s");
  AppendJsonString(&want, "tab\there");
  key(long_name);
  AppendJsonString(&want, "v");
  key("a\\b");
  AppendJsonString(&want, "plain");
  want += "}";
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.substr(0, 17), R"({"q\"uote":1,"nnn)");
}

TEST(JsonWriterTest, WritesIntoAGivenBufferReplacingItsContents) {
  std::string buf = "old contents that are longer than the new object";
  JsonWriter(&buf).Add("a", "x\"y").Add("n", int64_t{3}).AddNull("z").End();
  EXPECT_EQ(buf, R"({"a":"x\"y","n":3,"z":null})");
  Bid b{.auction = 1001, .bidder = 1002, .price = 77, .channel = "Apple", .url = "u\n"};
  b.date_time = 1700000000000;
  ToJson(b, &buf);
  EXPECT_EQ(buf, ToJson(b));
  auto back = ParseBid(buf);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == b);
}

// Generated records with random damage parse to the same value, or fail with the same message,
// as with the parsing before.
std::string Damage(std::string s, SplitMix64& r) {
  static const std::string kBytes = "\"\\{}[],: -+.0123456789eEtrufalsn/ubx\t\n";
  int edits = 1 + static_cast<int>(r.Below(3));
  for (int e = 0; e < edits; ++e) {
    size_t at = s.empty() ? 0 : r.Below(s.size());
    char c = kBytes[r.Below(kBytes.size())];
    switch (r.Below(5)) {
      case 0:
        if (!s.empty()) s[at] = c;
        break;
      case 1:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
        break;
      case 2:
        if (!s.empty()) s.erase(at, 1 + r.Below(4));
        break;
      case 3: {  // duplicate a span (e.g. a member)
        size_t len = r.Below(20);
        s.insert(at, s.substr(at, len));
        break;
      }
      default:
        s.insert(at, "\\u00");
        break;
    }
  }
  return s;
}

template <typename T, typename New, typename Ref>
void ExpectSameAsReference(const std::string& text, New parse, Ref ref) {
  Result<T> a = parse(text);
  Result<T> b = ref(text);
  ASSERT_EQ(a.ok(), b.ok()) << text << "\nnew: " << a.status() << "\nref: " << b.status();
  if (a.ok()) {
    EXPECT_TRUE(*a == *b) << text;
  } else {
    EXPECT_EQ(a.status().message(), b.status().message()) << text;
  }
}

// Documents at the edges of JsonFields' shortcut for JsonWriter's own layout parse as before.
TEST(JsonFieldsTest, WriterLayoutShortcutEdgesParseAsBefore) {
  const std::string head = R"({"auction":1000,"bidder":1001,"price":)";
  const std::string tail =
      R"(,"channel":"Google","url":"https://x/y","date_time":1700000000000,"extra":""})";
  for (std::string price : std::vector<std::string>{
           "5", "0", "-0", "01", "-", "123456789012345678", "1234567890123456789",
           "9223372036854775807", "92233720368547758070", "1.5", "1e3", "\"5\"", "null", "true"}) {
    ExpectSameAsReference<Bid>(head + price + tail, ParseBid, RefParseBid);
  }
  const std::string ok = head + "5" + tail;
  const std::vector<std::string> docs = {
      ok,
      ok + " ",
      ok + "}",
      " " + ok,
      ok.substr(0, ok.size() - 1),
      R"({"auction":1000,"bidder":1001,"price":5,"channel":"Google","url":"https://x/y","date_time":1700000000000})",
      R"({"auction":1000,"bidder":1001,"price":5,"channel":"Goo\"gle","url":"u","date_time":1700000000000,"extra":""})",
      R"({"auction":1000,"bidder":1001,"price":5,"channel":"G","url":"u","date_time":1700000000000,"extra":"","price":6})",
      R"({"auction":1000, "bidder":1001,"price":5,"channel":"G","url":"u","date_time":1700000000000,"extra":""})"};
  for (const std::string& v : docs) ExpectSameAsReference<Bid>(v, ParseBid, RefParseBid);
  for (std::string v :
       std::vector<std::string>{R"({"user":"u1","page":"/p","referrer":"","ts":1700000000000})",
                                R"({"user":"u1","page":"/p","referrer":null,"ts":1700000000000})",
                                R"({"user":"","page":"/p","referrer":"","ts":1700000000000})",
                                R"({"user":"u1","page":"/p","ts":1700000000000})",
                                R"({"user":"u1","page":"/p","referrer":"","ts":-5})"}) {
    ExpectSameAsReference<PageView>(v, ParsePageView, RefParsePageView);
  }
}

TEST(JsonFieldsTest, PageViewsParseAsBeforeUnderRandomDamage) {
  ClickstreamOptions o{.events = 1500, .users = 7, .pages = 5, .seed = 3};
  SplitMix64 r(11);
  int failed = 0, total = 0;
  GenerateClickstream(o, [&](const GeneratedRecord& g) {
    std::string variants[] = {g.value, Damage(g.value, r), Damage(g.value, r), Damage(g.value, r)};
    for (const auto& v : variants) {
      ExpectSameAsReference<PageView>(v, ParsePageView, RefParsePageView);
      failed += !ParsePageView(v).ok();
      ++total;
    }
  });
  // Both outcomes were exercised.
  EXPECT_GT(failed, total / 10);
  EXPECT_LT(failed, total);
}

TEST(JsonFieldsTest, BidsParseAsBeforeUnderRandomDamage) {
  NexmarkOptions o{.events = 2000, .seed = 9};
  SplitMix64 r(13);
  int failed = 0, total = 0;
  GenerateNexmark(o, [&](const NexmarkRecord& n) {
    if (n.kind != NexmarkRecord::Kind::kBid) return;
    std::string variants[] = {n.record.value, Damage(n.record.value, r), Damage(n.record.value, r),
                              Damage(n.record.value, r)};
    for (const auto& v : variants) {
      ExpectSameAsReference<Bid>(v, ParseBid, RefParseBid);
      failed += !ParseBid(v).ok();
      ++total;
    }
  });
  EXPECT_GT(failed, total / 10);
  EXPECT_LT(failed, total);
}

TEST(JsonFieldsTest, FlatJsonAgreesWithTheReferenceUnderRandomDamage) {
  NexmarkOptions o{.events = 200, .seed = 4};
  SplitMix64 r(17);
  GenerateNexmark(o, [&](const NexmarkRecord& n) {
    for (int i = 0; i < 3; ++i) {
      std::string v = Damage(n.record.value, r);
      auto a = FlatJson::Parse(v);
      auto b = RefParse(v);
      ASSERT_EQ(a.ok(), b.ok()) << v;
      if (!a.ok()) {
        EXPECT_EQ(a.status().message(), b.status().message());
        continue;
      }
      ASSERT_EQ(a->members().size(), b->size()) << v;
      for (size_t k = 0; k < b->size(); ++k) {
        EXPECT_EQ(a->members()[k].name, (*b)[k].name);
        EXPECT_EQ(a->members()[k].text, (*b)[k].text);
        EXPECT_EQ(a->members()[k].is_string, (*b)[k].is_string);
        EXPECT_EQ(a->members()[k].is_null, (*b)[k].is_null);
      }
    }
  });
}

}  // namespace
}  // namespace sluice::examples
