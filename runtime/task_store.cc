#include "runtime/task_store.h"

#include <algorithm>
#include <map>

#include "core/varint.h"

namespace sluice {

TaskStore::TaskStore(StateDb* db, rocksdb::ColumnFamilyHandle* cf, int32_t partition)
    : db_(db), cf_(cf), prefix_(kTaskPrefixBytes, '\0') {
  varint::PutBE32(prefix_.data(), static_cast<uint32_t>(partition));
}

Status TaskStore::Init() {
  SLUICE_ASSIGN_OR_RETURN(bool any, db_->AnyWithPrefix(cf_, prefix_));
  complete_ = !any;
  return Status::Ok();
}

std::string& TaskStore::Prefixed(std::string_view key) {
  scratch_.assign(prefix_);
  scratch_.append(key);
  return scratch_;
}

Result<TaskStore::Cache::Node*> TaskStore::Lookup(std::string_view key, bool load) {
  // A read-modify-write (Get then Put of one key) is the common pattern: remember the last entry.
  if (last_ != nullptr && last_->key == key) return last_;
  Cache::Node* n = cache_.Find(key);
  if (n == nullptr) {
    Entry e;
    e.persisted = !complete_;  // unknown unless the cache is complete or RocksDB says
    if (load && !complete_) {
      std::string v;
      bool f = false;
      SLUICE_RETURN_IF_ERROR(db_->Get(cf_, Prefixed(key), &v, &f));
      if (f) e.value = std::move(v);
      e.persisted = f;
    }
    n = cache_.Insert(key);
    n->value = std::move(e);
  }
  last_ = n;
  return n;
}

Status TaskStore::Get(std::string_view key, std::string* value, bool* found) {
  SLUICE_ASSIGN_OR_RETURN(Cache::Node * n, Lookup(key, /*load=*/true));
  *found = n->value.value.has_value();
  if (*found) value->assign(*n->value.value);
  return Status::Ok();
}

TaskStore::Entry& TaskStore::Slot(std::string_view key) {
  // Without load: the value is overwritten. Cannot fail.
  Cache::Node* n = *Lookup(key, /*load=*/false);
  if (!n->value.dirty) {
    n->value.dirty = true;
    dirty_.push_back(n);
  }
  return n->value;
}

Status TaskStore::Put(std::string_view key, std::string_view value) {
  Entry& e = Slot(key);
  if (e.value) {
    e.value->assign(value);
  } else {
    e.value.emplace(value);
  }
  return Status::Ok();
}

Status TaskStore::Delete(std::string_view key) {
  Slot(key).value.reset();
  return Status::Ok();
}

Status TaskStore::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) {
  std::map<std::string, std::optional<std::string>> merged;
  SLUICE_RETURN_IF_ERROR(db_->ScanPrefix(cf_, prefix_, [&](std::string_view k, std::string_view v) {
    merged[std::string(k.substr(prefix_.size()))] = std::string(v);
  }));
  for (const Cache::Node* n : dirty_) merged[n->key] = n->value.value;
  for (const auto& [k, v] : merged) {
    if (v) fn(k, *v);
  }
  return Status::Ok();
}

void TaskStore::MoveChangesTo(rocksdb::WriteBatch* batch) {
  // In key order: the memtable's skiplist inserts a sorted run far faster than random keys
  // (it reuses the insert position), which dominated the commit cost of wordcount.
  std::sort(dirty_.begin(), dirty_.end(),
            [](const Cache::Node* a, const Cache::Node* b) { return a->key < b->key; });
  for (Cache::Node* n : dirty_) {
    n->value.dirty = false;
    if (n->value.value) {
      batch->Put(cf_, Prefixed(n->key), *n->value.value).PermitUncheckedError();
      n->value.persisted = true;
    } else if (n->value.persisted) {
      batch->Delete(cf_, Prefixed(n->key)).PermitUncheckedError();
      n->value.persisted = false;
    }
  }
  // Keys that are now absent (deleted windows, mostly) leave the cache: it would otherwise keep
  // every key a windowed store ever had. A later lookup finds them absent again (without a
  // RocksDB Get while the cache is complete).
  for (Cache::Node* n : dirty_) {
    if (!n->value.value) {
      if (last_ == n) last_ = nullptr;
      cache_.Erase(n);
    }
  }
  dirty_.clear();
  if (cache_.size() > kMaxCacheEntries) {
    cache_.Clear();
    last_ = nullptr;
    complete_ = false;
  }
}

}  // namespace sluice
