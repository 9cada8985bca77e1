// The clickstream: page views as `sluice gen clickstream` writes them and the pageviews,
// sessions and enrich examples read them.
//
// Record: key = user id, value = JSON
//   {"user":"u17","page":"/page/3","referrer":"/page/9","ts":1700000000123}
// ("referrer" is "" for an entry from outside the site), timestamp = "ts" (event time, epoch ms).
//
// The generator is deterministic for a seed: events are spread `interval_ms` apart from
// `start_ms`; users come and go in 20-minute activity periods (so sessions with a 30-minute gap
// have several per user); page popularity is skewed (low page numbers are viewed most). Each
// event is up to `max_disorder_ms` earlier than its slot (out of order within the bound), and a
// `late_fraction` of events are `late_by_ms` earlier still (late for 1-minute windows).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "operators/serde.h"

namespace sluice::examples {

struct PageView {
  std::string user;
  std::string page;
  std::string referrer;
  int64_t ts = 0;  // event time, epoch ms
  bool operator==(const PageView&) const = default;
};

std::string ToJson(const PageView& v);
// The same JSON written into *out (replacing its contents, reusing its capacity).
void ToJson(const PageView& v, std::string* out);
// Parses and checks a page view: JSON shape, non-empty user and page, and a plausible event
// time (see CheckEventTime). The error says what is wrong.
Result<PageView> ParsePageView(std::string_view json);

// Event times must lie between 1970 and one year after now; anything else is bad input.
Status CheckEventTime(int64_t ts);

struct ClickstreamOptions {
  int64_t events = 10000;
  int users = 100;
  int pages = 50;
  uint64_t seed = 1;
  double late_fraction = 0.0;
  int64_t start_ms = 1700000000000;  // 2023-11-14T22:13:20Z
  int64_t interval_ms = 100;
  int64_t max_disorder_ms = 2000;
  int64_t late_by_ms = 5 * 60 * 1000;
};

// Empty when valid, else what to fix.
std::string Validate(const ClickstreamOptions& o);

struct GeneratedRecord {
  std::string key;
  std::string value;
  Timestamp timestamp;
  bool made_late = false;  // the generator moved it late_by_ms back
};

// Calls emit for each event in order. REQUIRES: Validate(o) is empty.
void GenerateClickstream(const ClickstreamOptions& o,
                         const std::function<void(const GeneratedRecord&)>& emit);

// A small deterministic PRNG (splitmix64): the same numbers on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t s_;
};

}  // namespace sluice::examples

template <>
struct sluice::SerdeFor<sluice::examples::PageView> {
  static sluice::SerdePtr<sluice::examples::PageView> Get();
};
