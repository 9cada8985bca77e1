#include "tools/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sluice::tools {
namespace {

constexpr std::chrono::milliseconds kRedraw{250};  // at most 4 redraws a second

bool ProgressWanted() {
  if (const char* env = std::getenv("SLUICE_PROGRESS")) {
    if (std::string_view(env) == "0") return false;
    if (std::string_view(env) == "1") return true;
  }
  return isatty(STDERR_FILENO) == 1;
}

std::string Count(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

}  // namespace

ProgressLine::ProgressLine(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(ProgressWanted()),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { Clear(); }

void ProgressLine::Update(int64_t done, double fraction) {
  if (!enabled_) return;
  done_ = done;
  fraction_ = fraction;
  // Called per record: read the clock on every 64th call only.
  if ((calls_++ & 63) != 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedraw) return;
  Draw(now);
}

void ProgressLine::Poll(int64_t done, double fraction) {
  if (!enabled_) return;
  done_ = done;
  fraction_ = fraction;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedraw) return;
  Draw(now);
}

void ProgressLine::Draw(std::chrono::steady_clock::time_point now) {
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::string line = fmt::format("{}: {} {} ({}/s)", label_, Count(static_cast<double>(done_)),
                                 unit_, Count(rate));
  double pct = fraction_;
  if (pct < 0 && total_ > 0) pct = static_cast<double>(done_) / static_cast<double>(total_);
  if (pct >= 0) line += fmt::format(" {:.0f}%", std::min(pct, 1.0) * 100);
  fmt::print(stderr, "\r\033[K{}", line);
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::Clear() {
  if (!shown_) return;
  shown_ = false;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace sluice::tools
