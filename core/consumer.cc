#include "core/consumer.h"

#include <algorithm>
#include <thread>

#include "core/group_coordinator.h"
#include "core/partition_reader.h"

namespace sluice {

class Consumer::Impl {
 public:
  Impl(Log* log, ConsumerOptions options) : log_(log), options_(std::move(options)) {}
  ~Impl() { Close(); }

  // An assigned partition: its reader holds the position and the read-ahead.
  struct Assigned {
    Partition* partition;
    std::unique_ptr<PartitionReader> reader;
    Offset position() const { return reader->position(); }
    void Seek(Offset offset) { reader->Seek(offset); }
  };

  Result<Offset> InitialPosition(const TopicPartition& tp, Partition* p) {
    if (!options_.group_id.empty()) {
      SLUICE_ASSIGN_OR_RETURN(auto committed, log_->offsets().Fetch(options_.group_id, tp));
      if (committed) return committed->offset;
    }
    return ResetPosition(tp, p);
  }

  // Where reading ends: the high watermark, or for read_committed the last stable offset.
  Offset EndOf(const Partition* p) const {
    return options_.isolation == Isolation::kReadCommitted ? p->last_stable_offset()
                                                           : p->high_watermark();
  }

  Result<Offset> ResetPosition(const TopicPartition& tp, Partition* p) {
    SLUICE_RETURN_IF_ERROR(p->Refresh());
    switch (options_.auto_offset_reset) {
      case AutoOffsetReset::kEarliest:
        return p->log_start_offset();
      case AutoOffsetReset::kLatest:
        return EndOf(p);
      case AutoOffsetReset::kError:
        break;
    }
    return OutOfRange("{}-{} has no valid position and auto_offset_reset is 'error'", tp.topic,
                      tp.partition);
  }

