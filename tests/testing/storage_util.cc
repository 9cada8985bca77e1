#include "tests/testing/storage_util.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sluice::testing {

TempDir::TempDir(bool in_memory) {
  const char* env = getenv("TMPDIR");
  std::string base = env != nullptr && *env ? env : "/tmp";
  if (in_memory && access("/dev/shm", W_OK) == 0) base = "/dev/shm";
  std::string tmpl = JoinPath(base, "sluice-test-XXXXXX");
  SLUICE_CHECK(mkdtemp(tmpl.data()) != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() { FileSystem::Default()->RemoveAll(path_).IgnoreError(); }

std::string MakeBatch(const std::vector<std::string>& values, int64_t ts, int64_t producer_id,
                      int16_t epoch, int32_t base_sequence) {
  RecordBatchBuilder b;
  for (const std::string& v : values) b.Add(Timestamp(ts), std::nullopt, std::string_view(v));
  if (producer_id >= 0) b.SetProducer(producer_id, epoch, base_sequence);
  return b.Finish();
}

Status DecodeBatches(std::string_view data, std::vector<ReadRecord>* out) {
  while (!data.empty()) {
    int64_t size = BatchSizeAt(data);
    if (size <= 0 || static_cast<size_t>(size) > data.size()) {
      return Corruption("read returned a partial batch ({} bytes left)", data.size());
    }
    SLUICE_ASSIGN_OR_RETURN(RecordBatchView v, RecordBatchView::Parse(data.substr(0, size)));
    SLUICE_RETURN_IF_ERROR(v.Validate());
    SLUICE_RETURN_IF_ERROR(v.ForEachRecord([&](const RecordView& r) {
      out->push_back({r.offset.value(), r.timestamp.value(), std::string(r.value)});
    }));
    data.remove_prefix(size);
  }
  return Status::Ok();
}

Result<std::vector<ReadRecord>> ReadAll(const Partition& p, int64_t from, size_t max_bytes) {
  std::vector<ReadRecord> out;
  int64_t next = from < 0 ? p.log_start_offset().value() : from;
  int64_t hw = p.high_watermark().value();
  while (next < hw) {
    SLUICE_ASSIGN_OR_RETURN(ReadResult r, p.Read(Offset(next), max_bytes));
    if (r.data.empty()) return Internal("read at {} below the HW {} returned nothing", next, hw);
    size_t before = out.size();
    SLUICE_RETURN_IF_ERROR(DecodeBatches(r.data, &out));
    // The first batch may start before `next`; drop what was already seen.
    std::vector<ReadRecord> fresh;
    for (size_t i = before; i < out.size(); ++i) {
      if (out[i].offset >= next) fresh.push_back(out[i]);
    }
    out.resize(before);
    for (ReadRecord& rec : fresh) {
      if (rec.offset != next) {
        return Corruption("offsets not dense: got {} where {} was expected", rec.offset, next);
      }
      ++next;
      out.push_back(std::move(rec));
    }
  }
  return out;
}

void CopyDir(const std::string& from, const std::string& to) {
  FileSystem* fs = FileSystem::Default();
  SLUICE_CHECK_OK(fs->CreateDirs(to));
  auto names = fs->ListDir(from);
  SLUICE_CHECK(names.ok());
  for (const std::string& n : *names) {
    WriteFileOrDie(JoinPath(to, n), ReadFileOrDie(JoinPath(from, n)));
  }
}

std::vector<std::pair<std::string, std::string>> Snapshot(const std::string& dir) {
  FileSystem* fs = FileSystem::Default();
  auto names = fs->ListDir(dir);
  SLUICE_CHECK(names.ok());
  std::sort(names->begin(), names->end());
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& n : *names) out.emplace_back(n, ReadFileOrDie(JoinPath(dir, n)));
  return out;
}

void PatchFile(const std::string& path, uint64_t offset, std::string_view bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  SLUICE_CHECK(f.good());
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  SLUICE_CHECK(f.good());
}

std::string ReadFileOrDie(const std::string& path) {
  auto r = FileSystem::Default()->ReadFile(path);
  SLUICE_CHECK(r.ok());
  return std::move(r).value();
}

void WriteFileOrDie(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  SLUICE_CHECK(f.good());
}

void CrashPartition(std::unique_ptr<Partition>* p, FaultInjectionFileSystem* fs) {
  fs->Freeze();
  p->reset();
  fs->Unfreeze();
}

std::vector<uint64_t> BatchStarts(const std::string& log_path) {
  std::string data = ReadFileOrDie(log_path);
  std::vector<uint64_t> starts;
  uint64_t pos = 0;
  while (pos < data.size()) {
    int64_t size = BatchSizeAt(std::string_view(data).substr(pos));
    if (size <= 0 || pos + size > data.size()) break;
    starts.push_back(pos);
    pos += size;
  }
  starts.push_back(pos);  // the end of the last whole batch
  return starts;
}

std::vector<std::string> SegmentLogs(const std::string& dir) {
  auto names = FileSystem::Default()->ListDir(dir);
  SLUICE_CHECK(names.ok());
  std::vector<std::string> logs;
  for (const std::string& n : *names) {
    if (n.size() == 24 && n.ends_with(".log")) logs.push_back(n);
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

KilledChild RunAndKill(const std::vector<std::string>& argv, std::chrono::milliseconds run_for) {
  int fds[2];
  SLUICE_CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  SLUICE_CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  KilledChild child;
  char buf[1 << 16];
  auto deadline = std::chrono::steady_clock::now() + run_for;
  bool killed = false;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (!killed && now >= deadline) {
      kill(pid, SIGKILL);
      killed = true;
    }
    int wait_ms =
        killed
            ? 1000
            : static_cast<int>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) +
                  1;
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, wait_ms) <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // EOF: the child is gone
    child.out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  waitpid(pid, &child.status, 0);
  child.killed_by_sigkill = WIFSIGNALED(child.status) && WTERMSIG(child.status) == SIGKILL;
  return child;
}

}  // namespace sluice::testing
