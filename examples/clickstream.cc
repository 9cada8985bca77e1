#include "examples/clickstream.h"

#include <fmt/format.h>

#include <atomic>
#include <vector>

#include "examples/json.h"

namespace sluice::examples {

void ToJson(const PageView& v, std::string* out) {
  JsonWriter(out)
      .Add("user", v.user)
      .Add("page", v.page)
      .Add("referrer", v.referrer)
      .Add("ts", v.ts)
      .End();
}

std::string ToJson(const PageView& v) { return JsonString(v, &ToJson); }

Status CheckEventTime(int64_t ts) {
  if (ts < 0) return InvalidArgument("event time {} is before 1970", ts);
  constexpr int64_t kYearMs = 365LL * 24 * 3600 * 1000;
  // The limit only grows with the clock, so a time within a limit read earlier is within the
  // current one: the clock is read only for times beyond the last limit seen.
  static std::atomic<int64_t> known_limit{0};
  if (ts <= known_limit.load(std::memory_order_relaxed)) return Status::Ok();
  int64_t limit = Now().value() + kYearMs;
  known_limit.store(limit, std::memory_order_relaxed);
  if (ts > limit) {
    return InvalidArgument("event time {} is more than a year in the future", ts);
  }
  return Status::Ok();
}

Result<PageView> ParsePageView(std::string_view json) {
  PageView v;
  JsonFields f;
  f.String("user", &v.user)
      .String("page", &v.page)
      .NullableString("referrer", &v.referrer)
      .Int("ts", &v.ts);
  SLUICE_RETURN_IF_ERROR(f.Parse(json));
  if (v.user.empty()) return InvalidArgument("member \"user\" is empty");
  if (v.page.empty()) return InvalidArgument("member \"page\" is empty");
  SLUICE_RETURN_IF_ERROR(CheckEventTime(v.ts));
  return v;
}

std::string Validate(const ClickstreamOptions& o) {
  if (o.events < 0) return "--events must be 0 or more";
  if (o.users < 1) return "--users must be 1 or more";
  if (o.pages < 1) return "--pages must be 1 or more";
  if (o.late_fraction < 0 || o.late_fraction > 1) return "--late-fraction must be in [0, 1]";
  if (o.interval_ms < 0) return "the event interval must be 0 or more";
  if (o.max_disorder_ms < 0 || o.late_by_ms < 0) return "disorder and lateness must be 0 or more";
  return "";
}

void GenerateClickstream(const ClickstreamOptions& o,
                         const std::function<void(const GeneratedRecord&)>& emit) {
  SplitMix64 rng(o.seed);
  constexpr int64_t kPeriodMs = 20 * 60 * 1000;
  // Whether user u is active in activity period p: a fixed hash, about a third of periods.
  auto active = [&](int u, int64_t p) {
    SplitMix64 h(o.seed * 1000003u + static_cast<uint64_t>(u) * 7919u + static_cast<uint64_t>(p));
    return h.Below(3) == 0;
  };
  std::vector<std::string> last_page(static_cast<size_t>(o.users));
  std::vector<int64_t> last_ts(static_cast<size_t>(o.users), INT64_MIN);
  for (int64_t i = 0; i < o.events; ++i) {
    int64_t slot = o.start_ms + i * o.interval_ms;
    int64_t period = (slot - o.start_ms) / kPeriodMs;
    int user = static_cast<int>(rng.Below(static_cast<uint64_t>(o.users)));
    for (int tries = 0; tries < 8 && !active(user, period); ++tries) {
      user = static_cast<int>(rng.Below(static_cast<uint64_t>(o.users)));
    }
    double r = rng.Unit();
    int page = static_cast<int>(static_cast<double>(o.pages) * r * r);
    if (page >= o.pages) page = o.pages - 1;
    int64_t ts =
        slot - static_cast<int64_t>(rng.Below(static_cast<uint64_t>(o.max_disorder_ms) + 1));
    bool made_late = o.late_fraction > 0 && rng.Unit() < o.late_fraction;
    if (made_late) ts -= o.late_by_ms;
    if (ts < 0) ts = 0;
    PageView v;
    v.user = fmt::format("u{}", user);
    v.page = fmt::format("/page/{}", page);
    // A user who was away for more than 30 minutes comes back from outside the site.
    bool fresh = last_ts[user] == INT64_MIN || slot - last_ts[user] > 30 * 60 * 1000;
    v.referrer = fresh ? "" : last_page[user];
    v.ts = ts;
    last_page[user] = v.page;
    last_ts[user] = slot;
    emit(GeneratedRecord{v.user, ToJson(v), Timestamp(ts), made_late});
  }
}

}  // namespace sluice::examples

sluice::SerdePtr<sluice::examples::PageView> sluice::SerdeFor<sluice::examples::PageView>::Get() {
  using sluice::examples::PageView;
  static const auto serde = sluice::MakeSerde<PageView>(
      "pageview-json",
      [](const PageView& v, std::string* out) { sluice::examples::ToJson(v, out); },
      [](std::string_view b, PageView* out) -> sluice::Status {
        SLUICE_ASSIGN_OR_RETURN(*out, sluice::examples::ParsePageView(b));
        return sluice::Status::Ok();
      });
  return serde;
}
