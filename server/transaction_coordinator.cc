#include "server/transaction_coordinator.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/internal/metadata_file.h"
#include "server/protocol/error_codes.h"

namespace sluice::kafka {
namespace {

constexpr std::string_view kMagicLine = "sluice-transactions 1";
constexpr std::string_view kRemedy =
    "restore it from a backup, or remove it to forget every transaction (open ones then stay "
    "unresolved in their partitions)";
// Kafka moves a producer to a new id before its epoch reaches Short.MAX_VALUE - 1.
constexpr int16_t kMaxEpoch = 32766;

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool Unhex(std::string_view s, std::string* out) {
  if (s.size() % 2 != 0) return false;
  out->clear();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nibble(s[i]);
    int lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsOpen(TxnState s) {
  return s == TxnState::kOngoing || s == TxnState::kPrepareCommit || s == TxnState::kPrepareAbort;
}

}  // namespace

TransactionCoordinator::TransactionCoordinator(Log* log)
    : log_(log), path_(JoinPath(JoinPath(log->data_dir(), "transactions"), "state")) {}

Status TransactionCoordinator::Recover() {
  std::unique_lock<std::shared_mutex> l(mu_);
  FileSystem* fs = log_->fs();
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(DirName(path_)));
  if (fs->Exists(path_)) {
    SLUICE_ASSIGN_OR_RETURN(std::string bytes, fs->ReadFile(path_));
    SLUICE_ASSIGN_OR_RETURN(internal::MetadataText text,
                            internal::UnsealMetadata(bytes, path_, kRemedy));
    if (!text.checksummed) {
      return Corruption("{} has no checksum line (cut short?); {}", path_, kRemedy);
    }
    SLUICE_RETURN_IF_ERROR(Parse(text.text));
  }
  // Finish what the last run left open: a decided commit completes; anything undecided aborts,
  // fenced (epoch + 1) so that its producer cannot go on as if nothing happened.
  for (const std::string& id : std::vector<std::string>(open_.begin(), open_.end())) {
    Txn& t = txns_[id];
    if (t.state == TxnState::kOngoing) {
      t.epoch = static_cast<int16_t>(t.epoch + 1);
      SLUICE_RETURN_IF_ERROR(EndLocked(id, &t, /*commit=*/false));
    } else {
      SLUICE_RETURN_IF_ERROR(Complete(id, &t));
    }
  }
  return Status::Ok();
}

TransactionCoordinator::Txn* TransactionCoordinator::Find(const std::string& txn_id) {
  auto it = txns_.find(txn_id);
  return it == txns_.end() ? nullptr : &it->second;
}

TransactionCoordinator::InitResult TransactionCoordinator::InitProducerId(const std::string& txn_id,
                                                                          int32_t timeout_ms) {
  InitResult r;
  if (timeout_ms <= 0 || timeout_ms > kMaxTimeoutMs) {
    r.error = kInvalidTransactionTimeout;
    r.message = fmt::format("transaction timeout {} ms is not in 1..{}; set transaction.timeout.ms",
                            timeout_ms, kMaxTimeoutMs);
    return r;
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  Txn* t = Find(txn_id);
  if (t != nullptr &&
      (t->state == TxnState::kPrepareCommit || t->state == TxnState::kPrepareAbort)) {
    // A completion that failed earlier (an I/O error writing markers): retry it now.
    if (Status st = Complete(txn_id, t); !st.ok()) {
      r.error = kConcurrentTransactions;
      r.message = st.ToString();
      return r;
    }
  }
  if (t != nullptr && t->state == TxnState::kOngoing) {
    // A new instance of the producer: fence the old one and abort its transaction.
    t->epoch = static_cast<int16_t>(t->epoch + 1);
    if (Status st = EndLocked(txn_id, t, /*commit=*/false); !st.ok()) {
      r.error = kConcurrentTransactions;
      r.message = st.ToString();
      return r;
    }
  }
  Txn next = t != nullptr ? *t : Txn{};
  if (t == nullptr || next.epoch >= kMaxEpoch) {
    auto pid = log_->AllocateProducerId();
    if (!pid.ok()) {
      r.error = kUnknownServerError;
      r.message = pid.status().ToString();
      return r;
    }
    next.producer_id = *pid;
    next.epoch = 0;
  } else {
    next.epoch = static_cast<int16_t>(next.epoch + 1);
  }
  next.state = TxnState::kEmpty;
  next.timeout_ms = timeout_ms;
  next.partitions.clear();
  next.offsets.clear();
  Txn old;
  bool existed = t != nullptr;
  if (existed) old = *t;
  txns_[txn_id] = next;
  if (Status st = Persist(); !st.ok()) {
    if (existed) {
      txns_[txn_id] = old;
    } else {
      txns_.erase(txn_id);
    }
    r.error = kKafkaStorageError;
    r.message = st.ToString();
    return r;
  }
  if (existed) by_pid_.erase(old.producer_id);
  by_pid_[next.producer_id] = txn_id;
  r.producer_id = next.producer_id;
  r.epoch = next.epoch;
  return r;
}

int16_t TransactionCoordinator::CheckProducer(const Txn* t, int64_t pid, int16_t epoch,
                                              std::string* message) {
  if (t == nullptr || t->producer_id != pid) {
    *message = "the transactional id does not belong to this producer id; call InitProducerId";
    return kInvalidProducerIdMapping;
  }
  if (t->epoch != epoch) {
    *message = fmt::format(
        "producer {} epoch {} is fenced: epoch {} is current (another producer instance with the "
        "same transactional id took over, or the transaction timed out)",
        pid, epoch, t->epoch);
    return kProducerFenced;
  }
  if (t->state == TxnState::kPrepareCommit || t->state == TxnState::kPrepareAbort) {
    *message = "the previous transaction is still completing; retry";
    return kConcurrentTransactions;
  }
  return kNone;
}

int16_t TransactionCoordinator::AddPartitions(const std::string& txn_id, int64_t pid, int16_t epoch,
                                              const std::vector<TopicPartition>& parts,
                                              std::string* message) {
  std::unique_lock<std::shared_mutex> l(mu_);
  Txn* t = Find(txn_id);
  if (int16_t e = CheckProducer(t, pid, epoch, message); e != kNone) return e;
  Txn next = *t;
  if (next.state != TxnState::kOngoing) {
    next.state = TxnState::kOngoing;
    next.start_ms = NowMs();
    next.partitions.clear();
    next.offsets.clear();
  }
  bool changed = next.state != t->state;
  for (const TopicPartition& tp : parts) {
    if (next.partitions.count(tp)) continue;
    auto part = log_->GetPartition(tp.topic, tp.partition);
    if (!part.ok()) {
      *message = fmt::format("partition {}-{} does not exist", tp.topic, tp.partition.value());
      return kUnknownTopicOrPartition;
    }
    // Every batch of this transaction in the partition comes after this offset.
    next.partitions[tp] = (*part)->high_watermark().value();
    changed = true;
  }
  if (!changed) return kNone;
  Txn old = *t;
  *t = next;
  if (Status st = Persist(); !st.ok()) {
    *t = old;
    *message = st.ToString();
    return kKafkaStorageError;
  }
  open_.insert(txn_id);
  return kNone;
}

int16_t TransactionCoordinator::AddOffsets(const std::string& txn_id, int64_t pid, int16_t epoch,
                                           const std::string& group, std::string* message) {
  std::unique_lock<std::shared_mutex> l(mu_);
  Txn* t = Find(txn_id);
  if (int16_t e = CheckProducer(t, pid, epoch, message); e != kNone) return e;
  if (t->state == TxnState::kOngoing && t->offsets.count(group)) return kNone;
  Txn old = *t;
  if (t->state != TxnState::kOngoing) {
    t->state = TxnState::kOngoing;
    t->start_ms = NowMs();
    t->partitions.clear();
    t->offsets.clear();
  }
  t->offsets[group];
  if (Status st = Persist(); !st.ok()) {
    *t = old;
    *message = st.ToString();
    return kKafkaStorageError;
  }
  open_.insert(txn_id);
  return kNone;
}

int16_t TransactionCoordinator::StageOffsets(
    const std::string& txn_id, const std::string& group, int64_t pid, int16_t epoch,
    const std::map<TopicPartition, CommittedOffset>& offsets, std::string* message) {
  std::unique_lock<std::shared_mutex> l(mu_);
  Txn* t = Find(txn_id);
  if (int16_t e = CheckProducer(t, pid, epoch, message); e != kNone) return e;
  if (t->state != TxnState::kOngoing || !t->offsets.count(group)) {
    *message =
        fmt::format("group '{}' was not added to the transaction (AddOffsetsToTxn first)", group);
    return kInvalidTxnState;
  }
  Txn old = *t;
  for (const auto& [tp, co] : offsets) t->offsets[group][tp] = co;
  if (Status st = Persist(); !st.ok()) {
    *t = old;
    *message = st.ToString();
    return kKafkaStorageError;
  }
  return kNone;
}

int16_t TransactionCoordinator::EndTxn(const std::string& txn_id, int64_t pid, int16_t epoch,
                                       bool commit, std::string* message) {
  std::unique_lock<std::shared_mutex> l(mu_);
  Txn* t = Find(txn_id);
  if (int16_t e = CheckProducer(t, pid, epoch, message); e != kNone) return e;
  switch (t->state) {
    case TxnState::kOngoing:
      if (Status st = EndLocked(txn_id, t, commit); !st.ok()) {
        // The decision is durable if Prepare* was written: it completes on the next InitProducerId
        // or restart; a retried EndTxn gets CONCURRENT_TRANSACTIONS until then.
        *message = st.ToString();
        return t->state == TxnState::kOngoing ? kKafkaStorageError : kConcurrentTransactions;
      }
      return kNone;
    case TxnState::kCompleteCommit:
      if (commit) return kNone;  // a retry of a commit that succeeded
      break;
    case TxnState::kCompleteAbort:
      if (!commit) return kNone;
      break;
    default:
      break;
  }
  *message =
      fmt::format("cannot {} the transaction: it is not ongoing", commit ? "commit" : "abort");
  return kInvalidTxnState;
}

void TransactionCoordinator::AbortExpired(std::chrono::system_clock::time_point now) {
  int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::unique_lock<std::shared_mutex> l(mu_);
  for (const std::string& id : std::vector<std::string>(open_.begin(), open_.end())) {
    Txn& t = txns_[id];
    if (t.state != TxnState::kOngoing || t.start_ms + t.timeout_ms > now_ms) continue;
    t.epoch = static_cast<int16_t>(t.epoch + 1);  // fence the producer that let it time out
    // On failure the transaction stays decided (PrepareAbort) or open and is retried next tick.
    (void)EndLocked(id, &t, /*commit=*/false);
  }
}

Status TransactionCoordinator::EndLocked(const std::string& txn_id, Txn* t, bool commit) {
  TxnState before = t->state;
  t->state = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  if (Status st = Persist(); !st.ok()) {
    t->state = before;
    return st;
  }
  return Complete(txn_id, t);
}

Status TransactionCoordinator::Complete(const std::string& txn_id, Txn* t) {
  const bool commit = t->state == TxnState::kPrepareCommit;
  for (const auto& entry : t->partitions) {
    const TopicPartition& tp = entry.first;
    auto part = log_->GetPartition(tp.topic, tp.partition);
    if (!part.ok()) continue;  // the topic was deleted: nothing left to mark
    // The partition's transaction index records the end (and an abort) from the marker.
    SLUICE_RETURN_IF_ERROR(
        (*part)->AppendTxnMarker(t->producer_id, t->epoch, commit, Acks::kAll).status());
    if (marker_listener_) marker_listener_(tp);
  }
  if (commit) {
    for (const auto& [group, offsets] : t->offsets) {
      if (!offsets.empty()) SLUICE_RETURN_IF_ERROR(log_->offsets().Commit(group, offsets));
    }
  }
  t->state = commit ? TxnState::kCompleteCommit : TxnState::kCompleteAbort;
  t->partitions.clear();
  t->offsets.clear();
  open_.erase(txn_id);
  return Persist();
}

int16_t TransactionCoordinator::CheckTransactionalAppend(int64_t pid, int16_t epoch,
                                                         const TopicPartition& tp) const {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return kInvalidTxnState;
  const Txn& t = txns_.at(it->second);
  if (t.epoch != epoch) return kInvalidProducerEpoch;
  if (t.state != TxnState::kOngoing || !t.partitions.count(tp)) return kInvalidTxnState;
  return kNone;
}

bool TransactionCoordinator::HasPendingOffset(const std::string& group,
                                              const TopicPartition& tp) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  for (const std::string& id : open_) {
    const Txn& t = txns_.at(id);
    auto g = t.offsets.find(group);
    if (g != t.offsets.end() && g->second.count(tp)) return true;
  }
  return false;
}

std::string TransactionCoordinator::Serialize() const {
  std::string s = fmt::format("{}\n", kMagicLine);
  for (const auto& [id, t] : txns_) {
    s += fmt::format("txn\t{}\t{}\t{}\t{}\t{}\t{}\n", Hex(id), t.producer_id, t.epoch,
                     static_cast<int>(t.state), t.timeout_ms, t.start_ms);
    for (const auto& [tp, first] : t.partitions) {
      s += fmt::format("part\t{}\t{}\t{}\n", tp.topic, tp.partition.value(), first);
    }
    for (const auto& [group, offsets] : t.offsets) {
      s += fmt::format("group\t{}\n", Hex(group));
      for (const auto& [tp, co] : offsets) {
        s += fmt::format("offset\t{}\t{}\t{}\t{}\n", tp.topic, tp.partition.value(),
                         co.offset.value(), Hex(co.metadata));
      }
    }
  }
  return s;
}

Status TransactionCoordinator::Parse(std::string_view text) {
  size_t line_no = 0;
  Txn* txn = nullptr;
  std::string txn_id;
  std::string group;
  bool have_group = false;
  auto bad = [&](std::string_view why) {
    return Corruption("{} line {}: {}; {}", path_, line_no, why, kRemedy);
  };
  auto num = [](std::string_view s, int64_t* out) { return internal::ParseDecimal(s, out); };
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != kMagicLine) return bad("unknown format (expected 'sluice-transactions 1')");
      continue;
    }
    std::vector<std::string_view> f = SplitTabs(line);
    int64_t a = 0, b = 0, c = 0, d = 0, e = 0;
    if (f[0] == "txn" && f.size() == 7) {
      if (!Unhex(f[1], &txn_id) || !num(f[2], &a) || !num(f[3], &b) || !num(f[4], &c) ||
          !num(f[5], &d) || !num(f[6], &e) || c < 0 || c > 5) {
        return bad("malformed txn line");
      }
      Txn t;
      t.producer_id = a;
      t.epoch = static_cast<int16_t>(b);
      t.state = static_cast<TxnState>(c);
      t.timeout_ms = static_cast<int32_t>(d);
      t.start_ms = e;
      txn = &(txns_[txn_id] = t);
      by_pid_[a] = txn_id;
      if (IsOpen(t.state)) open_.insert(txn_id);
      have_group = false;
    } else if (f[0] == "part" && f.size() == 4 && txn != nullptr) {
      if (!num(f[2], &a) || !num(f[3], &b)) return bad("malformed part line");
      txn->partitions[{std::string(f[1]), PartitionId(static_cast<int32_t>(a))}] = b;
    } else if (f[0] == "group" && f.size() == 2 && txn != nullptr) {
      if (!Unhex(f[1], &group)) return bad("malformed group line");
      txn->offsets[group];
      have_group = true;
    } else if (f[0] == "offset" && f.size() == 5 && have_group) {
      std::string md;
      if (!num(f[2], &a) || !num(f[3], &b) || !Unhex(f[4], &md)) {
        return bad("malformed offset line");
      }
      txn->offsets[group][{std::string(f[1]), PartitionId(static_cast<int32_t>(a))}] =
          CommittedOffset{Offset(b), md, Timestamp(NowMs())};
    } else if (f[0] == "aborted" && f.size() == 6) {
      // Written by earlier versions, which kept the aborted transactions here; the partitions'
      // transaction indexes hold them now (rebuilt from the markers in the log).
    } else {
      return bad("unknown line");
    }
  }
  return Status::Ok();
}

Status TransactionCoordinator::Persist() {
  return log_->fs()->WriteFileAtomic(path_, internal::SealMetadata(Serialize()));
}

}  // namespace sluice::kafka
