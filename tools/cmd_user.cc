// sluice user add | remove | list | grant | revoke: the users, SCRAM credentials and permissions
// of `sluice serve` with SASL (<data>/credentials; server/README.md, "Authentication and TLS").
//
// The file is rewritten atomically under an advisory lock (<data>/credentials.lock), so
// concurrent `sluice user` commands do not lose each other's changes. A running server reads the
// file when it starts: restart it to apply changes.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "server/auth/credentials.h"
#include "tools/commands.h"

namespace sluice::tools {
namespace {

using kafka::auth::CredentialStore;
using kafka::auth::Permission;
using kafka::auth::ResourceType;
using kafka::auth::ScramMechanism;

// Holds <data>/credentials.lock for the life of the object.
class CredentialsLock {
 public:
  static Result<std::unique_ptr<CredentialsLock>> Take(const std::string& data_dir) {
    SLUICE_RETURN_IF_ERROR(FileSystem::Default()->CreateDirs(data_dir));
    std::string path = JoinPath(data_dir, "credentials.lock");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoToStatus(errno, "open", path);
    if (::flock(fd, LOCK_EX) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoToStatus(err, "flock", path);
    }
    return std::unique_ptr<CredentialsLock>(new CredentialsLock(fd));
  }
  ~CredentialsLock() { ::close(fd_); }

