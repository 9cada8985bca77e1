// The pageviews job (windows, a repartition, top-N) run by the real `sluice` binary:
//   - with 1 thread, with 2 threads and tiny batches: identical window results;
//   - SIGKILLed at random moments and restarted until it finishes: identical window results,
//     each exactly once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

namespace {

class AnalyticsCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-analytics-crash-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    data_ = (dir_ / "data").string();
    ASSERT_EQ(Sh("gen clickstream --topic clicks --events 6000 --users 40 --pages 25 "
                 "--late-fraction 0.03 --interval-ms 1500 --partitions 3"),
              0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int Sh(const std::string& args) {
    std::string cmd = std::string(SLUICE_BINARY) + " --data " + data_ + " " + args + " >>" +
                      (dir_ / "log.txt").string() + " 2>&1";
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  // Every record of `topic` as "key value", sorted.
  std::vector<std::string> Topic(const std::string& topic) {
    std::string cmd = std::string(SLUICE_BINARY) + " --data " + data_ + " consume " + topic +
                      " --from-beginning --format '%k %s\\n'";
    std::vector<std::string> out;
    FILE* f = popen(cmd.c_str(), "r");
    if (f == nullptr) return out;
    char buf[8192];
    while (fgets(buf, sizeof buf, f)) out.emplace_back(buf);
    pclose(f);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::string> RunArgs(const std::string& app, const std::string& extra) {
    return {"run", "pageviews",       "--until-end", "--quiet", "--app",
            app,   "--output-prefix", app + "-",     "--state", (dir_ / "state").string(),
            extra};
  }

  // Starts `sluice run pageviews` for `app` (with `--exchange exchange`); SIGKILLs it after
  // `kill_after` if still running. Returns true if it was killed.
  bool RunChild(const std::string& job, const std::string& app,
                std::chrono::milliseconds kill_after, const std::string& exchange = "log") {
    pid_t pid = fork();
    if (pid == 0) {
      std::string log = (dir_ / "log.txt").string();
      FILE* f = freopen(log.c_str(), "a", stdout);
      (void)f;
      dup2(1, 2);
      // Runs that are meant to be killed sleep 60 ms after each batch, so that the kill lands
      // while input is left on any machine; the commit path itself is unchanged.
      if (kill_after < std::chrono::seconds(60))
        setenv("SLUICE_FAILPOINT", "after_process:delay=60", 1);
      std::string state = (dir_ / "state").string(), prefix = app + "-";
      execl(SLUICE_BINARY, SLUICE_BINARY, "--data", data_.c_str(), "run", job.c_str(),
            "--until-end", "--quiet", "--app", app.c_str(), "--output-prefix", prefix.c_str(),
            "--state", state.c_str(), "--threads", "2", "--commit-interval-ms", "5",
            "--batch-records", "64", "--exchange", exchange.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto start = std::chrono::steady_clock::now();
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) != pid) {
      if (std::chrono::steady_clock::now() - start >= kill_after) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "see " << dir_ / "log.txt";
    return false;
  }

  std::filesystem::path dir_;
  std::string data_;
};

TEST_F(AnalyticsCrashTest, ThreadsBatchSizesAndKillsGiveTheSameWindowResults) {
  std::string state = "--state " + (dir_ / "state").string();
  ASSERT_EQ(Sh("run pageviews --until-end --quiet --app base --output-prefix base- " + state), 0);
  ASSERT_EQ(Sh("run pageviews --until-end --quiet --app par --output-prefix par- --threads 2 "
               "--batch-records 7 " +
               state),
            0);
  auto base_counts = Topic("base-pageviews-counts");
  auto base_top = Topic("base-pageviews-top");
  auto base_late = Topic("base-pageviews-late");
  ASSERT_GT(base_counts.size(), 50u);
  ASSERT_GT(base_late.size(), 0u);
  EXPECT_EQ(Topic("par-pageviews-counts"), base_counts);
  EXPECT_EQ(Topic("par-pageviews-top"), base_top);
  EXPECT_EQ(Topic("par-pageviews-late"), base_late);
  // The in-memory exchange between the stages (windows after a repartition by page, watermarks
  // carried with the records).
  ASSERT_EQ(Sh("run pageviews --until-end --quiet --app loc --output-prefix loc- --threads 2 "
               "--batch-records 7 --exchange local " +
               state),
            0);
  EXPECT_EQ(Topic("loc-pageviews-counts"), base_counts);
  EXPECT_EQ(Topic("loc-pageviews-top"), base_top);
  EXPECT_EQ(Topic("loc-pageviews-late"), base_late);

  uint32_t seed = static_cast<uint32_t>(std::random_device()());
  if (const char* s = std::getenv("SLUICE_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(s));
  std::printf("analytics crash test seed: %u (rerun with SLUICE_CRASH_SEED=%u)\n", seed, seed);
  std::fflush(stdout);  // before forking children
  std::mt19937 rng(seed);
  for (const std::string exchange : {"log", "local"}) {
    const std::string app = exchange + "-crash";
    int kills = 0;
    for (int round = 0; round < 12; ++round) {
      if (!RunChild("pageviews", app, std::chrono::milliseconds(30 + rng() % 400), exchange)) {
        break;
      }
      ++kills;
    }
    RunChild("pageviews", app, std::chrono::seconds(120), exchange);
    std::printf("exchange %s: killed %d times\n", exchange.c_str(), kills);
    EXPECT_GT(kills, 0);
    EXPECT_EQ(Topic(app + "-pageviews-counts"), base_counts) << exchange;
    EXPECT_EQ(Topic(app + "-pageviews-top"), base_top) << exchange;
    EXPECT_EQ(Topic(app + "-pageviews-late"), base_late) << exchange;
  }
}

TEST_F(AnalyticsCrashTest, SessionsSurviveKillsWithTheSameSessions) {
  std::string state = "--state " + (dir_ / "state").string();
  ASSERT_EQ(Sh("run sessions --until-end --quiet --app sbase --output-prefix sbase- " + state), 0);
  auto base = Topic("sbase-sessions");
  ASSERT_GT(base.size(), 40u);
  uint32_t seed = static_cast<uint32_t>(std::random_device()());
  if (const char* s = std::getenv("SLUICE_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(s));
  std::printf("sessions crash test seed: %u (rerun with SLUICE_CRASH_SEED=%u)\n", seed, seed);
  std::fflush(stdout);
  std::mt19937 rng(seed);
  int kills = 0;
  for (int round = 0; round < 8; ++round) {
    if (!RunChild("sessions", "scrash", std::chrono::milliseconds(30 + rng() % 300))) break;
    ++kills;
  }
  RunChild("sessions", "scrash", std::chrono::seconds(120));
  EXPECT_GT(kills, 0);
  EXPECT_EQ(Topic("scrash-sessions"), base);
  EXPECT_EQ(Topic("scrash-sessions-late"), Topic("sbase-sessions-late"));
}

}  // namespace
