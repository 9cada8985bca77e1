#include "server/kafka_server.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdio>
#include <future>

#include "server/internal/server_impl.h"

namespace sluice::kafka {
namespace internal {

ServerImpl::ServerImpl(sluice::Log* log, const ServerOptions& options)
    : log_(log),
      options_(options),
      work_(asio::make_work_guard(io_)),
      acceptor_(io_),
      tick_timer_(io_),
      accept_retry_timer_(io_) {}

ServerImpl::~ServerImpl() { Stop(); }

void ServerImpl::LogLine(std::string_view line) {
  if (options_.log_line) {
    options_.log_line(line);
    return;
  }
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::lock_guard<std::mutex> lock(log_mu_);
  fmt::print(stderr, "{:%Y-%m-%dT%H:%M:%S}.{:03d}Z sluice serve: {}\n",
             fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms.count(), line);
  std::fflush(stderr);
}

void ServerImpl::LogClientError(uint64_t conn, const std::string& peer, std::string_view what) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  int64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    if (now_ms - log_window_start_ms_ >= 1000) {
      suppressed = log_suppressed_;
      log_suppressed_ = 0;
      log_window_start_ms_ = now_ms;
      log_window_count_ = 0;
    }
    if (++log_window_count_ > options_.max_error_lines_per_second) {
      ++log_suppressed_;
      return;
    }
  }
  if (suppressed > 0) LogLine(fmt::format("({} more client errors not logged)", suppressed));
  LogLine(fmt::format("client {} (connection {}): {}", peer, conn, what));
}

void ServerImpl::RunOnWorker(std::function<void()> fn) { asio::post(*workers_, std::move(fn)); }

void ServerImpl::Forget(uint64_t id, const std::string& ip) {
  connections_.erase(id);
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
}

Status ServerImpl::Start() {
  std::string host = options_.listen_host == "localhost" ? "127.0.0.1" : options_.listen_host;
  asio::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgument(
        "listen address '{}' is not an IP address; use e.g. 127.0.0.1 or "
        "0.0.0.0",
        options_.listen_host);
  }
  asio::ip::tcp::endpoint ep(addr, options_.listen_port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return IOError(
        "cannot listen on {}:{}: {}; is another server using that port? choose "
        "another with --listen HOST:PORT",
        host, options_.listen_port, ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  advertised_host_ = options_.advertised_host;
  if (advertised_host_.empty()) {
    advertised_host_ = addr.is_unspecified() ? "127.0.0.1" : host;
  }
  advertised_port_ = options_.advertised_port > 0 ? options_.advertised_port : port_;
  workers_ = std::make_unique<asio::thread_pool>(std::max(1, options_.worker_threads));
  handler_ = std::make_unique<RequestHandler>(
      log_, options_, advertised_host_, advertised_port_,
      [this](std::function<void()> fn) { RunOnWorker(std::move(fn)); });
  Accept();
  Housekeeping();
  io_thread_ = std::thread([this] { io_.run(); });
  LogLine(fmt::format("serving {} over the Kafka protocol on {}:{} (advertised as {}:{})",
                      log_->data_dir(), host, port_, advertised_host_, advertised_port_));
  if (addr.is_unspecified() && options_.advertised_host.empty()) {
    LogLine(
        "listening on all interfaces but advertising 127.0.0.1: remote clients need "
        "--advertised HOST:PORT");
  }
  return Status::Ok();
}

void ServerImpl::Accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // E.g. EMFILE: keep the accept loop alive and retry shortly.
      LogLine(fmt::format("accept failed: {}; retrying in 100 ms", ec.message()));
      accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
      accept_retry_timer_.async_wait([this](const asio::error_code& e) {
        if (!e && !stopped_) Accept();
      });
      return;
    }
    ++accepted;
    asio::error_code e;
    auto peer = socket.remote_endpoint(e);
    std::string ip = e ? std::string("unknown") : peer.address().to_string();
    auto from_ip = per_ip_.find(ip);
    int32_t ip_count = from_ip == per_ip_.end() ? 0 : from_ip->second;
    if (open >= options_.max_connections || ip_count >= options_.max_connections_per_ip) {
      ++rejected;
      LogClientError(0, ip,
                     open >= options_.max_connections
                         ? fmt::format("{} connections are open (max_connections); closing the "
                                       "new one",
                                       open.load())
                         : fmt::format("{} connections from this address are open "
                                       "(max_connections_per_ip); closing the new one",
                                       ip_count));
      socket.close(e);
    } else {
      ++open;
      ++per_ip_[ip];
      auto conn = std::make_shared<Connection>(this, std::move(socket), next_id_++);
      connections_[conn->id()] = conn;
      conn->Start();
    }
    Accept();
  });
}

void ServerImpl::Housekeeping() {
  tick_timer_.expires_after(std::chrono::milliseconds(10));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    handler_->Tick(std::chrono::steady_clock::now());
    Housekeeping();
  });
}

void ServerImpl::Stop() {
  if (!io_thread_.joinable()) return;
  handler_->Shutdown();
  std::promise<void> closed;
  asio::post(io_, [this, &closed] {
    stopped_ = true;
    asio::error_code ec;
    acceptor_.close(ec);
    tick_timer_.cancel();
    accept_retry_timer_.cancel();
    auto conns = connections_;
    for (auto& [id, weak] : conns) {
      if (auto c = weak.lock()) c->Close("");
    }
    connections_.clear();
    closed.set_value();
  });
  closed.get_future().wait();
  workers_->join();
  work_.reset();
  io_.stop();
  io_thread_.join();
  LogLine(fmt::format("stopped ({} connections served, {} requests)", accepted.load(),
                      requests.load()));
}

}  // namespace internal

KafkaServer::KafkaServer(std::unique_ptr<internal::ServerImpl> impl) : impl_(std::move(impl)) {}

KafkaServer::~KafkaServer() { Stop(); }

Result<std::unique_ptr<KafkaServer>> KafkaServer::Start(Log* log, const ServerOptions& options) {
  auto impl = std::make_unique<internal::ServerImpl>(log, options);
  SLUICE_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<KafkaServer>(new KafkaServer(std::move(impl)));
}

uint16_t KafkaServer::port() const { return impl_->port(); }

std::string KafkaServer::advertised_address() const {
  return fmt::format("{}:{}", impl_->advertised_host(), impl_->advertised_port());
}

KafkaServer::Stats KafkaServer::stats() const {
  return {impl_->open.load(), impl_->accepted.load(), impl_->rejected.load(),
          impl_->requests.load()};
}

void KafkaServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace sluice::kafka