 private:
  explicit CredentialsLock(int fd) : fd_(fd) {}
  int fd_;
};

struct AddArgs {
  std::string name;
  bool password_stdin = false;
  std::vector<std::string> mechanisms;
  int32_t iterations = kafka::auth::kDefaultScramIterations;
};

Result<std::string> ReadPassword(bool from_stdin) {
  std::string password;
  bool tty = !from_stdin && ::isatty(STDIN_FILENO);
  if (!from_stdin && !tty) {
    return UsageError(
        "no terminal to ask for the password: pass it on standard input with --password-stdin");
  }
  if (tty) {
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    fmt::print(stderr, "password: ");
    std::getline(std::cin, password);
    std::string again;
    fmt::print(stderr, "\nagain: ");
    std::getline(std::cin, again);
    fmt::print(stderr, "\n");
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    if (again != password) return UsageError("the two passwords differ; nothing was changed");
  } else {
    std::getline(std::cin, password);
  }
  if (password.empty()) return UsageError("the password is empty; nothing was changed");
  return password;
}

Status RunAdd(const CliContext& ctx, const AddArgs& args) {
  SLUICE_RETURN_IF_ERROR(CredentialStore::ValidateUserName(args.name));
  if (args.iterations < 4096) return UsageError("--iterations must be at least 4096");
  std::vector<ScramMechanism> mechanisms;
  for (const std::string& m : args.mechanisms) {
    auto parsed = kafka::auth::ParseScramMechanism(m);
    if (!parsed) {
      return UsageError(fmt::format(
          "--mechanism '{}': use SCRAM-SHA-256 or SCRAM-SHA-512 (PLAIN logins are checked "
          "against the SCRAM-SHA-512 entry)",
          m));
    }
    mechanisms.push_back(*parsed);
  }
  if (mechanisms.empty()) mechanisms = {ScramMechanism::kSha256, ScramMechanism::kSha512};
  SLUICE_ASSIGN_OR_RETURN(std::string password, ReadPassword(args.password_stdin));
  SLUICE_ASSIGN_OR_RETURN(auto lock, CredentialsLock::Take(ctx.data_dir));
  SLUICE_ASSIGN_OR_RETURN(CredentialStore store, CredentialStore::Load(ctx.data_dir));
  bool existed = store.users().count(args.name) > 0;
  auto& user = store.users()[args.name];
  user.scram.clear();
  for (ScramMechanism m : mechanisms) {
    SLUICE_ASSIGN_OR_RETURN(user.scram[m],
                            kafka::auth::MakeScramCredential(m, password, args.iterations));
  }
  SLUICE_RETURN_IF_ERROR(store.Save(ctx.data_dir));
  fmt::print(
      "{} user '{}' ({}){}\n", existed ? "updated" : "added", args.name,
      fmt::join(args.mechanisms.empty() ? std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"}
                                        : args.mechanisms,
                ", "),
      user.scram.count(ScramMechanism::kSha512) ? ", PLAIN" : "");
  return Status::Ok();
}

Status RunRemove(const CliContext& ctx, const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(auto lock, CredentialsLock::Take(ctx.data_dir));
  SLUICE_ASSIGN_OR_RETURN(CredentialStore store, CredentialStore::Load(ctx.data_dir));
  if (store.users().erase(name) == 0) {
    return NotFound("no user '{}' in {}; see `sluice user list`", name,
                    CredentialStore::PathIn(ctx.data_dir));
  }
  SLUICE_RETURN_IF_ERROR(store.Save(ctx.data_dir));
  fmt::print("removed user '{}'\n", name);
  return Status::Ok();
}

std::string Describe(const Permission& p) {
  std::string ops;
  if (p.operations & kafka::auth::kRead) ops += ops.empty() ? "read" : ",read";
  if (p.operations & kafka::auth::kWrite) ops += ops.empty() ? "write" : ",write";
  if (p.operations & kafka::auth::kAdmin) ops += ops.empty() ? "admin" : ",admin";
  return fmt::format("{} {}{}: {}", kafka::auth::ResourceTypeName(p.type),
                     p.prefix.empty() ? "*" : p.prefix, p.prefix.empty() ? "" : "*", ops);
}

Status RunList(const CliContext& ctx) {
  SLUICE_ASSIGN_OR_RETURN(CredentialStore store, CredentialStore::Load(ctx.data_dir));
  for (const auto& [name, user] : store.users()) {
    std::vector<std::string> mechs;
    for (const auto& [m, c] : user.scram) mechs.push_back(kafka::auth::MechanismName(m));
    if (user.scram.count(ScramMechanism::kSha512)) mechs.push_back("PLAIN");
    std::vector<std::string> perms;
    for (const Permission& p : user.permissions) perms.push_back(Describe(p));
    fmt::print("{}  mechanisms: {}  permissions: {}\n", name, fmt::join(mechs, ","),
               perms.empty() ? std::string("none") : fmt::format("{}", fmt::join(perms, "; ")));
  }
  return Status::Ok();
}

struct GrantArgs {
  std::string name;
  std::string topic_prefix;
  std::string group_prefix;
  std::string transactional_id_prefix;
  bool read = false, write = false, admin = false;
};

Status RunGrant(const CliContext& ctx, const GrantArgs& args, bool grant) {
  const int given = !args.topic_prefix.empty() + !args.group_prefix.empty() +
                    !args.transactional_id_prefix.empty();
  if (given != 1) {
    return UsageError(
        "give exactly one of --topic-prefix P, --group-prefix P or --transactional-id-prefix P "
        "('*' = all)");
  }
  const ResourceType type = !args.topic_prefix.empty()   ? ResourceType::kTopic
                            : !args.group_prefix.empty() ? ResourceType::kGroup
                                                         : ResourceType::kTransactionalId;
  const std::string& prefix = type == ResourceType::kTopic   ? args.topic_prefix
                              : type == ResourceType::kGroup ? args.group_prefix
                                                             : args.transactional_id_prefix;
  SLUICE_RETURN_IF_ERROR(CredentialStore::ValidatePrefix(prefix));
  uint8_t ops = (args.read ? kafka::auth::kRead : 0) | (args.write ? kafka::auth::kWrite : 0) |
                (args.admin ? kafka::auth::kAdmin : 0);
  if (ops == 0) return UsageError("give at least one of --read, --write, --admin");
  if (type == ResourceType::kGroup && (ops & ~kafka::auth::kRead)) {
    return UsageError("groups only have --read (it covers joining, committing and describing)");
  }
  if (type == ResourceType::kTransactionalId && ops != kafka::auth::kWrite) {
    return UsageError(
        "transactional ids only have --write (it covers using the id in transactions)");
  }
  SLUICE_ASSIGN_OR_RETURN(auto lock, CredentialsLock::Take(ctx.data_dir));
  SLUICE_ASSIGN_OR_RETURN(CredentialStore store, CredentialStore::Load(ctx.data_dir));
  auto it = store.users().find(args.name);
  if (it == store.users().end()) {
    return NotFound("no user '{}'; add it first with `sluice user add {}`", args.name, args.name);
  }
  Permission want;
  want.type = type;
  want.prefix = prefix == "*" ? "" : prefix;
  auto& perms = it->second.permissions;
  Permission* entry = nullptr;
  for (Permission& p : perms) {
    if (p.type == want.type && p.prefix == want.prefix) entry = &p;
  }
  if (grant) {
    if (!entry) entry = &perms.emplace_back(want);
    entry->operations |= ops;
  } else if (entry) {
    entry->operations &= static_cast<uint8_t>(~ops);
    if (entry->operations == 0) {
      std::erase_if(perms, [](const Permission& p) { return p.operations == 0; });
    }
  }
  SLUICE_RETURN_IF_ERROR(store.Save(ctx.data_dir));
  Permission shown = want;
  shown.operations = ops;
  fmt::print("{} '{}' {} {}\n", grant ? "granted" : "revoked", args.name, grant ? "on" : "from",
             Describe(shown));
  return Status::Ok();
}

void AddGrantOptions(CLI::App* cmd, GrantArgs& args) {
  cmd->add_option("name", args.name, "User name")->required();
  cmd->add_option("--topic-prefix", args.topic_prefix,
                  "Topics whose name starts with this ('*' = every topic)");
  cmd->add_option("--group-prefix", args.group_prefix,
                  "Consumer groups whose id starts with this ('*' = every group)");
  cmd->add_option("--transactional-id-prefix", args.transactional_id_prefix,
                  "Transactional ids that start with this ('*' = every id); --write only");
  cmd->add_flag("--read", args.read,
                "Consume, list offsets, see in Metadata; for groups: join, "
                "commit, fetch offsets, describe");
  cmd->add_flag("--write", args.write,
                "Produce (topics); run transactions with the id (transactional ids)");
  cmd->add_flag("--admin", args.admin, "Create and delete topics (topics only)");
}

}  // namespace

void RegisterUserCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* user = app.add_subcommand(
      "user", "Manage the users and permissions of `sluice serve` with SASL authentication");
  user->require_subcommand(1);

