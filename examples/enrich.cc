#include "examples/enrich.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "examples/analytics_util.h"
#include "examples/json.h"
#include "operators/joins.h"
#include "operators/windows.h"

namespace sluice::examples {
namespace {

struct EnrichedView {
  PageView view;
  std::string country, plan;
};

std::string ToJson(const EnrichedView& e) {
  return JsonWriter()
      .Add("user", e.view.user)
      .Add("page", e.view.page)
      .Add("referrer", e.view.referrer)
      .Add("ts", e.view.ts)
      .Add("country", e.country)
      .Add("plan", e.plan)
      .Finish();
}

SerdePtr<EnrichedView> EnrichedSerde() {
  static const auto s = MakeSerde<EnrichedView>(
      "enriched-view-json", [](const EnrichedView& e, std::string* out) { *out = ToJson(e); },
      [](std::string_view b, EnrichedView* e) -> Status {
        SLUICE_ASSIGN_OR_RETURN(e->view, ParsePageView(b));
        SLUICE_ASSIGN_OR_RETURN(FlatJson j, FlatJson::Parse(b));
        SLUICE_ASSIGN_OR_RETURN(e->country, j.GetString("country"));
        SLUICE_ASSIGN_OR_RETURN(e->plan, j.GetString("plan"));
        return Status::Ok();
      });
  return s;
}

}  // namespace

std::string ToJson(const UserRow& u) {
  return JsonWriter().Add("user", u.user).Add("country", u.country).Add("plan", u.plan).Finish();
}

Result<UserRow> ParseUserRow(std::string_view json) {
  SLUICE_ASSIGN_OR_RETURN(FlatJson j, FlatJson::Parse(json));
  UserRow u;
  SLUICE_ASSIGN_OR_RETURN(u.user, j.GetString("user"));
  SLUICE_ASSIGN_OR_RETURN(u.country, j.GetString("country"));
  SLUICE_ASSIGN_OR_RETURN(u.plan, j.GetString("plan"));
  return u;
}

void GenerateUsers(int users, uint64_t seed,
                   const std::function<void(const GeneratedRecord&)>& emit) {
  static constexpr std::array<const char*, 8> kCountries = {"US", "DE", "FR", "JP",
                                                            "BR", "IN", "GB", "NG"};
  static constexpr std::array<const char*, 3> kPlans = {"free", "pro", "team"};
  SplitMix64 r(seed ^ 0x5eed);
  for (int i = 0; i < users; ++i) {
    UserRow u{fmt::format("u{}", i), kCountries[r.Below(kCountries.size())],
              kPlans[r.Below(kPlans.size())]};
    emit(GeneratedRecord{u.user, ToJson(u), Timestamp(0)});
  }
}

void AddEnrich(TopologyBuilder& b, const EnrichOptions& o) {
  using std::chrono::milliseconds;
  b.EventTime({.max_out_of_orderness = milliseconds(o.out_of_order_ms)});
  Table<std::string, UserRow> users;
  GlobalTable<std::string, UserRow> global_users;
  if (o.global_users) {
    global_users = b.GlobalTable<std::string, UserRow>(o.users, "enrich-users");
  } else {
    users = b.Table<std::string, UserRow>(o.users, "enrich-users");
  }
  auto parsed = ParseOrDeadLetter<PageView>(
      b, o.input, o.dead_letter_topic, "enrich-view",
      [](std::string_view v) { return ParsePageView(v); }, [](const PageView& v) { return v.ts; });
  auto br = parsed.Branch([](const std::string& k, const PageView& v) { return k == v.user; },
                          [](const std::string&, const PageView&) { return true; });
  br[1]
      .Map(
          [topic = o.input](const std::string& k, const PageView& v) {
            return std::pair(k, DeadLetterJson(fmt::format("record key '{}' is not the page view's "
                                                           "user '{}'; key page views by user",
                                                           k, v.user),
                                               topic, ToJson(v)));
          },
          "enrich-key-dead-letter")
      .To(o.dead_letter_topic, "enrich-key-dead-letter-sink");
  auto enrich = [](const std::string&, const PageView& v, const std::optional<UserRow>& u) {
    bool ok = u.has_value() && u->valid;
    return EnrichedView{v, ok ? u->country : "unknown", ok ? u->plan : "unknown"};
  };
  auto enriched =
      (o.global_users ? JoinGlobal(
                            br[0], global_users, "enrich-join", JoinKind::kLeft,
                            [](const std::string&, const PageView& v) { return v.user; }, enrich)
                      : JoinTable(br[0], users, "enrich-join", JoinKind::kLeft, enrich))
          .WithSerdes({.value = EnrichedSerde()});
  enriched.MapValues([](const EnrichedView& e) { return ToJson(e); }, "enriched-json")
      .To(o.enriched_output, "enriched-sink");
  Windows w = Windows::Tumbling(milliseconds(o.window_ms)).Grace(milliseconds(o.grace_ms));
  if (!o.late_topic.empty()) w = w.LateRecordsTo(o.late_topic);
  enriched.KeyBy([](const std::string&, const EnrichedView& e) { return e.country; }, "by-country")
      .GroupByKey()
      .WindowedBy(w)
      .Count("enrich-views-per-country")
      .Map(
          [](const std::string& country, const WindowResult<int64_t>& r) {
            return std::pair(country, JsonWriter()
                                          .Add("country", country)
                                          .Add("window_start", r.start)
                                          .Add("window_end", r.end)
                                          .Add("views", r.value)
                                          .Finish());
          },
          "country-count-json")
      .To(o.counts_output, "country-counts-sink");
}

std::string SummarizeEnrich(const std::vector<KeyValueText>& counts,
                            const std::vector<KeyValueText>& enriched, int64_t late,
                            int64_t dead_letters) {
  std::map<std::string, int64_t> per_country;
  int64_t views = 0;
  for (const auto& r : counts) {
    auto j = FlatJson::Parse(r.value);
    if (!j.ok()) continue;
    auto c = j->GetString("country");
    auto n = j->GetInt("views");
    if (!c.ok() || !n.ok()) continue;
    per_country[*c] += *n;
    views += *n;
  }
  int64_t unknown = 0;
  for (const auto& r : enriched) {
    if (r.value.find("\"country\":\"unknown\"") != std::string::npos) ++unknown;
  }
  std::vector<std::pair<std::string, int64_t>> ranked(per_country.begin(), per_country.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = "enrich summary\n";
  out += fmt::format("  enriched views          {}\n", enriched.size());
  out += fmt::format("  views without a user    {}\n", unknown);
  out += fmt::format("  views in windows        {}\n", views);
  out += fmt::format("  late records            {}\n", late);
  out += fmt::format("  dead letters            {}\n", dead_letters);
  out += "  views per country over all windows:\n";
  out += fmt::format("    {:<10} {:>10}\n", "country", "views");
  for (const auto& [c, n] : ranked) out += fmt::format("    {:<10} {:>10}\n", c, n);
  return out;
}

}  // namespace sluice::examples

sluice::SerdePtr<sluice::examples::UserRow> sluice::SerdeFor<sluice::examples::UserRow>::Get() {
  using sluice::examples::UserRow;
  // Lenient: a row that does not parse becomes an invalid row (treated as missing by the join)
  // instead of stopping the job.
  static const auto serde = sluice::MakeSerde<UserRow>(
      "user-row-json",
      [](const UserRow& u, std::string* out) { *out = sluice::examples::ToJson(u); },
      [](std::string_view b, UserRow* out) -> sluice::Status {
        auto r = sluice::examples::ParseUserRow(b);
        if (r.ok()) {
          *out = *r;
        } else {
          *out = UserRow{};
          out->valid = false;
        }
        return sluice::Status::Ok();
      });
  return serde;
}
