#include "runtime/state_info_log.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>

namespace sluice {

StateInfoLog::StateInfoLog(const std::string& path) {
  std::rename(path.c_str(), (path + ".old").c_str());  // none yet is fine
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) failed_.store(true);
}

StateInfoLog::~StateInfoLog() {
  if (!closed_) CloseImpl().PermitUncheckedError();
}

rocksdb::Status StateInfoLog::CloseImpl() {
  closed_ = true;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  failed_.store(true);
  return rocksdb::Status::OK();
}

void StateInfoLog::Logv(const char* format, va_list ap) {
  if (failed_.load(std::memory_order_relaxed)) return;
  char body[1024];
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(body, sizeof(body), format, copy);
  va_end(copy);
  if (n < 0) return;
  const size_t len = std::min(static_cast<size_t>(n), sizeof(body) - 1);
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::string line = fmt::format("{:%Y/%m/%d-%H:%M:%S} {}\n", now, std::string_view(body, len));
  const ssize_t w = ::write(fd_, line.data(), line.size());
  if (w != static_cast<ssize_t>(line.size())) failed_.store(true);
}

}  // namespace sluice
