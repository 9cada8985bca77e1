// The pageviews and sessions examples through the TestDriver, checked against a plain
// recomputation over the generated clickstream; bad input goes to the dead-letter topic.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "examples/clickstream.h"
#include "examples/enrich.h"
#include "examples/json.h"
#include "examples/pageviews.h"
#include "examples/sessions.h"
#include "operators/test_driver.h"

namespace sluice::examples {
namespace {

using testing::TestDriver;

std::vector<GeneratedRecord> Clicks(int64_t events, double late_fraction, uint64_t seed = 7,
                                    int64_t interval_ms = 1000) {
  ClickstreamOptions o{.events = events,
                       .users = 20,
                       .pages = 12,
                       .seed = seed,
                       .late_fraction = late_fraction,
                       .interval_ms = interval_ms};
  std::vector<GeneratedRecord> out;
  GenerateClickstream(o, [&](const GeneratedRecord& r) { out.push_back(r); });
  return out;
}

TestDriver DriverFor(void (*add)(TopologyBuilder&)) {
  TopologyBuilder b;
  add(b);
  auto t = b.Build();
  EXPECT_TRUE(t.ok()) << t.status();
  return TestDriver(std::move(t).value());
}

void PipeAll(TestDriver& d, const std::vector<GeneratedRecord>& recs) {
  for (const auto& r : recs) {
    Status s = d.PipeBytes("clicks", r.key, r.value, r.timestamp);
    ASSERT_TRUE(s.ok()) << s;
  }
  ASSERT_TRUE(d.EndInput().ok());
}

FlatJson J(const std::string& s) {
  auto j = FlatJson::Parse(s);
  EXPECT_TRUE(j.ok()) << j.status() << " in " << s;
  return j.ok() ? *j : FlatJson();
}

TEST(JsonTest, RoundTripsAndRejectsBadInput) {
  std::string s = JsonWriter().Add("a", "x\"y\n").Add("n", int64_t{-5}).Add("b", true).Finish();
  EXPECT_EQ(s, R"({"a":"x\"y\n","n":-5,"b":true})");
  auto j = FlatJson::Parse(s);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j->GetString("a"), "x\"y\n");
  EXPECT_EQ(*j->GetInt("n"), -5);
  EXPECT_FALSE(j->GetInt("a").ok());
  EXPECT_FALSE(j->GetString("missing").ok());
  EXPECT_FALSE(FlatJson::Parse("{\"a\":").ok());
  EXPECT_FALSE(FlatJson::Parse("{\"a\":{\"b\":1}}").ok());
  EXPECT_FALSE(FlatJson::Parse("[1]").ok());
  EXPECT_FALSE(FlatJson::Parse("{\"a\":1} x").ok());
}

TEST(ClickstreamTest, IsDeterministicForASeedAndParses) {
  auto a = Clicks(500, 0.05, 3), b = Clicks(500, 0.05, 3), c = Clicks(500, 0.05, 4);
  ASSERT_EQ(a.size(), 500u);
  bool same = true, differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].value == b[i].value && a[i].timestamp == b[i].timestamp;
    differs = differs || a[i].value != c[i].value;
    auto v = ParsePageView(a[i].value);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->user, a[i].key);
    EXPECT_EQ(v->ts, a[i].timestamp.value());
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs);
}

// Independent recomputation for pageviews on one partition: a record is late when its window's
// end + grace is at or below (max event time before it) - out-of-orderness.
struct Expected {
  std::map<std::pair<std::string, int64_t>, int64_t> counts;  // (page, window start) -> views
  int64_t late = 0;
  std::multiset<std::pair<std::string, std::string>> late_records;  // (page, original value)
};

Expected RecomputePageviews(const std::vector<GeneratedRecord>& recs, const PageviewsOptions& o) {
  Expected e;
  int64_t max_ts = INT64_MIN;
  for (const auto& r : recs) {
    auto v = ParsePageView(r.value);
    if (!v.ok()) continue;
    int64_t start = v->ts / o.window_ms * o.window_ms;
    bool late =
        max_ts != INT64_MIN && start + o.window_ms + o.grace_ms <= max_ts - o.out_of_order_ms;
    if (late) {
      ++e.late;
      e.late_records.insert({v->page, r.value});
    } else {
      ++e.counts[{v->page, start}];
    }
    max_ts = std::max(max_ts, v->ts);
  }
  return e;
}

