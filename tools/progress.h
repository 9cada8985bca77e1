// ProgressLine: the one-line progress of long CLI work (gen, produce from a file, consume of a
// bounded range, run --until-end, job reset) — records so far, the rate, and the percentage when
// the total is known — on stderr, and only when stderr is a terminal: piped or redirected, the
// command prints exactly what it printed without it.
//
//   ProgressLine progress("gen clicks", /*total=*/events);
//   for (...) { ...; progress.Update(++n); }
//   progress.Clear();  // the line is gone; the command's own output follows
//
// The first update draws the line; then it is redrawn in place ("\r" + erase line) at most 4
// times a second. Update is cheap enough to call per record (it reads the clock on every 64th
// call). Not thread-safe: one thread updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::tools {

class ProgressLine {
 public:
  // `label` starts the line; `total` < 0: unknown (no percentage). `unit` names what is counted.
  explicit ProgressLine(std::string label, int64_t total = -1, std::string unit = "records");
  ~ProgressLine();  // Clear
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Whether stderr is a terminal (otherwise every call is a no-op). SLUICE_PROGRESS=0 turns the
  // line off and SLUICE_PROGRESS=1 forces it on (tests).
  bool enabled() const { return enabled_; }
  void set_total(int64_t total) { total_ = total; }
  // `done` of the total so far; `fraction` in [0,1], if given, is the percentage instead of
  // done/total (produce reads a file: bytes read of its size).
  // Reads the clock on every 64th call only: for per-record calls.
  void Update(int64_t done, double fraction = -1);
  // As Update, reading the clock on every call: for callers that poll (a few times a second).
  void Poll(int64_t done, double fraction = -1);
  // Erases the line if one is shown. Idempotent.
  void Clear();

 private:
  void Draw(std::chrono::steady_clock::time_point now);

  std::string label_;
  int64_t total_;
  std::string unit_;
  bool enabled_ = false;
  bool shown_ = false;
  int64_t done_ = 0;
  double fraction_ = -1;
  uint32_t calls_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};  // the first update draws at once
};

}  // namespace sluice::tools
