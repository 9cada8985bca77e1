// Running the real `sluice` binary from tests: one-shot runs with captured output, and
// long-running children that tests feed, read, signal and kill.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sluice::testing {

struct CliResult {
  int exit_code = -1;  // 128 + signal if killed
  std::string out;
  std::string err;
};

// Runs `sluice args...` with `input` on stdin; waits for it to exit.
CliResult RunSluice(const std::vector<std::string>& args, const std::string& input = "",
                    const std::map<std::string, std::string>& env = {});

// Runs another program the same way (a user's job binary built with RunMain).
CliResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& input = "",
                     const std::map<std::string, std::string>& env = {});

// A running `sluice` process (or another program) with pipes to its stdin, stdout and stderr.
class SluiceProcess {
 public:
  SluiceProcess(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {});
  // Runs `binary args...` instead of sluice.
  SluiceProcess(const std::string& binary, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {});
  ~SluiceProcess();  // SIGKILLs the child if still running
  SluiceProcess(const SluiceProcess&) = delete;
  SluiceProcess& operator=(const SluiceProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Writes to the child's stdin; returns false if the pipe is closed.
  bool Write(const std::string& data);
  void CloseStdin();
  // Reads stdout until it holds at least `lines` newline-terminated lines or `timeout` passes
  // (a guard against hangs, not a timing assertion). Returns everything read so far.
  std::string ReadStdoutLines(size_t lines, std::chrono::milliseconds timeout);
  // Reads stdout and stderr until stderr holds `needle` or `timeout` passes (a hang guard).
  // Returns whether it does.
  bool WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout);
  void Signal(int sig);
  // Waits for exit; returns the exit code (128 + signal if killed) and collects the rest of
  // stdout/stderr.
  int Wait();
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  void Pump(int timeout_ms);

  pid_t pid_ = -1;
  int in_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  int exit_code_ = -1;
};

// Counts '\n' in s.
size_t CountLines(const std::string& s);
std::vector<std::string> SplitLines(const std::string& s);

}  // namespace sluice::testing
