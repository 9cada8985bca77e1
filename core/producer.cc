#include "core/producer.h"

#include <atomic>
#include <condition_variable>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "core/partitioner.h"
#include "core/validated_batch.h"

namespace sluice {
namespace {

// Bytes a record adds to a batch, an upper bound (varint headers at their widest).
size_t RecordSizeBound(const Record& r) {
  size_t n = 5 + 1 + 10 + 5 + 5 + 5 + 5;
  if (r.key) n += r.key->size();
  if (r.value) n += r.value->size();
  for (const Header& h : r.headers) n += 10 + h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

}  // namespace

// One partition's open batch. `mu` guards the builder; `append_mu` orders appends, so that the
// batches of this producer reach the partition in sequence order. A drainer takes append_mu
// before releasing mu (hand over hand).
struct Accumulator {
  TopicPartition tp;
  Partition* partition = nullptr;
  std::mutex mu;
  RecordBatchBuilder builder;
  std::vector<DeliveryCallback> callbacks;
  std::chrono::steady_clock::time_point first_add;
  int32_t next_sequence = 0;
  std::mutex append_mu;
};

struct TopicInfo {
  int32_t partitions = 0;
  int32_t max_message_bytes = 0;
  std::vector<std::unique_ptr<Accumulator>> accs;
  std::atomic<uint32_t> sticky{0};
};

class Producer::Impl {
 public:
  Impl(Log* log, ProducerOptions options, int64_t pid)
      : log_(log), options_(options), producer_id_(pid) {
    if (options_.linger.count() > 0) linger_thread_ = std::thread([this] { LingerLoop(); });
  }

  ~Impl() {
    Flush().IgnoreError();
    {
      std::lock_guard lock(linger_mu_);
      stop_ = true;
    }
    linger_cv_.notify_all();
    if (linger_thread_.joinable()) linger_thread_.join();
  }

  Result<TopicInfo*> Topic(const std::string& name) {
    {
      std::shared_lock lock(topics_mu_);
      auto it = topics_.find(name);
      if (it != topics_.end()) return it->second.get();
    }
    SLUICE_ASSIGN_OR_RETURN(TopicConfig config, log_->DescribeTopic(name));
    auto info = std::make_unique<TopicInfo>();
    info->partitions = config.partitions;
    info->max_message_bytes = config.max_message_bytes;
    info->sticky = static_cast<uint32_t>(std::hash<std::thread::id>()(std::this_thread::get_id()));
    for (int32_t p = 0; p < config.partitions; ++p) {
      SLUICE_ASSIGN_OR_RETURN(Partition * part, log_->GetPartition(name, PartitionId(p)));
      auto acc = std::make_unique<Accumulator>();
      acc->tp = {name, PartitionId(p)};
      acc->partition = part;
      if (producer_id_ >= 0) acc->next_sequence = part->LastSequence(producer_id_) + 1;
      info->accs.push_back(std::move(acc));
    }
    std::unique_lock lock(topics_mu_);
    auto [it, inserted] = topics_.emplace(name, std::move(info));
    return it->second.get();
  }

  Status Send(const std::string& topic, const Record& record, std::optional<PartitionId> partition,
              DeliveryCallback cb) {
    SLUICE_ASSIGN_OR_RETURN(TopicInfo * info, Topic(topic));
    size_t size = RecordSizeBound(record);
    if (size + batch_format::kHeaderSize > static_cast<size_t>(info->max_message_bytes)) {
      return InvalidArgument(
          "record of about {} bytes is larger than topic '{}' accepts (max message size {} "
          "bytes); send a smaller record or create the topic with a larger --max-message-bytes",
          size, topic, info->max_message_bytes);
    }
    int32_t p;
    bool sticky = false;
    if (partition) {
      if (*partition < PartitionId(0) || partition->value() >= info->partitions) {
        return NotFound("topic '{}' has {} partition{}; partition {} does not exist", topic,
                        info->partitions, info->partitions == 1 ? "" : "s", *partition);
      }
      p = partition->value();
    } else if (record.key) {
      p = PartitionForKey(*record.key, info->partitions).value();
    } else {
      p = static_cast<int32_t>(info->sticky.load(std::memory_order_relaxed) % info->partitions);
      sticky = true;
    }
    Accumulator& acc = *info->accs[p];
    Timestamp ts = record.timestamp == kNoTimestamp ? Now() : record.timestamp;
    std::unique_lock lock(acc.mu);
    size_t limit = std::min<size_t>(options_.batch_bytes, info->max_message_bytes);
    if (!acc.builder.empty() && acc.builder.size_bytes() + size > limit) {
      Status st = Drain(acc, lock);
      lock.lock();
      if (sticky) info->sticky.fetch_add(1, std::memory_order_relaxed);
      if (!st.ok()) return st;
    }
    if (acc.builder.empty()) acc.first_add = std::chrono::steady_clock::now();
    acc.builder.Add(ts, record.key ? std::optional<std::string_view>(*record.key) : std::nullopt,
                    record.value ? std::optional<std::string_view>(*record.value) : std::nullopt,
                    record.headers);
    acc.callbacks.push_back(std::move(cb));
    if (options_.linger.count() == 0 || acc.builder.size_bytes() >= limit) {
      if (sticky) info->sticky.fetch_add(1, std::memory_order_relaxed);
      return Drain(acc, lock);
    }
    return Status::Ok();
  }

