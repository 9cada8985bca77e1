// Data-driven golden tests of window semantics through the TestDriver. Each file in
// tests/operators/golden/windows/ is a script:
//
//   windows tumbling|hopping|session size=MS [advance=MS] [gap=MS] [grace=MS] [ooo=MS]
//           [idle=MS] [emit=updates] [late=TOPIC] [agg=count|concat] [inputs=1|2]
//   in TOPIC KEY VALUE TS     pipe a record (topic "a", and "b" merged with it if inputs=2)
//   clock MS                  advance the driver's wall clock
//   idle TOPIC                mark a topic idle
//   end                       end the input (closes every window)
//   expect KEY START END VALUE   the next window result, in emission order
//   expect-late TOPIC KEY VALUE TS  the next record of the late topic
//   late-count N              the number of late records so far
//   nothing-more              no result beyond those expected so far
//   # ...                     comment
//
// `expect` lines are checked against the outputs emitted by the commands before them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "operators/windows.h"

namespace sluice {
namespace {

using testing::TestDriver;

std::map<std::string, std::string> ParseOptions(std::istringstream& in) {
  std::map<std::string, std::string> o;
  std::string w;
  while (in >> w) {
    auto eq = w.find('=');
    if (eq == std::string::npos) continue;
    o[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return o;
}

int64_t Num(const std::map<std::string, std::string>& o, const std::string& k, int64_t def) {
  auto it = o.find(k);
  return it == o.end() ? def : std::stoll(it->second);
}

Topology BuildFor(const std::string& kind, const std::map<std::string, std::string>& o) {
  using std::chrono::milliseconds;
  Windows w;
  if (kind == "tumbling") w = Windows::Tumbling(milliseconds(Num(o, "size", 0)));
  if (kind == "hopping") {
    w = Windows::Hopping(milliseconds(Num(o, "size", 0)), milliseconds(Num(o, "advance", 0)));
  }
  if (kind == "session") w = Windows::Session(milliseconds(Num(o, "gap", 0)));
  w = w.Grace(milliseconds(Num(o, "grace", 0)));
  if (o.count("emit") && o.at("emit") == "updates") w = w.EmitEveryUpdate();
  if (o.count("late")) w = w.LateRecordsTo(o.at("late"));
  TopologyBuilder b;
  b.EventTime({.max_out_of_orderness = milliseconds(Num(o, "ooo", 0)),
               .idle_timeout = milliseconds(Num(o, "idle", 0))});
  auto merged = b.Stream<std::string, std::string>("a");
  if (Num(o, "inputs", 1) == 2) merged = merged.Merge(b.Stream<std::string, std::string>("b"));
  auto windowed = merged.GroupByKey().WindowedBy(w);
  bool concat = o.count("agg") && o.at("agg") == "concat";
  auto fmt_out = [](const std::string& k, const auto& r) {
    return std::pair(k, fmt::format("{} {} {}", r.start, r.end, r.value));
  };
  if (concat) {
    windowed.Reduce("win", [](const std::string& x, const std::string& y) { return x + "+" + y; })
        .Map(fmt_out)
        .To("out");
  } else {
    windowed.Count("win").Map(fmt_out).To("out");
  }
  auto t = b.Build();
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(t).value();
}

void RunScript(const std::filesystem::path& path) {
  SCOPED_TRACE(path.filename().string());
  std::ifstream f(path);
  ASSERT_TRUE(f) << path;
  std::unique_ptr<TestDriver> d;
  std::vector<std::string> got;       // "key start end value"
  std::vector<std::string> got_late;  // "topic key value ts"
  std::map<std::string, std::string> opts;
  auto collect = [&] {
    for (const auto& r : d->ReadOutput("out")) got.push_back(r.key + " " + r.value);
    if (opts.count("late")) {
      for (const auto& r : d->ReadOutput(opts.at("late"))) {
        got_late.push_back(
            fmt::format("{} {} {} {}", opts.at("late"), r.key, r.value, r.timestamp.value()));
      }
    }
  };
  size_t next = 0, next_late = 0;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    SCOPED_TRACE(fmt::format("line {}: {}", lineno, line));
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd) || cmd[0] == '#') continue;
    if (cmd == "windows") {
      std::string kind;
      in >> kind;
      opts = ParseOptions(in);
      d = std::make_unique<TestDriver>(BuildFor(kind, opts));
      continue;
    }
    ASSERT_TRUE(d) << "the script must start with a `windows` line";
    if (cmd == "in") {
      std::string topic, key, value;
      int64_t ts;
      in >> topic >> key >> value >> ts;
      Status s = d->PipeInput<std::string, std::string>(topic, key, value, Timestamp(ts));
      ASSERT_TRUE(s.ok()) << s;
    } else if (cmd == "clock") {
      int64_t ms;
      in >> ms;
      ASSERT_TRUE(d->AdvanceWallClock(ms).ok());
    } else if (cmd == "idle") {
      std::string topic;
      in >> topic;
      ASSERT_TRUE(d->MarkIdle(topic).ok());
    } else if (cmd == "end") {
      ASSERT_TRUE(d->EndInput().ok());
    } else if (cmd == "expect") {
      collect();
      std::string key, start, end, value;
      in >> key >> start >> end >> value;
      std::string want = fmt::format("{} {} {} {}", key, start, end, value);
      ASSERT_LT(next, got.size()) << "expected " << want << " but nothing more was emitted";
      EXPECT_EQ(got[next], want);
      ++next;
    } else if (cmd == "expect-late") {
      collect();
      std::string topic, key, value, ts;
      in >> topic >> key >> value >> ts;
      std::string want = fmt::format("{} {} {} {}", topic, key, value, ts);
      ASSERT_LT(next_late, got_late.size()) << "expected late record " << want;
      EXPECT_EQ(got_late[next_late], want);
      ++next_late;
    } else if (cmd == "late-count") {
      int64_t n;
      in >> n;
      EXPECT_EQ(d->late_records(), n);
    } else if (cmd == "nothing-more") {
      collect();
      EXPECT_EQ(next, got.size()) << "unexpected extra result: "
                                  << (next < got.size() ? got[next] : "");
    } else {
      FAIL() << "unknown command " << cmd;
    }
  }
  ASSERT_TRUE(d);
  collect();
  EXPECT_EQ(next, got.size()) << "unexpected extra result: "
                              << (next < got.size() ? got[next] : "");
  EXPECT_EQ(next_late, got_late.size()) << "unexpected extra late record";
}

std::vector<std::filesystem::path> Scripts(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".txt") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class WindowGoldenTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(WindowGoldenTest, MatchesExpectedOutput) { RunScript(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Golden, WindowGoldenTest,
                         ::testing::ValuesIn(Scripts(SLUICE_GOLDEN_DIR "/windows")),
                         [](const auto& info) {
                           std::string n = info.param.stem().string();
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace sluice
