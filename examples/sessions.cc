#include "examples/sessions.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/varint.h"
#include "examples/analytics_util.h"
#include "examples/clickstream.h"
#include "examples/json.h"
#include "operators/windows.h"

namespace sluice::examples {
namespace {

struct SessionAgg {
  int64_t views = 0;
  std::set<std::string> pages;
};

// Binary: views (8 bytes BE), then the pages separated by '\n'.
SerdePtr<SessionAgg> SessionAggSerde() {
  static const auto serde = MakeSerde<SessionAgg>(
      "session-agg",
      [](const SessionAgg& a, std::string* out) {
        out->assign(8, '\0');
        varint::PutBE64(out->data(), static_cast<uint64_t>(a.views));
        bool first = true;
        for (const auto& p : a.pages) {
          if (!first) out->push_back('\n');
          first = false;
          out->append(p);
        }
      },
      [](std::string_view b, SessionAgg* a) -> Status {
        if (b.size() < 8) return InvalidArgument("session aggregate shorter than 8 bytes");
        a->views = static_cast<int64_t>(varint::GetBE64(b.data()));
        a->pages.clear();
        b.remove_prefix(8);
        while (!b.empty()) {
          size_t nl = b.find('\n');
          a->pages.emplace(b.substr(0, nl));
          if (nl == std::string_view::npos) break;
          b.remove_prefix(nl + 1);
        }
        return Status::Ok();
      });
  return serde;
}

}  // namespace

void AddSessions(TopologyBuilder& b, const SessionsOptions& o) {
  using std::chrono::milliseconds;
  b.EventTime({.max_out_of_orderness = milliseconds(o.out_of_order_ms)});
  // Parse without touching the key (a key change would force a repartition).
  auto parsed =
      b.Stream<std::string, std::string>(o.input)
          .MapValues([](const std::string& v) { return ToParsed(ParsePageView(v), v); },
                     "parse-session-view")
          .WithEventTime(
              [](const std::string& k, const Parsed<PageView>& p) -> std::optional<Timestamp> {
                if (!p.ok || p.value.user != k) return std::nullopt;
                return Timestamp(p.value.ts);
              },
              "session-view-time");
  auto branches = parsed.Branch(
      [](const std::string& k, const Parsed<PageView>& p) { return p.ok && p.value.user == k; },
      [](const std::string&, const Parsed<PageView>&) { return true; });
  branches[1]
      .Map(
          [topic = o.input](const std::string& k, const Parsed<PageView>& p) {
            if (p.ok) {
              return std::pair(k,
                               DeadLetterJson(fmt::format("record key '{}' is not the page view's "
                                                          "user '{}'; key page views by user",
                                                          k, p.value.user),
                                              topic, ToJson(p.value)));
            }
            return std::pair(k, DeadLetterJson(p.reason, topic, p.raw));
          },
          "session-dead-letter")
      .To(o.dead_letter_topic, "sessions-dead-letter-sink");
  Windows w = Windows::Session(milliseconds(o.gap_ms)).Grace(milliseconds(o.grace_ms));
  if (!o.late_topic.empty()) w = w.LateRecordsTo(o.late_topic);
  // The key is the user and unchanged since the source: no repartition.
  branches[0]
      .MapValues([](const Parsed<PageView>& p) { return p.value; }, "session-view")
      .GroupByKey()
      .WindowedBy(w)
      .Aggregate(
          "user-sessions", [] { return SessionAgg{}; },
          [](const std::string&, const PageView& v, const SessionAgg& a) {
            SessionAgg n = a;
            ++n.views;
            n.pages.insert(v.page);
            return n;
          },
          SessionAggSerde(),
          [](const std::string&, const SessionAgg& a, const SessionAgg& b) {
            SessionAgg n = a;
            n.views += b.views;
            n.pages.insert(b.pages.begin(), b.pages.end());
            return n;
          })
      .Map(
          [](const std::string& user, const WindowResult<SessionAgg>& r) {
            return std::pair(user, JsonWriter()
                                       .Add("user", user)
                                       .Add("start", r.start)
                                       .Add("end", r.end)
                                       .Add("duration_ms", r.end - r.start)
                                       .Add("views", r.value.views)
                                       .Add("pages", std::vector<std::string>(r.value.pages.begin(),
                                                                              r.value.pages.end()))
                                       .Finish());
          },
          "session-json")
      .To(o.output, "sessions-sink");
}

std::string SummarizeSessions(const std::vector<KeyValueText>& sessions, int64_t late,
                              int64_t dead_letters) {
  std::map<std::string, int64_t> per_user;
  int64_t views = 0, duration = 0, longest = 0;
  std::string longest_user;
  for (const auto& r : sessions) {
    // "pages" is an array, which FlatJson does not read; cut it off first.
    std::string v = r.value;
    size_t p = v.find(",\"pages\":");
    if (p != std::string::npos) v = v.substr(0, p) + "}";
    auto j = FlatJson::Parse(v);
    if (!j.ok()) continue;
    auto u = j->GetString("user");
    auto n = j->GetInt("views");
    auto d = j->GetInt("duration_ms");
    if (!u.ok() || !n.ok() || !d.ok()) continue;
    ++per_user[*u];
    views += *n;
    duration += *d;
    if (*d > longest) {
      longest = *d;
      longest_user = *u;
    }
  }
  size_t count = sessions.size();
  std::vector<std::pair<std::string, int64_t>> ranked(per_user.begin(), per_user.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = "sessions summary\n";
  out += fmt::format("  sessions                {}\n", count);
  out += fmt::format("  users                   {}\n", per_user.size());
  out += fmt::format("  page views in sessions  {}\n", views);
  out += fmt::format("  avg views per session   {:.2f}\n",
                     count ? static_cast<double>(views) / static_cast<double>(count) : 0.0);
  out += fmt::format(
      "  avg duration            {:.1f} s\n",
      count ? static_cast<double>(duration) / static_cast<double>(count) / 1000.0 : 0.0);
  out += fmt::format("  longest session         {:.1f} s ({})\n",
                     static_cast<double>(longest) / 1000.0, longest_user);
  out += fmt::format("  late records            {}\n", late);
  out += fmt::format("  dead letters            {}\n", dead_letters);
  out += "  users with the most sessions:\n";
  out += fmt::format("    {:<12} {:>8}\n", "user", "sessions");
  for (size_t i = 0; i < ranked.size() && i < 5; ++i) {
    out += fmt::format("    {:<12} {:>8}\n", ranked[i].first, ranked[i].second);
  }
  return out;
}

}  // namespace sluice::examples
