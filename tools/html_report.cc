#include "tools/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace sluice::tools {
namespace {

// The value of top-level-looking field `key` in a flat JSON object written by our jobs: the
// number after `"key":`, or the string (without escapes; page names have none).
std::optional<std::string_view> Field(std::string_view json, std::string_view key) {
  const std::string needle = fmt::format("\"{}\":", key);
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  at += needle.size();
  while (at < json.size() && json[at] == ' ') ++at;
  if (at >= json.size()) return std::nullopt;
  if (json[at] == '"') {
    const size_t end = json.find('"', at + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return json.substr(at + 1, end - at - 1);
  }
  size_t end = at;
  while (end < json.size() && (json[end] == '-' || (json[end] >= '0' && json[end] <= '9'))) ++end;
  if (end == at) return std::nullopt;
  return json.substr(at, end - at);
}

std::optional<int64_t> Number(std::string_view json, std::string_view key) {
  auto f = Field(json, key);
  if (!f) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(f->data(), f->data() + f->size(), v);
  if (ec != std::errc() || p != f->data() + f->size()) return std::nullopt;
  return v;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Clock(int64_t epoch_ms) {
  const int64_t m = (epoch_ms / 60000) % (24 * 60);
  return fmt::format("{:02}:{:02}", m / 60, m % 60);
}

// Chart geometry (px): the plot area inside each SVG.
constexpr int kWidth = 960, kHeight = 360, kLeft = 60, kRight = 20, kTop = 20, kBottom = 40;
constexpr int kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

std::string Axes(int64_t y_max, const std::vector<std::pair<double, std::string>>& x_ticks) {
  std::string s = fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#444\"/>"
      "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#444\"/>",
      kLeft, kTop, kTop + kPlotH, kLeft + kPlotW);
  for (int i = 0; i <= 4; ++i) {
    const double y = kTop + kPlotH - kPlotH * i / 4.0;
    s += fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"end\" fill=\"#444\">{}</text>",
        kLeft - 6, y + 4, y_max * i / 4);
  }
  for (const auto& [x, label] : x_ticks) {
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" "
        "fill=\"#444\">{}</text>",
        x, kTop + kPlotH + 18, Escape(label));
  }
  return s;
}

std::string LineChart(const AnalyticsData& d, size_t top) {
  std::vector<std::pair<int64_t, std::string>> totals;
  for (const auto& [page, windows] : d.views) {
    int64_t sum = 0;
    for (const auto& [w, v] : windows) sum += v;
    totals.emplace_back(sum, page);
  }
  std::sort(totals.begin(), totals.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  totals.resize(std::min({totals.size(), top, kSeriesColors.size()}));
  int64_t t_min = INT64_MAX, t_max = INT64_MIN, y_max = 1;
  for (const auto& [sum, page] : totals) {
    for (const auto& [w, v] : d.views.at(page)) {
      t_min = std::min(t_min, w);
      t_max = std::max(t_max, w);
      y_max = std::max(y_max, v);
    }
  }
  auto x_of = [&](int64_t w) {
    return t_max == t_min ? kLeft + kPlotW / 2.0
                          : kLeft + kPlotW * static_cast<double>(w - t_min) /
                                        static_cast<double>(t_max - t_min);
  };
  auto y_of = [&](int64_t v) {
    return kTop + kPlotH - kPlotH * static_cast<double>(v) / static_cast<double>(y_max);
  };
  std::vector<std::pair<double, std::string>> ticks;
  if (!totals.empty()) {
    for (int i = 0; i <= 4; ++i) {
      const int64_t w = t_min + (t_max - t_min) * i / 4;
      ticks.emplace_back(x_of(w), Clock(w));
    }
  }
  std::string svg = fmt::format(
      "<svg id=\"views\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">", kWidth,
      kHeight);
  svg += Axes(y_max, ticks);
  std::string legend = "<p class=\"legend\">";
  for (size_t i = 0; i < totals.size(); ++i) {
    const std::string& page = totals[i].second;
    std::string points;
    for (const auto& [w, v] : d.views.at(page)) {
      points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", x_of(w), y_of(v));
    }
    svg += fmt::format(
        "<polyline class=\"series\" data-page=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"3\" points=\"{}\"/>",
        Escape(page), kSeriesColors[i], points);
    legend += fmt::format("<span><i style=\"background:{}\"></i>{} ({} views)</span>",
                          kSeriesColors[i], Escape(page), totals[i].first);
  }
  if (totals.empty()) {
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"16\" text-anchor=\"middle\" fill=\"#888\">no page "
        "views in the topic</text>",
        kLeft + kPlotW / 2, kTop + kPlotH / 2);
  }
  return svg + "</svg>" + legend + "</p>";
}

