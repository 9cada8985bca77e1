#include "runtime/task_store.h"

#include <map>

#include "core/varint.h"

namespace sluice {

TaskStore::TaskStore(StateDb* db, rocksdb::ColumnFamilyHandle* cf, int32_t partition)
    : db_(db), cf_(cf), prefix_(4, '\0') {
  varint::PutBE32(prefix_.data(), static_cast<uint32_t>(partition));
}

std::string& TaskStore::Prefixed(std::string_view key) {
  scratch_.assign(prefix_);
  scratch_.append(key);
  return scratch_;
}

Status TaskStore::Get(std::string_view key, std::string* value, bool* found) {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) {
    *found = it->second.has_value();
    if (*found) value->assign(*it->second);
    return Status::Ok();
  }
  return db_->Get(cf_, Prefixed(key), value, found);
}

Status TaskStore::Put(std::string_view key, std::string_view value) {
  auto it = overlay_.find(key);
  if (it == overlay_.end()) {
    overlay_.emplace(std::string(key), std::string(value));
  } else {
    it->second = std::string(value);
  }
  return Status::Ok();
}

Status TaskStore::Delete(std::string_view key) {
  overlay_[std::string(key)] = std::nullopt;
  return Status::Ok();
}

Status TaskStore::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) {
  std::map<std::string, std::optional<std::string>> merged;
  SLUICE_RETURN_IF_ERROR(db_->ScanPrefix(cf_, prefix_, [&](std::string_view k, std::string_view v) {
    merged[std::string(k.substr(prefix_.size()))] = std::string(v);
  }));
  for (const auto& [k, v] : overlay_) merged[k] = v;
  for (const auto& [k, v] : merged) {
    if (v) fn(k, *v);
  }
  return Status::Ok();
}

void TaskStore::MoveChangesTo(rocksdb::WriteBatch* batch) {
  for (auto& [k, v] : overlay_) {
    std::string& pk = Prefixed(k);
    if (v) {
      batch->Put(cf_, pk, *v).PermitUncheckedError();
    } else {
      batch->Delete(cf_, pk).PermitUncheckedError();
    }
  }
  overlay_.clear();
}

}  // namespace sluice
