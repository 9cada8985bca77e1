#include "tools/owner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "client/log_client.h"
#include "core/crc32c.h"
#include "core/file_system.h"

namespace sluice::tools {
namespace {

constexpr const char* kOwnerFile = "OWNER";
constexpr const char* kLockFile = "LOCK";  // core/log.cc's writer lock

// "sluice-owner 1 address=HOST:PORT pid=N[ apps=A,B]\n" followed by "crc=XXXXXXXX\n" over that
// line. apps: the applications the owner runs (jobs in its process), if any.
std::string Encode(const std::string& address, const std::vector<std::string>& apps) {
  std::string body = fmt::format("sluice-owner 1 address={} pid={}", address, ::getpid());
  if (!apps.empty()) body += fmt::format(" apps={}", fmt::join(apps, ","));
  body += "\n";
  return body + fmt::format("crc={:08x}\n", crc32c::Value(body));
}

struct Owner {
  std::string address;
  std::string pid;
  std::vector<std::string> apps;
};

bool Decode(const std::string& text, Owner* owner) {
  size_t nl = text.find('\n');
  if (nl == std::string::npos) return false;
  std::string body = text.substr(0, nl + 1);
  if (text.substr(nl + 1) != fmt::format("crc={:08x}\n", crc32c::Value(body))) return false;
  const std::string prefix = "sluice-owner 1 address=";
  if (!body.starts_with(prefix)) return false;
  size_t sp = body.find(" pid=", prefix.size());
  if (sp == std::string::npos) return false;
  owner->address = body.substr(prefix.size(), sp - prefix.size());
  std::string rest = body.substr(sp + 5, body.size() - sp - 6);  // "N[ apps=A,B]"
  size_t apps = rest.find(" apps=");
  owner->pid = rest.substr(0, apps);
  if (apps != std::string::npos) {
    std::string list = rest.substr(apps + 6);
    for (size_t start = 0; start <= list.size();) {
      size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) owner->apps.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return !owner->address.empty();
}

// Whether some process holds the writer lock of `data_dir` (probed with a shared lock that is
// released at once; a writer starting in that instant retries within its lock wait).
bool LockHeld(const std::string& data_dir) {
  int fd = ::open(JoinPath(data_dir, kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  if (!held) ::flock(fd, LOCK_UN);
  ::close(fd);
  return held;
}

}  // namespace

Status WriteOwner(const std::string& data_dir, const std::string& address,
                  const std::vector<std::string>& apps) {
  return FileSystem::Default()->WriteFileAtomic(JoinPath(data_dir, kOwnerFile),
                                                Encode(address, apps));
}

void RemoveOwner(const std::string& data_dir) {
  FileSystem::Default()->RemoveFile(JoinPath(data_dir, kOwnerFile)).IgnoreError();
}

Result<std::string> FindOwner(const std::string& data_dir, std::chrono::milliseconds timeout) {
  FileSystem* fs = FileSystem::Default();
  std::string path = JoinPath(data_dir, kOwnerFile);
  if (!fs->Exists(path)) return std::string();
  Result<std::string> text = fs->ReadFile(path);
  Owner owner;
  if (!text.ok() || !Decode(*text, &owner)) return std::string();  // damaged: nobody known
  if (!LockHeld(data_dir)) return std::string();                   // stale: its owner is gone
  client::ClientOptions options;
  options.bootstrap_servers = owner.address;
  options.request_timeout = timeout;
  // The probe reports a silent owner in one line of its own; librdkafka's connection logs
  // (timeouts, refused connections) would add lines to stderr.
  options.kafka_config["log_level"] = "0";
  Result<std::unique_ptr<client::LogClient>> probe = client::OpenLogClient(options);
  if (!probe.ok()) {
    return Unavailable(
        "data directory '{}' is held by pid {}, which serves it at {} but does not answer ({}); "
        "check that process (restart it if it hangs), or pass --bootstrap-server with another "
        "address",
        data_dir, owner.pid, owner.address, probe.status().message());
  }
  return owner.address;
}

Result<OwnerInfo> OwnerOf(const std::string& data_dir) {
  FileSystem* fs = FileSystem::Default();
  std::string path = JoinPath(data_dir, kOwnerFile);
  OwnerInfo info;
  if (!fs->Exists(path)) return info;
  Result<std::string> text = fs->ReadFile(path);
  Owner owner;
  if (!text.ok() || !Decode(*text, &owner) || !LockHeld(data_dir)) return info;
  info.address = owner.address;
  info.pid = owner.pid;
  info.apps = owner.apps;
  return info;
}

Result<std::unique_ptr<kafka::KafkaServer>> ServeDirectory(Log* log,
                                                           const kafka::ServerOptions& options,
                                                           const std::string& data_dir,
                                                           const std::vector<std::string>& apps) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<kafka::KafkaServer> server,
                          kafka::KafkaServer::Start(log, options));
  std::string host = options.listen_host == "0.0.0.0" ? "127.0.0.1"
                     : options.listen_host == "::"    ? "::1"
                                                      : options.listen_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (Status st = WriteOwner(data_dir, fmt::format("{}:{}", host, server->port()), apps);
      !st.ok()) {
    server->Stop();
    return st;
  }
  return server;
}

void StopServing(kafka::KafkaServer* server, const std::string& data_dir) {
  RemoveOwner(data_dir);
  server->Stop();
}

}  // namespace sluice::tools
