// BackgroundWrite: one RocksDB write at a time on a thread of its own, so that a job with the
// in-memory exchange runs its next round while its joint commit is being written (the WAL write,
// its fsync and the memtable inserts). Start hands over a batch; Wait returns its status. The
// caller publishes the commit's outputs only after Wait, so the invariant "an output is appended
// only after the write that holds it is durable" stays.
#pragma once

#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/state_db.h"

namespace sluice {

class BackgroundWrite {
 public:
  explicit BackgroundWrite(StateDb* db) : db_(db), thread_([this] { Loop(); }) {}
  BackgroundWrite(const BackgroundWrite&) = delete;
  BackgroundWrite& operator=(const BackgroundWrite&) = delete;

  // Finishes a write in progress, then stops the thread.
  ~BackgroundWrite() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Starts writing `batch` (synced if `sync`). REQUIRES: no write in progress (Wait first).
  void Start(std::unique_ptr<rocksdb::WriteBatch> batch, bool sync) {
    {
      std::lock_guard<std::mutex> l(mu_);
      batch_ = std::move(batch);
      sync_ = sync;
      busy_ = true;
    }
    cv_.notify_all();
  }

  // Waits for the write in progress, if any; returns its status (Ok when there was none).
  Status Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !busy_; });
    Status s = status_;
    status_ = Status::Ok();
    return s;
  }

  // A started write has completed (Wait will not block).
  bool done() const {
    std::lock_guard<std::mutex> l(mu_);
    return !busy_;
  }

 private:
  void Loop() {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || batch_ != nullptr; });
      if (batch_ == nullptr) return;  // stopping, nothing left to write
      std::unique_ptr<rocksdb::WriteBatch> batch = std::move(batch_);
      const bool sync = sync_;
      l.unlock();
      Status s = db_->Write(batch.get(), sync);
      batch.reset();
      l.lock();
      status_ = s;
      busy_ = false;
      cv_.notify_all();
    }
  }

  StateDb* db_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  bool sync_ = false;
  bool busy_ = false;
  bool stop_ = false;
  Status status_;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace sluice
