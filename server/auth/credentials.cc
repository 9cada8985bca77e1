#include "server/auth/credentials.h"

#include <fmt/format.h>

#include <sstream>

#include "core/file_system.h"
#include "core/internal/metadata_file.h"

namespace sluice::kafka::auth {

namespace {

constexpr std::string_view kHeader = "sluice-credentials 1";
constexpr std::string_view kRemedy =
    "restore it from a backup, or remove it and add the users again with `sluice user add`";

bool NameChar(char c, bool allow_at) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || (allow_at && c == '@');
}

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t sp = line.find(' ', i);
    if (sp == std::string_view::npos) sp = line.size();
    out.push_back(line.substr(i, sp - i));
    i = sp + 1;
  }
  return out;
}

std::string OpsLetters(uint8_t ops) {
  std::string s;
  if (ops & kRead) s += 'r';
  if (ops & kWrite) s += 'w';
  if (ops & kAdmin) s += 'a';
  return s;
}

}  // namespace

std::string CredentialStore::PathIn(std::string_view data_dir) {
  return JoinPath(data_dir, "credentials");
}

Status CredentialStore::ValidateUserName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return InvalidArgument("user name '{}' must be 1 to 128 characters", name);
  }
  for (char c : name) {
    if (!NameChar(c, true)) {
      return InvalidArgument("user name '{}' may only use letters, digits, '.', '_', '-' and '@'",
                             name);
    }
  }
  return Status::Ok();
}

Status CredentialStore::ValidatePrefix(std::string_view prefix) {
  if (prefix == "*") return Status::Ok();
  if (prefix.empty() || prefix.size() > 249) {
    return InvalidArgument("prefix '{}' must be '*' (everything) or 1 to 249 characters", prefix);
  }
  for (char c : prefix) {
    if (!NameChar(c, false)) {
      return InvalidArgument("prefix '{}' may only use letters, digits, '.', '_' and '-'", prefix);
    }
  }
  return Status::Ok();
}

Result<CredentialStore> CredentialStore::Parse(std::string_view text, std::string_view path) {
  CredentialStore store;
  std::istringstream in{std::string(text)};
  std::string line;
  int n = 0;
  User* current = nullptr;
  auto bad = [&](std::string_view why) {
    return Corruption("{} line {}: {} ('{}'); {}", path, n, why, line, kRemedy);
  };
  while (std::getline(in, line)) {
    ++n;
    if (n == 1) {
      if (line != kHeader) return bad("not a sluice credentials file");
      continue;
    }
    auto f = Split(line);
    if (f.size() == 2 && f[0] == "user") {
      if (!ValidateUserName(f[1]).ok()) return bad("invalid user name");
      auto [it, fresh] = store.users_.emplace(std::string(f[1]), User{});
      if (!fresh) return bad("user listed twice");
      current = &it->second;
    } else if (f.size() == 6 && f[0] == "scram" && current) {
      auto m = ParseScramMechanism(f[1]);
      int64_t iterations = 0;
      auto salt = Base64Decode(f[3]);
      auto stored = Base64Decode(f[4]);
      auto server = Base64Decode(f[5]);
      if (!m || !sluice::internal::ParseDecimal(f[2], &iterations) || iterations < 1 ||
          iterations > (1 << 24) || !salt || !stored || !server) {
        return bad("malformed scram entry");
      }
      current->scram[*m] = {*salt, static_cast<int32_t>(iterations), *stored, *server};
    } else if (f.size() == 4 && f[0] == "allow" && current && ParseResourceType(f[1]) &&
               ValidatePrefix(f[2]).ok()) {
      Permission p;
      p.type = *ParseResourceType(f[1]);
      p.prefix = f[2] == "*" ? "" : std::string(f[2]);
      for (char c : f[3]) {
        if (c == 'r')
          p.operations |= kRead;
        else if (c == 'w')
          p.operations |= kWrite;
        else if (c == 'a')
          p.operations |= kAdmin;
        else
          return bad("unknown operation letter");
      }
      current->permissions.push_back(std::move(p));
    } else {
      return bad("unrecognised line");
    }
  }
  if (n == 0) return Corruption("{} is empty; {}", path, kRemedy);
  return store;
}

std::string CredentialStore::Render() const {
  std::string out = std::string(kHeader) + "\n";
  for (const auto& [name, user] : users_) {
    out += fmt::format("user {}\n", name);
    for (const auto& [m, c] : user.scram) {
      out +=
          fmt::format("scram {} {} {} {} {}\n", MechanismName(m), c.iterations,
                      Base64Encode(c.salt), Base64Encode(c.stored_key), Base64Encode(c.server_key));
    }
    for (const Permission& p : user.permissions) {
      out += fmt::format("allow {} {} {}\n", ResourceTypeName(p.type),
                         p.prefix.empty() ? "*" : p.prefix, OpsLetters(p.operations));
    }
  }
  return out;
}

Result<CredentialStore> CredentialStore::Load(std::string_view data_dir) {
  std::string path = PathIn(data_dir);
  FileSystem* fs = FileSystem::Default();
  if (!fs->Exists(path)) return CredentialStore{};
  SLUICE_ASSIGN_OR_RETURN(std::string bytes, fs->ReadFile(path));
  SLUICE_ASSIGN_OR_RETURN(auto text, sluice::internal::UnsealMetadata(bytes, path, kRemedy));
  if (!text.checksummed) {
    return Corruption("{} has no checksum trailer (truncated or edited by hand?); {}", path,
                      kRemedy);
  }
  return Parse(text.text, path);
}

Status CredentialStore::Save(std::string_view data_dir) const {
  FileSystem* fs = FileSystem::Default();
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(std::string(data_dir)));
  return fs->WriteFileAtomic(PathIn(data_dir), sluice::internal::SealMetadata(Render()));
}

const User* CredentialStore::Find(const std::string& name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

std::optional<ScramCredential> CredentialStore::Lookup(const std::string& user,
                                                       ScramMechanism m) const {
  const User* u = Find(user);
  if (!u) return std::nullopt;
  auto it = u->scram.find(m);
  if (it == u->scram.end()) return std::nullopt;
  return it->second;
}

const char* ResourceTypeName(ResourceType type) {
  switch (type) {
    case ResourceType::kTopic:
      return "topic";
    case ResourceType::kGroup:
      return "group";
    case ResourceType::kTransactionalId:
      return "transactional-id";
  }
  return "?";
}

std::optional<ResourceType> ParseResourceType(std::string_view name) {
  for (ResourceType t :
       {ResourceType::kTopic, ResourceType::kGroup, ResourceType::kTransactionalId}) {
    if (name == ResourceTypeName(t)) return t;
  }
  return std::nullopt;
}

bool CredentialStore::Allowed(const std::string& user, ResourceType type, std::string_view name,
                              uint8_t ops) const {
  const User* u = Find(user);
  if (!u) return false;
  uint8_t held = 0;
  for (const Permission& p : u->permissions) {
    if (p.type == type && name.starts_with(p.prefix)) held |= p.operations;
  }
  return (held & ops) == ops;
}

bool CredentialStore::AllowedAnywhere(const std::string& user, ResourceType type,
                                      uint8_t ops) const {
  const User* u = Find(user);
  if (!u) return false;
  for (const Permission& p : u->permissions) {
    if (p.type == type && (p.operations & ops) == ops) return true;
  }
  return false;
}

}  // namespace sluice::kafka::auth