  // Appends acc's open batch. REQUIRES: `lock` holds acc.mu; returns with it released.
  Status Drain(Accumulator& acc, std::unique_lock<std::mutex>& lock) {
    std::unique_lock append_lock(acc.append_mu);
    if (acc.builder.empty()) {
      lock.unlock();
      return Status::Ok();
    }
    int32_t count = acc.builder.record_count();
    int32_t base_seq = -1;
    if (producer_id_ >= 0) {
      base_seq = acc.next_sequence;
      acc.builder.SetProducer(producer_id_, 0, base_seq);
      acc.next_sequence += count;
    }
    acc.builder.set_compression(options_.compression);
    std::string bytes;
    // Built here by our own builder: valid by construction, no CRC or record pass.
    const ValidatedBatch batch = ValidatedBatch::FromBuilder(&acc.builder, &bytes);
    std::vector<DeliveryCallback> callbacks = std::move(acc.callbacks);
    acc.callbacks.clear();
    lock.unlock();

    auto result = acc.partition->Append(batch, options_.acks);
    if (!result.ok() && producer_id_ >= 0) {
      // Nothing was appended after this batch (append_mu is held), so its sequences are free.
      std::lock_guard relock(acc.mu);
      acc.next_sequence = base_seq;
    }
    Status st = result.ok() ? Status::Ok()
                            : result.status().WithContext(
                                  fmt::format("append to {}-{}", acc.tp.topic, acc.tp.partition));
    for (int32_t i = 0; i < count; ++i) {
      if (callbacks[i]) {
        callbacks[i](st, acc.tp, result.ok() ? result->base_offset + i : Offset(-1));
      }
    }
    if (!st.ok()) RecordError(st);
    return st;
  }

  void RecordError(const Status& st) {
    std::lock_guard lock(error_mu_);
    if (first_error_.ok()) first_error_ = st;
  }

  Status Flush() {
    std::vector<Accumulator*> accs;
    {
      std::shared_lock lock(topics_mu_);
      for (auto& [name, info] : topics_) {
        for (auto& a : info->accs) accs.push_back(a.get());
      }
    }
    for (Accumulator* a : accs) {
      std::unique_lock lock(a->mu);
      Drain(*a, lock).IgnoreError();  // recorded in first_error_
    }
    std::lock_guard lock(error_mu_);
    Status st = first_error_;
    first_error_ = Status::Ok();
    return st;
  }

  void LingerLoop() {
    std::unique_lock lock(linger_mu_);
    while (!stop_) {
      linger_cv_.wait_for(lock, options_.linger);
      if (stop_) break;
      lock.unlock();
      auto now = std::chrono::steady_clock::now();
      std::vector<std::pair<TopicInfo*, int32_t>> accs;
      {
        std::shared_lock tl(topics_mu_);
        for (auto& [name, info] : topics_) {
          for (int32_t p = 0; p < static_cast<int32_t>(info->accs.size()); ++p) {
            accs.emplace_back(info.get(), p);
          }
        }
      }
      for (auto [info, p] : accs) {
        Accumulator* a = info->accs[static_cast<size_t>(p)].get();
        std::unique_lock al(a->mu);
        if (!a->builder.empty() && now - a->first_add >= options_.linger) {
          // A batch completed by the linger completes the sticky partition's batch too: unkeyed
          // records move on to the next partition (Kafka's sticky partitioner does so on every
          // completed batch), or a slow writer would fill one partition forever.
          uint32_t s = info->sticky.load(std::memory_order_relaxed);
          if (static_cast<int32_t>(s % static_cast<uint32_t>(info->partitions)) == p) {
            info->sticky.compare_exchange_strong(s, s + 1, std::memory_order_relaxed);
          }
          Drain(*a, al).IgnoreError();
        }
      }
      lock.lock();
    }
  }

  int64_t producer_id() const { return producer_id_; }

 private:
  Log* log_;
  ProducerOptions options_;
  int64_t producer_id_;
  std::shared_mutex topics_mu_;
  std::unordered_map<std::string, std::unique_ptr<TopicInfo>> topics_;
  std::mutex error_mu_;
  Status first_error_;
  std::mutex linger_mu_;
  std::condition_variable linger_cv_;
  bool stop_ = false;
  std::thread linger_thread_;
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;

Result<std::unique_ptr<Producer>> Producer::Create(Log* log, const ProducerOptions& options) {
  if (log->read_only()) return InvalidArgument("cannot produce: the log is open read-only");
  if (options.batch_bytes < 1024) return InvalidArgument("batch_bytes must be at least 1024");
  int64_t pid = -1;
  if (options.idempotent) {
    SLUICE_ASSIGN_OR_RETURN(pid, log->AllocateProducerId());
  }
  return std::unique_ptr<Producer>(new Producer(std::make_unique<Impl>(log, options, pid)));
}

Status Producer::Send(const std::string& topic, const Record& record,
                      std::optional<PartitionId> partition, DeliveryCallback cb) {
  return impl_->Send(topic, record, partition, std::move(cb));
}

Status Producer::Flush() { return impl_->Flush(); }
int64_t Producer::producer_id() const { return impl_->producer_id(); }

}  // namespace sluice
