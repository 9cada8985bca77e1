// What the runtime benchmarks share: argument parsing, the data directory, the log, CPU time,
// topics, and timing a job run to the end of its input.
#pragma once

#include <errno.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "core/log.h"
#include "runtime/job.h"

namespace sluice::bench {

// Prints "<program>: <what>: <status>" and exits 1.
[[noreturn]] inline void Die(const Status& s, const char* what) {
  fmt::print(stderr, "{}: {}: {}\n", program_invocation_short_name, what, s.ToString());
  std::exit(1);
}

// CPU seconds (user + system, all threads) this process has used so far.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Opens (creating) the log in `data_dir`.
inline std::unique_ptr<Log> OpenLog(const std::string& data_dir) {
  LogOptions lo;
  lo.data_dir = data_dir;
  auto log = Log::Open(lo);
  if (!log.ok()) Die(log.status(), "open log");
  return std::move(log).value();
}

// What a timed run took: wall and CPU seconds (user + system, all threads).
struct Timing {
  double seconds = 0;
  double cpu_seconds = 0;
};

// Starts `topology` with `options` (until_end is forced on), waits for it and times it; any
// error ends the benchmark.
inline Timing RunToEnd(JobOptions options, Topology topology) {
  options.until_end = true;
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  auto job = Job::Start(options, std::move(topology));
  if (!job.ok()) Die(job.status(), "start the job");
  Status s = (*job)->Wait();
  if (!s.ok()) Die(s, "run the job");
  return Timing{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                CpuSeconds() - cpu0};
}

// Creates `name` with `partitions` partitions unless it exists.
inline void CreateTopic(Log* log, const std::string& name, int32_t partitions) {
  TopicConfig c;
  c.partitions = partitions;
  Status s = log->CreateTopic(name, c);
  if (!s.ok() && s.code() != StatusCode::kAlreadyExists) Die(s, "create topic");
}

// --dir DIR, --scale F, --filter SUBSTRING. Without --dir, a fresh directory under /var/tmp that
// the benchmark removes at the end (own_dir).
struct Args {
  std::string dir;
  double scale = 1.0;
  std::string filter;
  bool own_dir = false;
  // Whether the case `name` runs: no --filter, or the name contains it.
  bool Wants(const std::string& name) const {
    return filter.empty() || name.find(filter) != std::string::npos;
  }
};

// The row name of a job case: "<base>[_local]_<eos|alo>_<threads>thr" ("_local": the in-memory
// exchange between the job's stages).
inline std::string CaseName(const std::string& base, Exchange exchange, bool eos, int threads) {
  return fmt::format("{}{}_{}_{}thr", base, exchange == Exchange::kLocal ? "_local" : "",
                     eos ? "eos" : "alo", threads);
}

// Parses the arguments; anything else prints the usage line and exits 2.
inline Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      a.dir = argv[++i];
    } else if (!std::strcmp(argv[i], "--scale") && i + 1 < argc) {
      a.scale = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) {
      a.filter = argv[++i];
    } else {
      fmt::print(stderr, "usage: {} [--dir DIR] [--scale F] [--filter SUBSTRING]\n",
                 program_invocation_short_name);
      std::exit(2);
    }
  }
  if (a.dir.empty()) {
    std::string tmpl = fmt::format("/var/tmp/{}-XXXXXX", program_invocation_short_name);
    if (mkdtemp(tmpl.data()) == nullptr) Die(ErrnoToStatus(errno, "mkdtemp", tmpl), "dir");
    a.dir = tmpl;
    a.own_dir = true;
  }
  return a;
}

}  // namespace sluice::bench
