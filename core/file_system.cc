// The POSIX FileSystem. Every errno becomes a Status through ErrnoToStatus (core/status.h).
#include "core/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

namespace sluice {
namespace {

// Retries a syscall interrupted by a signal.
template <typename F>
auto RetryEintr(F f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // One write(2) per call when the kernel takes it all (it does for regular files unless the
  // disk fills up); a short write is continued so that nothing is silently dropped.
  Status Append(std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = RetryEintr([&] { return ::write(fd_, p, left); });
      if (n < 0) return ErrnoToStatus(errno, "write", path_);
      if (n == 0) return ErrnoToStatus(EIO, "write (no progress)", path_);
      p += n;
      left -= static_cast<size_t>(n);
      size_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (RetryEintr([&] { return ::fdatasync(fd_); }) < 0) {
      return ErrnoToStatus(errno, "fdatasync", path_);
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (RetryEintr([&] { return ::ftruncate(fd_, static_cast<off_t>(size)); }) < 0) {
      return ErrnoToStatus(errno, "ftruncate", path_);
    }
    size_.store(size, std::memory_order_relaxed);
    return Status::Ok();
  }

  uint64_t size() const override { return size_.load(std::memory_order_relaxed); }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) < 0) return ErrnoToStatus(errno, "close", path_);
    return Status::Ok();
  }

 private:
  std::string path_;
  int fd_;
  std::atomic<uint64_t> size_;
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixReadableFile() override { ::close(fd_); }

  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = RetryEintr(
          [&] { return ::pread(fd_, scratch + got, n - got, static_cast<off_t>(offset + got)); });
      if (r < 0) return ErrnoToStatus(errno, "pread", path_);
      if (r == 0) break;  // EOF
      got += static_cast<size_t>(r);
    }
    return std::string_view(scratch, got);
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) < 0) return ErrnoToStatus(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  std::string path_;
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override {
    int fd = RetryEintr(
        [&] { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644); });
    if (fd < 0) return ErrnoToStatus(errno, "open for append", path);
    struct stat st;
    if (::fstat(fd, &st) < 0) {
      Status s = ErrnoToStatus(errno, "fstat", path);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<WritableFile>(
        new PosixWritableFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoToStatus(errno, "open for reading", path);
    return std::unique_ptr<ReadableFile>(new PosixReadableFile(path, fd));
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) < 0 && errno != EEXIST) {
      return ErrnoToStatus(errno, "mkdir", path);
    }
    return Status::Ok();
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return InvalidArgument("cannot create a directory with an empty path");
    std::string prefix;
    size_t pos = 0;
    while (pos != std::string::npos) {
      size_t next = path.find('/', pos + 1);
      prefix = path.substr(0, next);
      pos = next;
      if (prefix.empty() || prefix == "/") continue;
      if (::mkdir(prefix.c_str(), 0755) < 0 && errno != EEXIST) {
        return ErrnoToStatus(errno, "mkdir", prefix);
      }
    }
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return ErrnoToStatus(errno, "stat", path);
    if (!S_ISDIR(st.st_mode)) return ErrnoToStatus(ENOTDIR, "mkdir", path);
    return Status::Ok();
  }

  Status SyncDir(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) return ErrnoToStatus(errno, "open directory", path);
    int r = RetryEintr([&] { return ::fsync(fd); });
    int err = errno;
    ::close(fd);
    if (r < 0) return ErrnoToStatus(err, "fsync directory", path);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) < 0) {
      return ErrnoToStatus(errno, "rename to '" + to + "' from", from);
    }
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) < 0) return ErrnoToStatus(errno, "unlink", path);
    return Status::Ok();
  }

  Status RemoveAll(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoToStatus(errno, "lstat", path);
    }
    if (!S_ISDIR(st.st_mode)) return RemoveFile(path);
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(path));
    for (const std::string& name : names) {
      SLUICE_RETURN_IF_ERROR(RemoveAll(JoinPath(path, name)));
    }
    if (::rmdir(path.c_str()) < 0) return ErrnoToStatus(errno, "rmdir", path);
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return ErrnoToStatus(errno, "opendir", path);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoToStatus(err, "readdir", path);
    return names;
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return ErrnoToStatus(errno, "stat", path);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) < 0) {
      return ErrnoToStatus(errno, "truncate", path);
    }
    return Status::Ok();
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return fs;
}

Result<std::string> FileSystem::ReadFile(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> f, OpenReadable(path));
  SLUICE_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  std::string out(size, '\0');
  SLUICE_ASSIGN_OR_RETURN(std::string_view got, f->Read(0, size, out.data()));
  out.resize(got.size());
  return out;
}

Status FileSystem::WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  if (Exists(tmp)) SLUICE_RETURN_IF_ERROR(RemoveFile(tmp));
  {
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, OpenWritable(tmp));
    SLUICE_RETURN_IF_ERROR(f->Append(data));
    SLUICE_RETURN_IF_ERROR(f->Sync());
    SLUICE_RETURN_IF_ERROR(f->Close());
  }
  SLUICE_RETURN_IF_ERROR(Rename(tmp, path));
  return SyncDir(DirName(path));
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  if (out.back() != '/') out.push_back('/');
  if (b.front() == '/') b.remove_prefix(1);
  out.append(b);
  return out;
}

std::string DirName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace sluice
