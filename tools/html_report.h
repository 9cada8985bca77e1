// The analytics demo's HTML report: views per minute of the top pages (a line chart) and session
// lengths (a histogram), as inline SVG drawn here — no JavaScript, nothing fetched — so the file
// opens anywhere, offline. `sluice report` (cmd_report.cc) fills AnalyticsData from the
// pageviews and sessions jobs' output topics and writes the page.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::tools {

struct AnalyticsData {
  // pageviews-counts: views per (page, window start in epoch ms); the last record of a window
  // wins (a replay rewrites it with the same value).
  std::map<std::string, std::map<int64_t, int64_t>> views;
  // sessions: each closed session's duration in ms.
  std::vector<int64_t> session_ms;
};

// The line colours, in the order of the top pages, and the histogram's bar colour.
inline constexpr std::array<std::string_view, 5> kSeriesColors = {"#e6194b", "#3cb44b", "#4363d8",
                                                                  "#f58231", "#911eb4"};
inline constexpr std::string_view kBarColor = "#008080";

// Adds one pageviews-counts value ({"page","window_start","window_end","views"}) or one sessions
// value ({"duration_ms",...}); returns false (and adds nothing) if the fields are missing.
bool AddPageViews(std::string_view json, AnalyticsData* data);
bool AddSession(std::string_view json, AnalyticsData* data);

// The session-length histogram's buckets: upper bounds in minutes (the last is open).
inline constexpr std::array<int64_t, 7> kSessionBucketsMin = {1, 2, 5, 10, 20, 30, 60};

// The whole page: up to `top` pages (most views in total; ties by name) as one polyline each,
// point per window, and one bar per session bucket. Empty data draws empty axes and says so.
std::string RenderAnalyticsReport(const AnalyticsData& data, size_t top, std::string_view title);

}  // namespace sluice::tools
