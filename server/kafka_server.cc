#include "server/kafka_server.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
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

bool ServerImpl::TryCharge(int64_t n) {
  int64_t now = buffered.load(std::memory_order_relaxed);
  if (now + n > options_.max_buffered_request_bytes) return false;
  now += n;
  buffered.store(now, std::memory_order_relaxed);
  if (now > peak_buffered.load(std::memory_order_relaxed)) {
    peak_buffered.store(now, std::memory_order_relaxed);
  }
  return true;
}

void ServerImpl::Release(int64_t n) {
  if (n <= 0) return;
  buffered.fetch_sub(n, std::memory_order_relaxed);
  if (paused_.empty() || resume_posted_ || stopped_) return;
  // Resume outside the caller (which may be the connection that just released).
  resume_posted_ = true;
  asio::post(io_, [this] {
    resume_posted_ = false;
    while (!paused_.empty() && !stopped_) {
      auto conn = paused_.front().lock();
      if (!conn || conn->pending() == 0) {
        paused_.pop_front();
        continue;
      }
      if (!TryCharge(static_cast<int64_t>(conn->pending()))) break;
      // The bytes are charged; Resume appends them.
      paused_.pop_front();
      conn->Resume();
    }
  });
}

void ServerImpl::Pause(std::shared_ptr<Connection> conn) {
  ++reads_paused;
  paused_.push_back(std::move(conn));
}

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
  if (options_.max_buffered_request_bytes < int64_t{options_.max_frame_bytes} + 4) {
    return InvalidArgument(
        "max_buffered_request_bytes {} is below max_frame_bytes {} + 4: a request of the largest "
        "allowed size could never be read; raise it or lower max_frame_bytes",
        options_.max_buffered_request_bytes, options_.max_frame_bytes);
  }
  if (options_.max_decoded_request_bytes < options_.max_frame_bytes) {
    return InvalidArgument(
        "max_decoded_request_bytes {} is below max_frame_bytes {}: a request of the largest "
        "allowed size could not be decoded; raise it or lower max_frame_bytes",
        options_.max_decoded_request_bytes, options_.max_frame_bytes);
  }
  if (options_.tls_enabled()) SLUICE_RETURN_IF_ERROR(SetUpTls());
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
  if (Status st = handler_->RecoverTransactions(); !st.ok()) {
    acceptor_.close();
    return st;
  }
  Accept();
  Housekeeping();
  io_thread_ = std::thread([this] { io_.run(); });
  LogLine(fmt::format("serving {} over the Kafka protocol on {}:{} (advertised as {}:{}), {}",
                      log_->data_dir(), host, port_, advertised_host_, advertised_port_,
                      options_.sasl_mechanisms.empty()
                          ? (options_.tls_enabled() ? "SSL" : "PLAINTEXT")
                          : (options_.tls_enabled() ? "SASL_SSL" : "SASL_PLAINTEXT")));
  if (addr.is_unspecified() && options_.advertised_host.empty()) {
    LogLine(
        "listening on all interfaces but advertising 127.0.0.1: remote clients need "
        "--advertised HOST:PORT");
  }
  return Status::Ok();
}

Status ServerImpl::SetUpTls() {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  asio::error_code ec;
  // TLS 1.2 and 1.3 only (Kafka's ssl.enabled.protocols default).
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                   ec);
  auto failed = [&](const char* what, const std::string& file) {
    return InvalidArgument("TLS: cannot load the {} from '{}': {}; check the file is PEM", what,
                           file, ec.message());
  };
  ctx->use_certificate_chain_file(options_.tls_cert_file, ec);
  if (ec) return failed("certificate chain", options_.tls_cert_file);
  ctx->use_private_key_file(options_.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return failed("private key", options_.tls_key_file);
  if (!options_.tls_ca_file.empty()) {
    ctx->load_verify_file(options_.tls_ca_file, ec);
    if (ec) return failed("CA certificates", options_.tls_ca_file);
  }
  asio::ssl::verify_mode mode = asio::ssl::verify_none;
  if (options_.tls_client_auth == ServerOptions::TlsClientAuth::kRequested) {
    mode = asio::ssl::verify_peer;
  } else if (options_.tls_client_auth == ServerOptions::TlsClientAuth::kRequired) {
    mode = asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert;
  }
  ctx->set_verify_mode(mode, ec);
  if (ec) return InvalidArgument("TLS: cannot set the client-auth mode: {}", ec.message());
  tls_context_ = std::move(ctx);
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
    // The last reserved_loopback_connections slots are for clients on this host (an operator).
    bool loopback = false;
    if (!e) {
      auto a = peer.address();
      if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
      }
      loopback = a.is_loopback();
    }
    int64_t slots = options_.max_connections;
    if (!loopback) {
      slots -= std::clamp(options_.reserved_loopback_connections, 0, options_.max_connections / 2);
    }
    std::string refusal;
    if (open >= slots) {
      refusal = loopback || slots == options_.max_connections
                    ? fmt::format("{} connections are open (max_connections); closing the new one",
                                  open.load())
                    : fmt::format(
                          "{} connections are open (max_connections less the "
                          "reserved_loopback_connections kept for clients on this host); closing "
                          "the new one",
                          open.load());
    } else if (ip_count >= options_.max_connections_per_ip) {
      refusal = fmt::format(
          "{} connections from this address are open (max_connections_per_ip); closing the new "
          "one",
          ip_count);
    }
    if (!refusal.empty()) {
      ++rejected;
      LogClientError(0, ip, refusal);
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
  Stats s;
  s.connections_open = impl_->open.load();
  s.connections_accepted = impl_->accepted.load();
  s.connections_rejected = impl_->rejected.load();
  s.first_request_timeouts = impl_->first_request_timeouts.load();
  s.requests = impl_->requests.load();
  s.buffered_request_bytes = impl_->buffered.load();
  s.peak_buffered_request_bytes = impl_->peak_buffered.load();
  s.reads_paused = impl_->reads_paused.load();
  return s;
}

void KafkaServer::AppendMetrics(PrometheusText& out) const {
  const Stats s = stats();
  out.Gauge("sluice_server_connections", "Client connections open now", {},
            static_cast<double>(s.connections_open));
  out.Counter("sluice_server_connections_accepted_total", "Client connections accepted", {},
              static_cast<double>(s.connections_accepted));
  out.Counter("sluice_server_connections_rejected_total",
              "Connections closed at accept (over max_connections or the per-IP cap)", {},
              static_cast<double>(s.connections_rejected));
  impl_->handler().AppendMetrics(out);
}

void KafkaServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace sluice::kafka
