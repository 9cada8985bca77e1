#include "examples/pageviews.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "examples/analytics_util.h"
#include "examples/clickstream.h"
#include "examples/json.h"
#include "operators/top_n.h"
#include "operators/windows.h"

namespace sluice::examples {

void AddPageviews(TopologyBuilder& b, const PageviewsOptions& o) {
  using std::chrono::milliseconds;
  b.EventTime({.max_out_of_orderness = milliseconds(o.out_of_order_ms)});
  auto parsed =
      b.Stream<std::string, std::string>(o.input)
          .MapValues(
              [](const std::string& v) {
                auto p = ToParsed(ParsePageView(v), v);
                if (p.ok) p.raw = v;  // carried through the repartition instead of re-encoding
                return p;
              },
              "parse-pageview")
          .WithEventTime(
              [](const std::string&, const Parsed<PageView>& p) -> std::optional<Timestamp> {
                if (!p.ok) return std::nullopt;
                return Timestamp(p.value.ts);
              },
              "pageview-time");
  auto branches = parsed.Branch([](const std::string&, const Parsed<PageView>& p) { return p.ok; },
                                [](const std::string&, const Parsed<PageView>&) { return true; });
  branches[1]
      .MapValues([topic = o.input](
                     const Parsed<PageView>& p) { return DeadLetterJson(p.reason, topic, p.raw); },
                 "pageview-dead-letter")
      .To(o.dead_letter_topic, "pageviews-dead-letter-sink");
  Windows w = Windows::Tumbling(milliseconds(o.window_ms)).Grace(milliseconds(o.grace_ms));
  if (!o.late_topic.empty()) w = w.LateRecordsTo(o.late_topic);
  // The window only counts, so the repartition by page carries the record's own value (which is
  // also what a late record is written as): no JSON writing and re-parsing per view.
  auto counts = branches[0]
                    .Map([](const std::string&,
                            const Parsed<PageView>& p) { return std::pair(p.value.page, p.raw); },
                         "key-by-page")
                    .GroupByKey()
                    .WindowedBy(w)
                    .Count("pageviews-per-page");
  counts
      .Map(
          [](const std::string& page, const WindowResult<int64_t>& r) {
            return std::pair(page, JsonWriter()
                                       .Add("page", page)
                                       .Add("window_start", r.start)
                                       .Add("window_end", r.end)
                                       .Add("views", r.value)
                                       .Finish());
          },
          "pageview-count-json")
      .To(o.counts_output, "pageviews-counts-sink");
  TopNPerWindow(
      counts, "pageviews-top-pages", static_cast<size_t>(o.top_n),
      [](const WindowResult<int64_t>& a, const WindowResult<int64_t>& b) {
        return a.value > b.value;
      },
      o.grace_ms)
      .Map(
          [](const int64_t& start,
             const WindowResult<std::vector<std::pair<std::string, int64_t>>>& r) {
            std::string top = "[";
            for (size_t i = 0; i < r.value.size(); ++i) {
              if (i > 0) top += ",";
              top += JsonWriter()
                         .Add("page", r.value[i].first)
                         .Add("views", r.value[i].second)
                         .Finish();
            }
            top += "]";
            return std::pair(std::to_string(start), JsonWriter()
                                                        .Add("window_start", r.start)
                                                        .Add("window_end", r.end)
                                                        .AddRaw("top", top)
                                                        .Finish());
          },
          "pageview-top-json")
      .To(o.top_output, "pageviews-top-sink");
}

std::string SummarizePageviews(const std::vector<KeyValueText>& counts,
                               const std::vector<KeyValueText>& top, int64_t late,
                               int64_t dead_letters) {
  std::map<std::string, int64_t> per_page;
  std::set<int64_t> windows;
  int64_t views = 0;
  for (const auto& r : counts) {
    auto j = FlatJson::Parse(r.value);
    if (!j.ok()) continue;
    auto page = j->GetString("page");
    auto n = j->GetInt("views");
    auto ws = j->GetInt("window_start");
    if (!page.ok() || !n.ok() || !ws.ok()) continue;
    per_page[*page] += *n;
    views += *n;
    windows.insert(*ws);
  }
  std::vector<std::pair<std::string, int64_t>> ranked(per_page.begin(), per_page.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = "pageviews summary\n";
  out += fmt::format("  windows             {}\n", windows.size());
  out += fmt::format("  page views counted  {}\n", views);
  out += fmt::format("  distinct pages      {}\n", per_page.size());
  out += fmt::format("  top-10 lists        {}\n", top.size());
  out += fmt::format("  late records        {}\n", late);
  out += fmt::format("  dead letters        {}\n", dead_letters);
  out += "  most viewed pages over all windows:\n";
  out += fmt::format("    {:<4} {:<24} {:>10}\n", "rank", "page", "views");
  for (size_t i = 0; i < ranked.size() && i < 10; ++i) {
    out += fmt::format("    {:<4} {:<24} {:>10}\n", i + 1, ranked[i].first, ranked[i].second);
  }
  return out;
}

}  // namespace sluice::examples
