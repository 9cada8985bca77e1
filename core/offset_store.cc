#include "core/offset_store.h"

#include <algorithm>
#include <charconv>

#include "core/internal/metadata_file.h"
#include "core/topic_config.h"

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
// Version 1 (no checksum, no group line) is still read; version 2 is written.
constexpr std::string_view kMagicLineV1 = "sluice-offsets 1";
constexpr std::string_view kMagicLine = "sluice-offsets 2";
// Longest file name used as is: NAME_MAX (255) less the ".tmp" of WriteFileAtomic's temporary
// file. Every name that worked before stays the same; longer encodings are shortened and hashed.
constexpr size_t kMaxPlainFileName = 255 - 4;
constexpr size_t kShortenedPrefix = 100;

// FNV-1a, 64 bits: names the file of a group id too long to spell out. The group id itself is
// stored in the file and checked on load, so a collision is detected, not merged.
uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string Serialize(const std::string& group,
                      const std::map<TopicPartition, CommittedOffset>& all) {
  std::string text = fmt::format("{}\ngroup\t{}\n", kMagicLine, Hex(group));
  for (const auto& [tp, co] : all) {
    text += fmt::format("{}\t{}\t{}\t{}\t{}\n", tp.topic, tp.partition, co.offset, co.commit_time,
                        Hex(co.metadata));
  }
  return internal::SealMetadata(text);
}

// Splits `*rest` at the next '\n'; false if there is none.
bool NextLine(std::string_view* rest, std::string_view* line) {
  size_t nl = rest->find('\n');
  if (nl == std::string_view::npos) return false;
  *line = rest->substr(0, nl);
  rest->remove_prefix(nl + 1);
  return true;
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
  std::string name = EncodeName(group);
  if (name.size() + kSuffix.size() > kMaxPlainFileName) {
    // Too long for a file name (a 249-character id, or one with many encoded bytes): a readable
    // prefix, cut before a partial "%XX", then '~' (which EncodeName never emits) and a hash.
    size_t cut = kShortenedPrefix;
    if (name[cut - 1] == '%') cut -= 1;
    if (name[cut - 2] == '%') cut -= 2;
    name = fmt::format("{}~{:016x}", name.substr(0, cut), Fnv1a64(group));
  }
  return JoinPath(dir_, name + std::string(kSuffix));
}

std::string OffsetStore::MemberLockPath(const std::string& group) const {
  std::string path = PathFor(group);
  return path.substr(0, path.size() - kSuffix.size()) + ".member";
}

Result<std::map<TopicPartition, CommittedOffset>> OffsetStore::Load(const std::string& group) {
  std::map<TopicPartition, CommittedOffset> out;
  std::string path = PathFor(group);
  if (!fs_->Exists(path)) return out;
  SLUICE_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadFile(path));
  std::string stored_group;
  SLUICE_ASSIGN_OR_RETURN(out, Parse(bytes, path, &stored_group));
  if (stored_group != group && !stored_group.empty()) {
    return Corruption(
        "offset file '{}' holds the offsets of another group than '{}' (a file name collision); "
        "use another group id",
        path, group);
  }
  return out;
}

Result<std::map<TopicPartition, CommittedOffset>> OffsetStore::Parse(std::string_view bytes,
                                                                     const std::string& path,
                                                                     std::string* group) {
  std::map<TopicPartition, CommittedOffset> out;
  group->clear();
  // What to do about a damaged file: the offsets cannot be guessed, so the group starts over
  // where its owner decides.
  const std::string fix = fmt::format(
      "delete the file to forget the group's offsets (its consumers then start from "
      "auto.offset.reset), or restore it from a backup");
  auto bad = [&](std::string_view what) {
    return Corruption("offset file '{}' is damaged: {}; {}", path, what, fix);
  };
  SLUICE_ASSIGN_OR_RETURN(internal::MetadataText m, internal::UnsealMetadata(bytes, path, fix));
  std::string_view rest = m.text, line;
  if (!NextLine(&rest, &line)) return bad("it has no header");
  if (m.checksummed) {
    if (line != kMagicLine) return bad("it has an unknown header");
    if (!NextLine(&rest, &line) || !line.starts_with("group\t") || !Unhex(line.substr(6), group) ||
        group->empty()) {
      return bad("it has no group line");
    }
  } else if (line == kMagicLine) {
    return bad("its checksum line is missing (the file was cut short)");
  } else if (line != kMagicLineV1) {
    return bad("it has an unknown header");
  }
  while (NextLine(&rest, &line)) {
    // topic \t partition \t offset \t commit_time \t hex(metadata)
    std::string_view f[5];
    for (int i = 0; i < 5; ++i) {
      size_t tab = line.find('\t');
      if (i < 4 && tab == std::string_view::npos) return bad("it has a malformed line");
      if (i == 4 && tab != std::string_view::npos) return bad("it has a malformed line");
      f[i] = line.substr(0, tab);
      line = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
    }
    int64_t part = 0, off = 0, ts = 0;
    CommittedOffset co;
    if (!ValidateTopicName(f[0]).ok() || !internal::ParseDecimal(f[1], &part) || part < 0 ||
        part > INT32_MAX || !internal::ParseDecimal(f[2], &off) || off < 0 ||
        !internal::ParseDecimal(f[3], &ts) || !Unhex(f[4], &co.metadata)) {
      return bad("it has a malformed line");
    }
    co.offset = Offset(off);
    co.commit_time = Timestamp(ts);
    out[TopicPartition{std::string(f[0]), PartitionId(static_cast<int32_t>(part))}] = std::move(co);
  }
  if (!rest.empty()) return bad("it ends mid-line");
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
  return fs_->WriteFileAtomic(PathFor(group), Serialize(group, all));
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
    if (n.size() <= kSuffix.size() || !n.ends_with(kSuffix)) continue;
    std::string_view stem = std::string_view(n).substr(0, n.size() - kSuffix.size());
    if (stem.find('~') == std::string_view::npos) {
      out.push_back(DecodeName(stem));
      continue;
    }
    // A shortened name: the group id is in the file.
    std::string path = JoinPath(dir_, n);
    SLUICE_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadFile(path));
    std::string group;
    SLUICE_RETURN_IF_ERROR(Parse(bytes, path, &group).status());
    if (group.empty()) return Corruption("offset file '{}' does not name its group", path);
    out.push_back(std::move(group));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<int> OffsetStore::DeleteOffsets(const std::string& group,
                                       const std::vector<TopicPartition>& parts) {
  if (read_only_)
    return InvalidArgument("cannot delete offsets of '{}': the log is read-only", group);
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto all, Load(group));
  int removed = 0;
  for (const TopicPartition& tp : parts) removed += static_cast<int>(all.erase(tp));
  if (removed == 0) return 0;
  std::string path = PathFor(group);
  if (all.empty()) {
    SLUICE_RETURN_IF_ERROR(fs_->RemoveFile(path));
    SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  } else {
    SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(path, Serialize(group, all)));
  }
  return removed;
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
    SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(PathFor(g), Serialize(g, all)));
  }
  return Status::Ok();
}

}  // namespace sluice
