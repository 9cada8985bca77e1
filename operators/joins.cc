#include "operators/joins.h"

namespace sluice::internal {

std::string JoinBuffer::Key(const std::string& kb, int64_t t) {
  std::string k = kb;
  k.resize(kb.size() + 8);
  varint::PutBE64(k.data() + kb.size(), static_cast<uint64_t>(t));
  return k;
}

bool JoinBuffer::Decode(std::string_view v, std::vector<Entry>* out) {
  out->clear();
  while (!v.empty()) {
    if (v.size() < 5) return false;
    Entry e;
    e.matched = v[0] != 0;
    uint32_t n = varint::GetBE32(v.data() + 1);
    if (v.size() < 5 + static_cast<size_t>(n)) return false;
    e.value.assign(v.substr(5, n));
    v.remove_prefix(5 + n);
    out->push_back(std::move(e));
  }
  return true;
}

std::string JoinBuffer::Encode(const std::vector<Entry>& entries) {
  std::string out;
  for (const Entry& e : entries) {
    char h[5];
    h[0] = e.matched ? 1 : 0;
    varint::PutBE32(h + 1, static_cast<uint32_t>(e.value.size()));
    out.append(h, 5);
    out.append(e.value);
  }
  return out;
}

Status JoinBuffer::Init(KeyValueStore* store, int64_t retain_ms) {
  store_ = store;
  retain_ = retain_ms;
  return store_->ForEach([&](std::string_view k, std::string_view) {
    if (k.size() < 8) return;
    std::string kb(k.substr(0, k.size() - 8));
    int64_t t = static_cast<int64_t>(varint::GetBE64(k.data() + k.size() - 8));
    times_[kb].insert(t);
    expiry_.emplace(t, kb);
  });
}

Status JoinBuffer::Add(const std::string& kb, int64_t t, std::string_view value, bool matched) {
  std::string key = Key(kb, t);
  std::string cur;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(store_->Get(key, &cur, &found));
  char h[5];
  h[0] = matched ? 1 : 0;
  varint::PutBE32(h + 1, static_cast<uint32_t>(value.size()));
  cur.append(h, 5);
  cur.append(value);
  SLUICE_RETURN_IF_ERROR(store_->Put(key, cur));
  if (!found) {
    times_[kb].insert(t);
    expiry_.emplace(t, kb);
  }
  return Status::Ok();
}

Status JoinBuffer::ForRange(const std::string& kb, int64_t lo, int64_t hi,
                            const std::function<bool(int64_t, std::vector<Entry>&)>& fn) {
  auto it = times_.find(kb);
  if (it == times_.end()) return Status::Ok();
  std::vector<int64_t> hits(it->second.lower_bound(lo), it->second.upper_bound(hi));
  std::vector<Entry> entries;
  std::string v;
  for (int64_t t : hits) {
    std::string key = Key(kb, t);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(key, &v, &found));
    if (!found) continue;
    if (!Decode(v, &entries)) return Corruption("malformed join buffer entry");
    if (fn(t, entries)) SLUICE_RETURN_IF_ERROR(store_->Put(key, Encode(entries)));
  }
  return Status::Ok();
}

Status JoinBuffer::Expire(
    int64_t wm, const std::function<Status(const std::string&, int64_t, std::vector<Entry>&)>& fn) {
  std::vector<Entry> entries;
  std::string v;
  while (!expiry_.empty() && expiry_.begin()->first + retain_ < wm) {
    auto [t, kb] = *expiry_.begin();
    expiry_.erase(expiry_.begin());
    auto it = times_.find(kb);
    if (it != times_.end()) {
      it->second.erase(t);
      if (it->second.empty()) times_.erase(it);
    }
    std::string key = Key(kb, t);
    bool found = false;
    SLUICE_RETURN_IF_ERROR(store_->Get(key, &v, &found));
    if (!found) continue;
    if (!Decode(v, &entries)) return Corruption("malformed join buffer entry");
    SLUICE_RETURN_IF_ERROR(fn(kb, t, entries));
    SLUICE_RETURN_IF_ERROR(store_->Delete(key));
  }
  return Status::Ok();
}

}  // namespace sluice::internal
