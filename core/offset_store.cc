#include "core/offset_store.h"

#include <algorithm>
#include <charconv>

namespace sluice {
namespace {

bool PlainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Group ids from Kafka clients may hold any character; file names get them percent-encoded.
std::string EncodeName(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (PlainChar(c) && c != '.') {
      out.push_back(c);
    } else if (c == '.' && !out.empty()) {
      out.push_back(c);  // a leading '.' would make "." / ".." / hidden files
    } else {
      out += fmt::format("%{:02X}", static_cast<uint8_t>(c));
    }
  }
  return out;
}

std::string DecodeName(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Hex(std::string_view s) {
  std::string out;
  for (char c : s) out += fmt::format("{:02x}", static_cast<uint8_t>(c));
  return out;
}

bool Unhex(std::string_view s, std::string* out) {
  if (s.size() % 2) return false;
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc() || p != s.data() + i + 2) return false;
    out->push_back(static_cast<char>(v));
  }
  return true;
}

constexpr std::string_view kSuffix = ".offsets";
constexpr std::string_view kMagicLine = "sluice-offsets 1";

std::string Serialize(const std::map<TopicPartition, CommittedOffset>& all) {
  std::string text = std::string(kMagicLine) + "\n";
  for (const auto& [tp, co] : all) {
    text += fmt::format("{}\t{}\t{}\t{}\t{}\n", tp.topic, tp.partition, co.offset, co.commit_time,
                        Hex(co.metadata));
  }
  return text;
}

}  // namespace

Status ValidateGroupId(std::string_view group) {
  if (group.empty()) return InvalidArgument("group id is empty; give a name such as 'my-group'");
  if (group.size() > 249) {
    return InvalidArgument("group id is {} characters long; the limit is 249", group.size());
  }
  return Status::Ok();
}

OffsetStore::OffsetStore(FileSystem* fs, std::string groups_dir, bool read_only)
    : fs_(fs), dir_(std::move(groups_dir)), read_only_(read_only) {}

std::string OffsetStore::PathFor(const std::string& group) const {
  return JoinPath(dir_, EncodeName(group) + std::string(kSuffix));
}

Result<std::map<TopicPartition, CommittedOffset>> OffsetStore::Load(const std::string& group) {
  std::map<TopicPartition, CommittedOffset> out;
  std::string path = PathFor(group);
  if (!fs_->Exists(path)) return out;
  SLUICE_ASSIGN_OR_RETURN(std::string text, fs_->ReadFile(path));
  std::string_view rest = text;
  bool first = true;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return Corruption("offset file '{}' ends mid-line", path);
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (first) {
      if (line != kMagicLine) return Corruption("offset file '{}' has an unknown header", path);
      first = false;
      continue;
    }
    // topic \t partition \t offset \t commit_time \t hex(metadata)
    std::string_view f[5];
    for (int i = 0; i < 5; ++i) {
      size_t tab = line.find('\t');
      if (i < 4 && tab == std::string_view::npos) {
        return Corruption("offset file '{}' has a malformed line", path);
      }
      f[i] = line.substr(0, tab);
      line = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
    }
    int32_t part = 0;
    int64_t off = 0, ts = 0;
    bool ok = std::from_chars(f[1].data(), f[1].data() + f[1].size(), part).ec == std::errc() &&
              std::from_chars(f[2].data(), f[2].data() + f[2].size(), off).ec == std::errc() &&
              std::from_chars(f[3].data(), f[3].data() + f[3].size(), ts).ec == std::errc();
    CommittedOffset co{Offset(off), {}, Timestamp(ts)};
    if (!ok || !Unhex(f[4], &co.metadata)) {
      return Corruption("offset file '{}' has a malformed line", path);
    }
    out[TopicPartition{std::string(f[0]), PartitionId(part)}] = std::move(co);
  }
  return out;
}

Status OffsetStore::Commit(const std::string& group,
                           const std::map<TopicPartition, CommittedOffset>& offsets) {
  if (read_only_) {
    return InvalidArgument("cannot commit offsets for group '{}': the log is open read-only",
                           group);
  }
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
  for (const auto& [tp, co] : offsets) {
    if (co.offset < Offset(0)) {
      return InvalidArgument("cannot commit negative offset {} for {}-{}", co.offset, tp.topic,
                             tp.partition);
    }
  }
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto all, Load(group));
  for (const auto& [tp, co] : offsets) all[tp] = co;
  SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  return fs_->WriteFileAtomic(PathFor(group), Serialize(all));
}

Result<std::map<TopicPartition, CommittedOffset>> OffsetStore::Fetch(const std::string& group) {
  std::lock_guard lock(mu_);
  return Load(group);
}

Result<std::optional<CommittedOffset>> OffsetStore::Fetch(const std::string& group,
                                                          const TopicPartition& tp) {
  SLUICE_ASSIGN_OR_RETURN(auto all, Fetch(group));
  auto it = all.find(tp);
  if (it == all.end()) return std::optional<CommittedOffset>();
  return std::optional<CommittedOffset>(it->second);
}

Result<std::vector<std::string>> OffsetStore::ListGroups() {
  std::vector<std::string> out;
  if (!fs_->Exists(dir_)) return out;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir_));
  for (const std::string& n : names) {
    if (n.size() > kSuffix.size() && n.ends_with(kSuffix)) {
      out.push_back(DecodeName(std::string_view(n).substr(0, n.size() - kSuffix.size())));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status OffsetStore::DeleteGroup(const std::string& group) {
  if (read_only_) return InvalidArgument("cannot delete group '{}': the log is read-only", group);
  std::lock_guard lock(mu_);
  std::string path = PathFor(group);
  if (!fs_->Exists(path)) return NotFound("group '{}' has no committed offsets", group);
  SLUICE_RETURN_IF_ERROR(fs_->RemoveFile(path));
  return fs_->SyncDir(dir_);
}

Status OffsetStore::DeleteTopic(const std::string& topic) {
  if (read_only_) return InvalidArgument("the log is read-only");
  SLUICE_ASSIGN_OR_RETURN(auto groups, ListGroups());
  std::lock_guard lock(mu_);
  for (const std::string& g : groups) {
    SLUICE_ASSIGN_OR_RETURN(auto all, Load(g));
    bool changed = std::erase_if(all, [&](const auto& kv) { return kv.first.topic == topic; }) > 0;
    if (!changed) continue;
    SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(PathFor(g), Serialize(all)));
  }
  return Status::Ok();
}

}  // namespace sluice
