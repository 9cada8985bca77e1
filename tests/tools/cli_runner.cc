#include "tests/tools/cli_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace sluice::testing {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, int* in, int* out, int* err) {
  int pin[2], pout[2], perr[2];
  if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    dup2(perr[1], 2);
    unsetenv("SLUICE_DATA");
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  *in = pin[1];
  *out = pout[0];
  *err = perr[0];
  return pid;
}

}  // namespace

size_t CountLines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

CliResult RunSluice(const std::vector<std::string>& args, const std::string& input,
                    const std::map<std::string, std::string>& env) {
  return RunProgram(SLUICE_BINARY, args, input, env);
}

CliResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& input, const std::map<std::string, std::string>& env) {
  SluiceProcess p(binary, args, env);
  std::thread writer([&] {
    p.Write(input);
    p.CloseStdin();
  });
  CliResult r;
  r.exit_code = p.Wait();
  writer.join();
  r.out = p.out();
  r.err = p.err();
  return r;
}

SluiceProcess::SluiceProcess(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env)
    : SluiceProcess(SLUICE_BINARY, args, env) {}

SluiceProcess::SluiceProcess(const std::string& binary, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  signal(SIGPIPE, SIG_IGN);
  pid_ = Spawn(binary, args, env, &in_, &out_fd_, &err_fd_);
}

SluiceProcess::~SluiceProcess() {
  if (exit_code_ < 0 && pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
  if (in_ >= 0) close(in_);
}

bool SluiceProcess::Write(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(in_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void SluiceProcess::CloseStdin() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

void SluiceProcess::Pump(int timeout_ms) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return;
  if (poll(fds, n, timeout_ms) <= 0) return;
  char buf[65536];
  for (int i = 0; i < n; ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t got = read(fds[i].fd, buf, sizeof(buf));
    bool is_out = fds[i].fd == out_fd_;
    if (got > 0) {
      (is_out ? out_ : err_).append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      close(fds[i].fd);
      (is_out ? out_fd_ : err_fd_) = -1;
    }
  }
}

std::string SluiceProcess::ReadStdoutLines(size_t lines, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (CountLines(out_) < lines && out_fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
    Pump(50);
  }
  return out_;
}

bool SluiceProcess::WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (err_.find(needle) == std::string::npos && err_fd_ >= 0 &&
         std::chrono::steady_clock::now() < deadline) {
    Pump(50);
  }
  return err_.find(needle) != std::string::npos;
}

void SluiceProcess::Signal(int sig) { kill(pid_, sig); }

int SluiceProcess::Wait() {
  if (exit_code_ >= 0) return exit_code_;
  while (out_fd_ >= 0 || err_fd_ >= 0) Pump(100);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = DecodeStatus(status);
  return exit_code_;
}

}  // namespace sluice::testing