std::string Histogram(const AnalyticsData& d) {
  std::array<int64_t, kSessionBucketsMin.size() + 1> counts{};
  for (int64_t ms : d.session_ms) {
    size_t i = 0;
    while (i < kSessionBucketsMin.size() && ms >= kSessionBucketsMin[i] * 60000) ++i;
    ++counts[i];
  }
  int64_t y_max = 1;
  for (int64_t c : counts) y_max = std::max(y_max, c);
  const double slot = static_cast<double>(kPlotW) / counts.size();
  std::vector<std::pair<double, std::string>> ticks;
  for (size_t i = 0; i < counts.size(); ++i) {
    const int64_t lo = i == 0 ? 0 : kSessionBucketsMin[i - 1];
    ticks.emplace_back(kLeft + slot * (i + 0.5),
                       i < kSessionBucketsMin.size()
                           ? fmt::format("{}–{} min", lo, kSessionBucketsMin[i])
                           : fmt::format("≥ {} min", lo));
  }
  std::string svg = fmt::format(
      "<svg id=\"sessions\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">",
      kWidth, kHeight);
  svg += Axes(y_max, ticks);
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double h = kPlotH * static_cast<double>(counts[i]) / static_cast<double>(y_max);
    svg += fmt::format(
        "<rect class=\"bar\" data-count=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
        "height=\"{:.1f}\" fill=\"{}\"/>",
        counts[i], kLeft + slot * i + slot * 0.15, kTop + kPlotH - h, slot * 0.7, h, kBarColor);
  }
  if (d.session_ms.empty()) {
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"16\" text-anchor=\"middle\" fill=\"#888\">no "
        "sessions in the topic</text>",
        kLeft + kPlotW / 2, kTop + kPlotH / 2);
  }
  return svg + "</svg>";
}

}  // namespace

bool AddPageViews(std::string_view json, AnalyticsData* data) {
  auto page = Field(json, "page");
  auto start = Number(json, "window_start");
  auto views = Number(json, "views");
  if (!page || !start || !views) return false;
  data->views[std::string(*page)][*start] = *views;
  return true;
}

bool AddSession(std::string_view json, AnalyticsData* data) {
  auto ms = Number(json, "duration_ms");
  if (!ms) return false;
  data->session_ms.push_back(*ms);
  return true;
}

std::string RenderAnalyticsReport(const AnalyticsData& data, size_t top, std::string_view title) {
  size_t windows = 0;
  for (const auto& [page, w] : data.views) windows = std::max(windows, w.size());
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>"
      "body{{margin:0;padding:16px 24px;font-family:sans-serif;color:#222;background:#fff}}"
      "h1{{font-size:20px;margin:0;position:absolute;top:12px;left:24px}}"
      "h2{{font-size:16px;margin:0;position:absolute;left:24px}}#h-views{{top:48px}}"
      "#h-sessions{{top:470px}}#views{{position:absolute;top:72px;left:24px}}"
      ".legend{{position:absolute;top:436px;left:84px;margin:0}}"
      "#sessions{{position:absolute;top:494px;left:24px}}"
      ".legend span{{margin-right:18px;font-size:13px}}.legend i{{display:inline-block;"
      "width:14px;height:14px;margin-right:5px;vertical-align:middle}}svg{{display:block}}"
      "</style></head><body>\n<h1>{0}</h1>\n<h2 id=\"h-views\">Views per minute, top {1} pages "
      "({2} pages, "
      "{3} one-minute windows)</h2>\n{4}\n<h2 id=\"h-sessions\">Session lengths ({5} "
      "sessions)</h2>\n{6}\n"
      "</body></html>\n",
      Escape(title), std::min({top, kSeriesColors.size(), data.views.size()}), data.views.size(),
      windows, LineChart(data, top), data.session_ms.size(), Histogram(data));
}

}  // namespace sluice::tools