  Status SetAssignment(const std::vector<TopicPartition>& tps) {
    std::map<TopicPartition, Assigned> next;
    for (const TopicPartition& tp : tps) {
      auto it = assigned_.find(tp);
      if (it != assigned_.end()) {
        next.insert(assigned_.extract(it));
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(Partition * p, log_->GetPartition(tp.topic, tp.partition));
      SLUICE_ASSIGN_OR_RETURN(Offset pos, InitialPosition(tp, p));
      next.emplace(
          tp, Assigned{p, std::make_unique<PartitionReader>(
                              p, pos, options_.max_partition_fetch_bytes, options_.isolation)});
    }
    Retire();
    assigned_ = std::move(next);
    return Status::Ok();
  }

  Status Assign(const std::vector<TopicPartition>& tps) {
    if (!member_id_.empty()) return InvalidArgument("consumer is subscribed; cannot also Assign");
    return SetAssignment(tps);
  }

  Status Subscribe(const std::vector<std::string>& topics) {
    if (options_.group_id.empty()) {
      return InvalidArgument("Subscribe needs a group id (ConsumerOptions::group_id)");
    }
    if (!member_id_.empty()) log_->groups().Leave(options_.group_id, member_id_);
    SLUICE_ASSIGN_OR_RETURN(
        member_id_, log_->groups().Join(options_.group_id, topics, options_.session_timeout));
    topics_ = topics;
    Retire();
    return SyncGroup();
  }

  Status SyncGroup() {
    std::vector<TopicPartition> owned;
    for (auto& [tp, a] : assigned_) owned.push_back(tp);
    auto result = log_->groups().Sync(options_.group_id, member_id_, owned);
    if (!result.ok() && result.status().code() == StatusCode::kNotFound) {
      // Expelled by the session timeout: rejoin, owning nothing.
      Retire();
      SLUICE_ASSIGN_OR_RETURN(
          member_id_, log_->groups().Join(options_.group_id, topics_, options_.session_timeout));
      result = log_->groups().Sync(options_.group_id, member_id_, {});
    }
    if (!result.ok()) return result.status();
    generation_ = result->generation;
    return SetAssignment(result->partitions);
  }

  Result<ConsumerRecords> Poll(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    retired_.clear();  // the previous Poll's records are invalid now
    ConsumerRecords out;
    while (true) {
      if (!member_id_.empty()) SLUICE_RETURN_IF_ERROR(SyncGroup());
      SLUICE_RETURN_IF_ERROR(FetchOnce(&out));
      if (!out.empty()) return out;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return out;
      // Long-poll: wait on one partition at a time in short slices, so data on any partition
      // and group changes are noticed promptly.
      auto slice = std::min<std::chrono::steady_clock::time_point>(
          deadline, now + std::chrono::milliseconds(assigned_.size() > 1 ? 5 : 50));
      if (assigned_.empty()) {
        std::this_thread::sleep_until(slice);
      } else {
        auto it = assigned_.begin();
        std::advance(it, wait_rr_++ % assigned_.size());
        if (options_.isolation == Isolation::kReadCommitted) {
          it->second.partition->WaitForStableData(it->second.position(), slice);
        } else {
          it->second.partition->WaitForData(it->second.position(), slice);
        }
      }
    }
  }

  Status FetchOnce(ConsumerRecords* out) {
    if (assigned_.empty()) return Status::Ok();
    size_t n = assigned_.size();
    size_t start = fetch_rr_++ % n;
    auto it = assigned_.begin();
    std::advance(it, start);
    for (size_t i = 0; i < n && out->records_.size() < options_.max_poll_records; ++i) {
      if (it == assigned_.end()) it = assigned_.begin();
      SLUICE_RETURN_IF_ERROR(FetchPartition(it->first, it->second, out));
      ++it;
    }
    return Status::Ok();
  }

  Status FetchPartition(const TopicPartition& tp, Assigned& a, ConsumerRecords* out) {
    // One read per partition per Poll, and only once the previous read-ahead is used up: the
    // records of the previous Poll are invalid now.
    Status st = a.reader->Fill();
    if (st.code() == StatusCode::kOutOfRange && a.position() < a.partition->log_start_offset()) {
      if (options_.auto_offset_reset == AutoOffsetReset::kError) return st;
      SLUICE_ASSIGN_OR_RETURN(Offset reset, ResetPosition(tp, a.partition));
      a.Seek(reset);
      st = a.reader->Fill();
    }
    if (!st.ok()) return st.WithContext(fmt::format("{}-{}", tp.topic, tp.partition));
    const size_t room =
        options_.max_poll_records - std::min(options_.max_poll_records, out->records_.size());
    if (room == 0 || a.reader->Drained()) return Status::Ok();
    out->tps_.push_back(std::make_unique<TopicPartition>(tp));
    const TopicPartition* tpp = out->tps_.back().get();
    auto take = [&](const RecordView& r) { out->records_.push_back({tpp, r}); };
    return a.reader->ForEachBuffered(room, PartitionReader::kNoLimit, take).status();
  }

  // Drops every assignment, keeping the readers' buffers until the next Poll.
  void Retire() {
    for (auto& [tp, a] : assigned_) retired_.push_back(std::move(a.reader));
    assigned_.clear();
  }

  Assigned* Find(const TopicPartition& tp) {
    auto it = assigned_.find(tp);
    return it == assigned_.end() ? nullptr : &it->second;
  }

  Status NotAssigned(const TopicPartition& tp) {
    return InvalidArgument("{}-{} is not assigned to this consumer", tp.topic, tp.partition);
  }

  Status Seek(const TopicPartition& tp, Offset offset) {
    Assigned* a = Find(tp);
    if (!a) return NotAssigned(tp);
    SLUICE_RETURN_IF_ERROR(a->partition->Refresh());
    Offset start = a->partition->log_start_offset(), hw = a->partition->high_watermark();
    if (offset < start || offset > hw) {
      return OutOfRange("offset {} is out of range for {}-{}: valid offsets are {} to {}", offset,
                        tp.topic, tp.partition, start, hw);
    }
    a->Seek(offset);
    return Status::Ok();
  }

  template <typename Fn>
  Status ForEach(const std::vector<TopicPartition>& tps, Fn&& fn) {
    for (const TopicPartition& tp : tps) {
      Assigned* a = Find(tp);
      if (!a) return NotAssigned(tp);
      SLUICE_RETURN_IF_ERROR(a->partition->Refresh());
      SLUICE_RETURN_IF_ERROR(fn(*a));
    }
    return Status::Ok();
  }

  bool AtEnd() {
    for (auto& [tp, a] : assigned_) {
      if (!a.partition->Refresh().ok()) return false;
      if (a.position() < EndOf(a.partition)) return false;
    }
    return true;
  }

  Status Commit(const std::map<TopicPartition, Offset>& offsets) {
    if (options_.group_id.empty()) return InvalidArgument("Commit needs a group id");
    std::map<TopicPartition, CommittedOffset> c;
    Timestamp now = Now();
    for (const auto& [tp, off] : offsets) c[tp] = CommittedOffset{off, "", now};
    return log_->offsets().Commit(options_.group_id, c);
  }

  Status CommitAll() {
    std::map<TopicPartition, Offset> offsets;
    for (auto& [tp, a] : assigned_) offsets[tp] = a.position();
    return Commit(offsets);
  }

  void Close() {
    if (!member_id_.empty()) {
      log_->groups().Leave(options_.group_id, member_id_);
      member_id_.clear();
    }
    Retire();
  }

  std::vector<TopicPartition> assignment() const {
    std::vector<TopicPartition> out;
    for (auto& [tp, a] : assigned_) out.push_back(tp);
    return out;
  }

 private:
  Log* log_;
  ConsumerOptions options_;
  std::map<TopicPartition, Assigned> assigned_;
  std::string member_id_;
  std::vector<std::string> topics_;
  int32_t generation_ = 0;
  // Readers of partitions no longer assigned: their buffers stay behind the last Poll's records
  // until the next Poll.
  std::vector<std::unique_ptr<PartitionReader>> retired_;
  size_t fetch_rr_ = 0;
  size_t wait_rr_ = 0;
};

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;

Result<std::unique_ptr<Consumer>> Consumer::Create(Log* log, const ConsumerOptions& options) {
  if (!options.group_id.empty()) SLUICE_RETURN_IF_ERROR(ValidateGroupId(options.group_id));
  if (options.max_poll_records == 0) return InvalidArgument("max_poll_records must be positive");
  return std::unique_ptr<Consumer>(new Consumer(std::make_unique<Impl>(log, options)));
}

Status Consumer::Assign(const std::vector<TopicPartition>& p) { return impl_->Assign(p); }
Status Consumer::Subscribe(const std::vector<std::string>& t) { return impl_->Subscribe(t); }
std::vector<TopicPartition> Consumer::assignment() const { return impl_->assignment(); }
Status Consumer::Seek(const TopicPartition& tp, Offset o) { return impl_->Seek(tp, o); }

Status Consumer::SeekToBeginning(const std::vector<TopicPartition>& tps) {
  return impl_->ForEach(tps, [](Impl::Assigned& a) {
    a.Seek(a.partition->log_start_offset());
    return Status::Ok();
  });
}

Status Consumer::SeekToEnd(const std::vector<TopicPartition>& tps) {
  return impl_->ForEach(tps, [this](Impl::Assigned& a) {
    a.Seek(impl_->EndOf(a.partition));
    return Status::Ok();
  });
}

Status Consumer::SeekToTime(const std::vector<TopicPartition>& tps, Timestamp ts) {
  return impl_->ForEach(tps, [ts](Impl::Assigned& a) -> Status {
    SLUICE_ASSIGN_OR_RETURN(OffsetAndTimestamp at, a.partition->OffsetForTime(ts));
    a.Seek(at.offset);
    return Status::Ok();
  });
}

Result<Offset> Consumer::Position(const TopicPartition& tp) {
  Impl::Assigned* a = impl_->Find(tp);
  if (!a) return impl_->NotAssigned(tp);
  return a->position();
}

Result<ConsumerRecords> Consumer::Poll(std::chrono::milliseconds timeout) {
  return impl_->Poll(timeout);
}
bool Consumer::AtEnd() { return impl_->AtEnd(); }
Status Consumer::Commit() { return impl_->CommitAll(); }
Status Consumer::Commit(const std::map<TopicPartition, Offset>& o) { return impl_->Commit(o); }
void Consumer::Close() { impl_->Close(); }

}  // namespace sluice
