// Helpers for storage tests: temporary directories, batch builders and a reader that decodes
// everything in a partition.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/partition.h"
#include "core/record_batch.h"
#include "tests/testing/fault_fs.h"

namespace sluice::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// `in_memory` puts it on /dev/shm when that exists: for tests whose durability is simulated by
// FaultInjectionFileSystem, where real fsyncs only cost time.
class TempDir {
 public:
  explicit TempDir(bool in_memory = false);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(std::string_view name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

// One batch holding `values` (no keys), all stamped `ts`; idempotent when producer_id >= 0.
std::string MakeBatch(const std::vector<std::string>& values, int64_t ts = 1000,
                      int64_t producer_id = -1, int16_t epoch = 0, int32_t base_sequence = 0);

struct ReadRecord {
  int64_t offset;
  int64_t timestamp;
  std::string value;
  bool operator==(const ReadRecord&) const = default;
};

// Reads [from, high watermark) with Partition::Read in steps of `max_bytes`, validating every
// batch (CRC, dense offsets). Fails (non-OK) on any inconsistency.
Result<std::vector<ReadRecord>> ReadAll(const Partition& p, int64_t from = -1,
                                        size_t max_bytes = 64 << 10);

// Decodes the concatenated batches in `data` (as Read returns them), appending to *out.
Status DecodeBatches(std::string_view data, std::vector<ReadRecord>* out);

// Copies a directory tree (regular files only).
void CopyDir(const std::string& from, const std::string& to);
// Every file in `dir` with its contents, for byte-for-byte comparisons.
std::vector<std::pair<std::string, std::string>> Snapshot(const std::string& dir);
// Overwrites bytes of a file in place.
void PatchFile(const std::string& path, uint64_t offset, std::string_view bytes);
std::string ReadFileOrDie(const std::string& path);

// kill -9 inside the test process: freezes `fs` so that closing writes nothing (no clean-shutdown
// marker, no checkpoint), destroys the partition, and unfreezes. Page-cache data stays, as it
// does when a process dies; call fs->DropUnsyncedData() before unfreezing for power loss instead.
void CrashPartition(std::unique_ptr<Partition>* p, FaultInjectionFileSystem* fs);
// Byte positions where batches start in a segment file (walks the length fields).
std::vector<uint64_t> BatchStarts(const std::string& log_path);
// Names of the segment `.log` files in `dir`, sorted (oldest first).
std::vector<std::string> SegmentLogs(const std::string& dir);
void WriteFileOrDie(const std::string& path, std::string_view data);

// A child process run by RunAndKill: everything it printed to stdout, its wait status, and
// whether it was still running when it was killed (it did not exit by itself).
struct KilledChild {
  std::string out;
  int status = 0;
  bool killed_by_sigkill = false;
};

// Runs `argv` (argv[0] is the program's path) with stdout captured, SIGKILLs it after `run_for`
// and reads its output to the end: the crash tests' "kill -9 a real process at a random moment".
KilledChild RunAndKill(const std::vector<std::string>& argv, std::chrono::milliseconds run_for);

}  // namespace sluice::testing