TEST(PageviewsTest, MatchesARecomputationIncludingLateRecordsAndTopLists) {
  auto recs = Clicks(3000, 0.03);
  PageviewsOptions o;
  TestDriver d = DriverFor([](TopologyBuilder& b) { AddPageviews(b); });
  PipeAll(d, recs);
  Expected e = RecomputePageviews(recs, o);
  ASSERT_GT(e.late, 0);
  std::map<std::pair<std::string, int64_t>, int64_t> got;
  for (const auto& r : d.ReadOutput(o.counts_output)) {
    FlatJson j = J(r.value);
    EXPECT_EQ(r.key, *j.GetString("page"));
    EXPECT_EQ(*j.GetInt("window_end") - *j.GetInt("window_start"), o.window_ms);
    auto [it, fresh] =
        got.emplace(std::pair(*j.GetString("page"), *j.GetInt("window_start")), *j.GetInt("views"));
    EXPECT_TRUE(fresh) << "window emitted twice: " << r.value;
  }
  EXPECT_EQ(got, e.counts);
  EXPECT_EQ(d.late_records(), e.late);
  // Late records go out keyed by page with their values as they came in.
  std::multiset<std::pair<std::string, std::string>> late_out;
  for (const auto& r : d.ReadOutput(o.late_topic)) late_out.insert({r.key, r.value});
  EXPECT_EQ(late_out, e.late_records);
  // Top lists: per window, the 10 best by views, ties by page name.
  std::map<int64_t, std::vector<std::pair<int64_t, std::string>>> per_window;
  for (const auto& [k, n] : e.counts) per_window[k.second].push_back({-n, k.first});
  auto top = d.ReadOutput(o.top_output);
  ASSERT_EQ(top.size(), per_window.size());
  for (const auto& r : top) {
    int64_t start = std::stoll(r.key);
    auto& want = per_window[start];
    std::sort(want.begin(), want.end());
    std::string list = "[";
    for (size_t i = 0; i < want.size() && i < 10; ++i) {
      if (i > 0) list += ",";
      list += JsonWriter().Add("page", want[i].second).Add("views", -want[i].first).Finish();
    }
    list += "]";
    EXPECT_EQ(r.value, JsonWriter()
                           .Add("window_start", start)
                           .Add("window_end", start + o.window_ms)
                           .AddRaw("top", list)
                           .Finish());
  }
  EXPECT_TRUE(d.ReadOutput(o.dead_letter_topic).empty());
}

TEST(PageviewsTest, BadInputGoesToTheDeadLetterTopicWithTheReason) {
  TestDriver d = DriverFor([](TopologyBuilder& b) { AddPageviews(b); });
  auto pipe = [&](const std::string& v, int64_t ts) {
    ASSERT_TRUE(d.PipeBytes("clicks", "u1", v, Timestamp(ts)).ok());
  };
  pipe(R"({"user":"u1","page":"/a","referrer":"","ts":1700000000000})", 1700000000000);
  pipe("not json", 1700000000001);
  pipe(R"({"user":"u1","page":"/a","ts":-5})", 1);
  pipe(R"({"user":"u1","page":"/a","ts":99999999999999})", 99999999999999);
  pipe(R"({"user":"u1","ts":1700000000002})", 1700000000002);
  pipe(R"({"user":"u1","page":"/a","referrer":"","ts":1700000001000})", 1700000001000);
  ASSERT_TRUE(d.EndInput().ok());
  auto dead = d.ReadOutput("pageviews-dead-letters");
  ASSERT_EQ(dead.size(), 4u);
  EXPECT_NE(J(dead[0].value).GetString("reason")->find("not a flat JSON object"),
            std::string::npos);
  EXPECT_EQ(*J(dead[0].value).GetString("value"), "not json");
  EXPECT_NE(J(dead[1].value).GetString("reason")->find("before 1970"), std::string::npos);
  EXPECT_NE(J(dead[2].value).GetString("reason")->find("in the future"), std::string::npos);
  EXPECT_NE(J(dead[3].value).GetString("reason")->find("\"page\" is missing"), std::string::npos);
  // The far-future record did not move the watermark: both good views are in one window.
  auto counts = d.ReadOutput("pageviews-counts");
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(*J(counts[0].value).GetInt("views"), 2);
  EXPECT_EQ(d.late_records(), 0);
}

TEST(PageviewsTest, SummaryListsTheMostViewedPages) {
  std::vector<KeyValueText> counts = {
      {"/a", R"({"page":"/a","window_start":0,"window_end":60000,"views":3})"},
      {"/b", R"({"page":"/b","window_start":0,"window_end":60000,"views":5})"},
      {"/a", R"({"page":"/a","window_start":60000,"window_end":120000,"views":4})"}};
  std::string s = SummarizePageviews(counts, {}, 2, 1);
  EXPECT_NE(s.find("windows             2"), std::string::npos) << s;
  EXPECT_NE(s.find("page views counted  12"), std::string::npos) << s;
  EXPECT_LT(s.find("/a"), s.find("/b")) << s;  // /a has 7 views in total, /b 5
  EXPECT_NE(s.find("late records        2"), std::string::npos) << s;
}

