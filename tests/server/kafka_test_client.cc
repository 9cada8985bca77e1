#include "tests/server/kafka_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "core/record_batch.h"
#include "core/status.h"
#include "core/varint.h"

namespace sluice::kafka::testing {

RawClient::RawClient(uint16_t port, const char* source_ip) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (source_ip != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_ip, &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawClient::~RawClient() { Close(); }

void RawClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawClient::SendRequest(int16_t api_version, const RequestBody& body, int32_t correlation_id) {
  RequestHeader h{ApiKeyOf(body), api_version, correlation_id, std::string("raw-test")};
  return Send(EncodeRequest(h, body));
}

namespace {
// Reads exactly n bytes before the deadline.
bool ReadExactly(int fd, char* out, size_t n, std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t r = ::recv(fd, out, n, 0);
    if (r <= 0) return false;
    out += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}
}  // namespace

std::optional<std::string> RawClient::ReadFrame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char size_buf[4];
  if (!ReadExactly(fd_, size_buf, 4, deadline)) return std::nullopt;
  int32_t size = static_cast<int32_t>(varint::GetBE32(size_buf));
  if (size < 0 || size > (64 << 20)) return std::nullopt;
  std::string frame(static_cast<size_t>(size), '\0');
  if (!ReadExactly(fd_, frame.data(), frame.size(), deadline)) return std::nullopt;
  return frame;
}

bool RawClient::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) return false;
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
}

ServerFixture::ServerFixture(ServerOptions options, std::string data_dir) {
  static std::atomic<int> counter{0};
  if (data_dir.empty()) {
    data_dir =
        (std::filesystem::temp_directory_path() /
         ("sluice-server-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
            .string();
    std::filesystem::remove_all(data_dir);
  }
  data_dir_ = data_dir;
  LogOptions lo;
  lo.data_dir = data_dir_;
  lo.lock_holder_label = "server test";
  auto log = Log::Open(lo);
  SLUICE_CHECK_OK(log.status());
  log_ = std::move(log).value();
  options.listen_host = "127.0.0.1";
  options.listen_port = 0;
  if (!options.log_line) options.log_line = [](std::string_view) {};
  auto server = KafkaServer::Start(log_.get(), options);
  SLUICE_CHECK_OK(server.status());
  server_ = std::move(server).value();
}

ServerFixture::~ServerFixture() {
  server_->Stop();
  log_->Close().IgnoreError();
  std::filesystem::remove_all(data_dir_);
}

std::string MakeBatch(std::string_view value, int records) {
  RecordBatchBuilder b;
  for (int i = 0; i < records; ++i) b.Add(Timestamp(1000 + i), std::string_view("k"), value);
  return b.Finish();
}

long PeakRssKib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace sluice::kafka::testing
