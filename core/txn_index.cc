#include "core/txn_index.h"

#include <algorithm>

#include "core/varint.h"

namespace sluice {
namespace {

constexpr int kAbort = 0;
constexpr int kCommit = 1;

}  // namespace

void TxnIndex::Update(const RecordBatchView& batch) {
  if (!batch.is_transactional()) return;
  const int64_t pid = batch.producer_id();
  if (!batch.is_control()) {
    ongoing_.try_emplace(pid, batch.base_offset());
    return;
  }
  const int type = batch.ControlType();
  if (type != kAbort && type != kCommit) return;  // another control type: not a transaction's end
  auto it = ongoing_.find(pid);
  if (it == ongoing_.end()) return;  // nothing of this transaction was written here
  if (type == kAbort) aborted_.push_back({pid, it->second, batch.base_offset()});
  ongoing_.erase(it);
}

std::optional<Offset> TxnIndex::FirstUnstableOffset() const {
  std::optional<Offset> first;
  for (const auto& [pid, offset] : ongoing_) {
    if (!first || offset < *first) first = offset;
  }
  return first;
}

std::vector<AbortedTxn> TxnIndex::AbortedIn(Offset from, Offset to) const {
  std::vector<AbortedTxn> out;
  // Markers ascend, so the ones before `from` are a prefix.
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from,
                             [](const AbortedTxn& a, Offset o) { return a.last_offset < o; });
  for (; it != aborted_.end(); ++it) {
    if (it->first_offset < to) out.push_back(*it);
  }
  return out;
}

void TxnIndex::DropBefore(Offset log_start) {
  std::erase_if(aborted_, [&](const AbortedTxn& a) { return a.last_offset < log_start; });
}

// Layout: BE32 n, n x (producer id BE64, first offset BE64); BE32 m, m x (producer id BE64,
// first offset BE64, marker offset BE64).
void TxnIndex::EncodeTo(std::string* out) const {
  char buf[24];
  varint::PutBE32(buf, static_cast<uint32_t>(ongoing_.size()));
  out->append(buf, 4);
  for (const auto& [pid, first] : ongoing_) {
    varint::PutBE64(buf, static_cast<uint64_t>(pid));
    varint::PutBE64(buf + 8, static_cast<uint64_t>(first.value()));
    out->append(buf, 16);
  }
  varint::PutBE32(buf, static_cast<uint32_t>(aborted_.size()));
  out->append(buf, 4);
  for (const AbortedTxn& a : aborted_) {
    varint::PutBE64(buf, static_cast<uint64_t>(a.producer_id));
    varint::PutBE64(buf + 8, static_cast<uint64_t>(a.first_offset.value()));
    varint::PutBE64(buf + 16, static_cast<uint64_t>(a.last_offset.value()));
    out->append(buf, 24);
  }
}

Result<TxnIndex> TxnIndex::DecodeFrom(std::string_view* in) {
  auto truncated = [] { return Corruption("transaction index snapshot is truncated"); };
  auto be64 = [](const char* p) { return static_cast<int64_t>(varint::GetBE64(p)); };
  TxnIndex t;
  if (in->size() < 4) return truncated();
  uint64_t n = varint::GetBE32(in->data());
  in->remove_prefix(4);
  if (in->size() < n * 16) return truncated();
  for (uint64_t i = 0; i < n; ++i) {
    t.ongoing_[be64(in->data())] = Offset(be64(in->data() + 8));
    in->remove_prefix(16);
  }
  if (in->size() < 4) return truncated();
  uint64_t m = varint::GetBE32(in->data());
  in->remove_prefix(4);
  if (in->size() < m * 24) return truncated();
  for (uint64_t i = 0; i < m; ++i) {
    AbortedTxn a{be64(in->data()), Offset(be64(in->data() + 8)), Offset(be64(in->data() + 16))};
    if (a.first_offset > a.last_offset ||
        (!t.aborted_.empty() && a.last_offset <= t.aborted_.back().last_offset)) {
      return Corruption("transaction index snapshot has aborted transactions out of order");
    }
    t.aborted_.push_back(a);
    in->remove_prefix(24);
  }
  return t;
}

}  // namespace sluice