// Independent sessionization over the records that are not late.
std::map<std::string, std::vector<std::tuple<int64_t, int64_t, int64_t, std::set<std::string>>>>
RecomputeSessions(const std::vector<GeneratedRecord>& recs, const SessionsOptions& o,
                  int64_t* late) {
  std::map<std::string, std::vector<PageView>> per_user;
  int64_t max_ts = INT64_MIN;
  *late = 0;
  for (const auto& r : recs) {
    auto v = ParsePageView(r.value);
    if (!v.ok()) continue;
    if (max_ts != INT64_MIN && v->ts + o.grace_ms < max_ts - o.out_of_order_ms) {
      ++*late;
    } else {
      per_user[v->user].push_back(*v);
    }
    max_ts = std::max(max_ts, v->ts);
  }
  std::map<std::string, std::vector<std::tuple<int64_t, int64_t, int64_t, std::set<std::string>>>>
      out;
  for (auto& [u, views] : per_user) {
    std::sort(views.begin(), views.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
    for (const auto& v : views) {
      auto& s = out[u];
      if (s.empty() || v.ts - std::get<1>(s.back()) > o.gap_ms) {
        s.emplace_back(v.ts, v.ts, 0, std::set<std::string>{});
      }
      std::get<1>(s.back()) = v.ts;
      ++std::get<2>(s.back());
      std::get<3>(s.back()).insert(v.page);
    }
  }
  return out;
}

TEST(SessionsTest, MatchesARecomputationOverTheOnTimeViews) {
  auto recs = Clicks(3000, 0.02, 7, 4000);  // 200 minutes: users come back after long breaks
  SessionsOptions o;
  TestDriver d = DriverFor([](TopologyBuilder& b) { AddSessions(b); });
  PipeAll(d, recs);
  int64_t late = 0;
  auto want = RecomputeSessions(recs, o, &late);
  std::map<std::string, std::vector<std::tuple<int64_t, int64_t, int64_t, std::set<std::string>>>>
      got;
  auto out = d.ReadOutput(o.output);
  size_t multi = 0;
  for (const auto& r : out) {
    std::string v = r.value;
    size_t p = v.find(",\"pages\":[");
    ASSERT_NE(p, std::string::npos);
    std::string pages = v.substr(p + 10, v.size() - p - 12);
    FlatJson j = J(v.substr(0, p) + "}");
    std::set<std::string> ps;
    size_t i = 0;
    while (i < pages.size()) {
      size_t e = pages.find('"', i + 1);
      ps.insert(pages.substr(i + 1, e - i - 1));
      i = e + 2;
    }
    EXPECT_EQ(r.key, *j.GetString("user"));
    got[r.key].emplace_back(*j.GetInt("start"), *j.GetInt("end"), *j.GetInt("views"), ps);
  }
  for (auto& [u, s] : got) {
    std::sort(s.begin(), s.end());
    if (s.size() > 1) ++multi;
  }
  EXPECT_EQ(got, want);
  EXPECT_GT(multi, 0u) << "the generator should give some users several sessions";
  EXPECT_EQ(d.late_records(), late);
  EXPECT_GT(late, 0);
  std::vector<KeyValueText> kv;
  for (const auto& r : out) kv.push_back({r.key, r.value});
  std::string summary = SummarizeSessions(kv, late, 0);
  EXPECT_NE(summary.find(fmt::format("sessions                {}", out.size())), std::string::npos)
      << summary;
}

TEST(SessionsTest, ARecordKeyedByAnotherUserIsADeadLetter) {
  TestDriver d = DriverFor([](TopologyBuilder& b) { AddSessions(b); });
  ASSERT_TRUE(d.PipeBytes("clicks", "u2", R"({"user":"u1","page":"/a","ts":1700000000000})",
                          Timestamp(1700000000000))
                  .ok());
  ASSERT_TRUE(d.EndInput().ok());
  auto dead = d.ReadOutput("sessions-dead-letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(J(dead[0].value).GetString("reason")->find("key page views by user"),
            std::string::npos);
  EXPECT_TRUE(d.ReadOutput("sessions").empty());
}

TEST(EnrichTest, JoinsViewsWithUsersAndCountsPerCountry) {
  TestDriver d = DriverFor([](TopologyBuilder& b) { AddEnrich(b); });
  std::map<std::string, std::string> country;
  GenerateUsers(15, 3, [&](const GeneratedRecord& r) {
    ASSERT_TRUE(d.PipeBytes("users", r.key, r.value, r.timestamp).ok());
    country[r.key] = *J(r.value).GetString("country");
  });
  // u15..u19 have no row; u3's row is broken (counts as none).
  ASSERT_TRUE(d.PipeBytes("users", "u3", "{broken", Timestamp(0)).ok());
  country.erase("u3");
  auto recs = Clicks(2000, 0.0);
  PipeAll(d, recs);
  EnrichOptions o;
  std::map<std::pair<std::string, int64_t>, int64_t> want;
  std::map<std::string, int64_t> unknown_users;
  for (const auto& r : recs) {
    auto v = ParsePageView(r.value);
    auto it = country.find(v->user);
    std::string c = it == country.end() ? "unknown" : it->second;
    ++want[{c, v->ts / o.window_ms * o.window_ms}];
  }
  std::map<std::pair<std::string, int64_t>, int64_t> got;
  std::vector<KeyValueText> counts;
  for (const auto& r : d.ReadOutput(o.counts_output)) {
    FlatJson j = J(r.value);
    got[{*j.GetString("country"), *j.GetInt("window_start")}] += *j.GetInt("views");
    counts.push_back({r.key, r.value});
  }
  EXPECT_EQ(got, want);
  auto enriched = d.ReadOutput(o.enriched_output);
  ASSERT_EQ(enriched.size(), recs.size());
  std::vector<KeyValueText> ev;
  for (const auto& r : enriched) {
    FlatJson j = J(r.value);
    auto it = country.find(*j.GetString("user"));
    EXPECT_EQ(*j.GetString("country"), it == country.end() ? "unknown" : it->second);
    ev.push_back({r.key, r.value});
  }
  std::string s = SummarizeEnrich(counts, ev, d.late_records(), 0);
  EXPECT_NE(s.find(fmt::format("enriched views          {}", recs.size())), std::string::npos) << s;
}

// With the users read as a GlobalTable (looked up by the view's user field), the outputs are
// those of the co-partitioned table.
TEST(EnrichTest, GlobalUsersGiveTheSameOutputsAsTheUsersTable) {
  auto run = [](bool global) {
    TestDriver d = global
                       ? DriverFor([](TopologyBuilder& b) { AddEnrich(b, {.global_users = true}); })
                       : DriverFor([](TopologyBuilder& b) { AddEnrich(b); });
    GenerateUsers(15, 3, [&](const GeneratedRecord& r) {
      ASSERT_TRUE(d.PipeBytes("users", r.key, r.value, r.timestamp).ok());
    });
    PipeAll(d, Clicks(2000, 0.0));
    EnrichOptions o;
    std::vector<std::string> out;
    for (const auto& topic : {o.enriched_output, o.counts_output}) {
      for (const auto& r : d.ReadOutput(topic)) out.push_back(topic + " " + r.key + " " + r.value);
    }
    return out;
  };
  std::vector<std::string> table = run(false);
  EXPECT_GT(table.size(), 2000u);
  EXPECT_EQ(run(true), table);
}

}  // namespace
}  // namespace sluice::examples