  auto add_args = std::make_shared<AddArgs>();
  CLI::App* add = user->add_subcommand(
      "add", "Add a user, or set a new password (SCRAM credentials; the password is not stored)");
  add->add_option("name", add_args->name, "User name")->required();
  add->add_flag("--password-stdin", add_args->password_stdin,
                "Read the password from the first line of standard input instead of asking");
  add->add_option("--mechanism", add_args->mechanisms,
                  "SCRAM-SHA-256 and/or SCRAM-SHA-512 (repeatable; default both; PLAIN logins "
                  "need SCRAM-SHA-512)");
  add->add_option("--iterations", add_args->iterations, "PBKDF2 iterations (default 4096)");
  add->callback(
      [&ctx, add_args] { ctx.action = [&ctx, add_args] { return RunAdd(ctx, *add_args); }; });

  auto remove_name = std::make_shared<std::string>();
  CLI::App* remove = user->add_subcommand("remove", "Remove a user and its permissions");
  remove->add_option("name", *remove_name, "User name")->required();
  remove->callback([&ctx, remove_name] {
    ctx.action = [&ctx, remove_name] { return RunRemove(ctx, *remove_name); };
  });

  CLI::App* list = user->add_subcommand("list", "List users, their mechanisms and permissions");
  list->callback([&ctx] { ctx.action = [&ctx] { return RunList(ctx); }; });

  auto grant_args = std::make_shared<GrantArgs>();
  CLI::App* grant = user->add_subcommand(
      "grant", "Allow a user to read/write/admin topics or read groups by name prefix");
  AddGrantOptions(grant, *grant_args);
  grant->callback([&ctx, grant_args] {
    ctx.action = [&ctx, grant_args] { return RunGrant(ctx, *grant_args, true); };
  });

  auto revoke_args = std::make_shared<GrantArgs>();
  CLI::App* revoke = user->add_subcommand("revoke", "Take permissions granted with `grant` back");
  AddGrantOptions(revoke, *revoke_args);
  revoke->callback([&ctx, revoke_args] {
    ctx.action = [&ctx, revoke_args] { return RunGrant(ctx, *revoke_args, false); };
  });
}

}  // namespace sluice::tools
