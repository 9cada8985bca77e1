// Users, their SCRAM credentials and their permissions: the file <data>/credentials, managed by
// `sluice user` and read by `sluice serve` when SASL is enabled.
//
// Format (a checksummed metadata file, core/internal/metadata_file.h; written atomically):
//
//   sluice-credentials 1
//   user alice
//   scram SCRAM-SHA-256 <iterations> <salt b64> <StoredKey b64> <ServerKey b64>
//   scram SCRAM-SHA-512 ...
//   allow topic <prefix|*> <r|w|a letters>
//   allow group <prefix|*> r
//   crc32c:xxxxxxxx
//
// Passwords are never stored; PLAIN is checked against the SCRAM-SHA-512 entry.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "server/auth/scram.h"

namespace sluice::kafka::auth {

// Topics and groups as in Kafka's ACLs; transactional ids (write: use the id in InitProducerId,
// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit and find its coordinator).
enum class ResourceType { kTopic, kGroup, kTransactionalId };
// "topic", "group", "transactional-id": the names in the credentials file and `sluice user list`.
const char* ResourceTypeName(ResourceType type);
std::optional<ResourceType> ParseResourceType(std::string_view name);
// Bits of a permission.
enum Operation : uint8_t { kRead = 1, kWrite = 2, kAdmin = 4 };

struct Permission {
  ResourceType type = ResourceType::kTopic;
  std::string prefix;  // "" = every name ("*" in the file and on the command line)
  uint8_t operations = 0;
};

struct User {
  std::map<ScramMechanism, ScramCredential> scram;
  std::vector<Permission> permissions;
};

class CredentialStore {
 public:
  static std::string PathIn(std::string_view data_dir);
  // Reads <data_dir>/credentials; an empty store when the file does not exist.
  static Result<CredentialStore> Load(std::string_view data_dir);
  // Replaces <data_dir>/credentials atomically.
  Status Save(std::string_view data_dir) const;

  // Parses and renders the file text (without the checksum trailer).
  static Result<CredentialStore> Parse(std::string_view text, std::string_view path);
  std::string Render() const;

  // User names: 1..128 characters of [A-Za-z0-9._@-].
  static Status ValidateUserName(std::string_view name);
  // Resource prefixes: "*" or 1..249 characters of [A-Za-z0-9._-].
  static Status ValidatePrefix(std::string_view prefix);

  std::map<std::string, User>& users() { return users_; }
  const std::map<std::string, User>& users() const { return users_; }
  const User* Find(const std::string& name) const;

  std::optional<ScramCredential> Lookup(const std::string& user, ScramMechanism m) const;
  // True when `user` holds every bit of `ops` on `name` through one or more prefixes.
  bool Allowed(const std::string& user, ResourceType type, std::string_view name,
               uint8_t ops) const;
  // True when `user` holds `ops` on some resource of `type` (any prefix).
  bool AllowedAnywhere(const std::string& user, ResourceType type, uint8_t ops) const;

 private:
  std::map<std::string, User> users_;
};

}  // namespace sluice::kafka::auth