namespace sluice::examples {
namespace {

// Issue 15: a users table written with the wall clock (2026) beside page views in 2023 event
// time. The table is state, not time: when the views pause for longer than the idle timeout the
// watermark must stay with the views, so no open window is flushed and no later view is late.
TEST(EnrichTest, ATableDoesNotDriveTheStreamsWatermark) {
  TestDriver d = DriverFor([](TopologyBuilder& b) { AddEnrich(b); });
  const int64_t wall_clock_2026 = 1796000000000;
  GenerateUsers(20, 3, [&](const GeneratedRecord& r) {
    ASSERT_TRUE(d.PipeBytes("users", r.key, r.value, Timestamp(wall_clock_2026)).ok());
  });
  auto recs = Clicks(2000, 0.0);
  EnrichOptions o;
  std::map<std::pair<std::string, int64_t>, int64_t> want;
  for (const auto& r : recs) {
    auto v = ParsePageView(r.value);
    ASSERT_TRUE(v.ok());
    ++want[{"x", v->ts / o.window_ms * o.window_ms}];
  }
  for (size_t i = 0; i < recs.size(); ++i) {
    if (i == recs.size() / 2) ASSERT_TRUE(d.AdvanceWallClock(60000).ok());  // views pause
    ASSERT_TRUE(d.PipeBytes("clicks", recs[i].key, recs[i].value, recs[i].timestamp).ok());
  }
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_EQ(d.late_records(), 0);
  // Every window once, with all of its views (summed over countries).
  std::map<std::pair<std::string, int64_t>, int64_t> got;
  std::set<std::pair<std::string, int64_t>> seen;
  for (const auto& r : d.ReadOutput(o.counts_output)) {
    FlatJson j = J(r.value);
    std::pair<std::string, int64_t> w{*j.GetString("country"), *j.GetInt("window_start")};
    EXPECT_TRUE(seen.insert(w).second) << w.first << " " << w.second << " emitted twice";
    got[{"x", w.second}] += *j.GetInt("views");
  }
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace sluice::examples
