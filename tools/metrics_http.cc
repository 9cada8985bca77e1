#include "tools/metrics_http.h"

#include <fmt/format.h>

#include <asio.hpp>
#include <charconv>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::tools {

class MetricsHttpServer::Impl {
 public:
  Impl() : acceptor_(io_) {}

  Status Listen(const std::string& address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
      return InvalidArgument(
          "--metrics-listen '{}' is not HOST:PORT; use e.g. 127.0.0.1:9464 (port 0 picks a free "
          "one)",
          address);
    }
    std::string host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost") host = "127.0.0.1";
    const std::string port_text = address.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
      return InvalidArgument("--metrics-listen '{}': port '{}' is not a number from 0 to 65535",
                             address, port_text);
    }
    asio::error_code aec;
    auto ip = asio::ip::make_address(host, aec);
    if (aec) {
      return InvalidArgument(
          "--metrics-listen '{}': '{}' is not an IP address; use e.g. 127.0.0.1 or 0.0.0.0",
          address, host);
    }
    asio::ip::tcp::endpoint ep(ip, static_cast<uint16_t>(port));
    acceptor_.open(ep.protocol(), aec);
    if (!aec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), aec);
    if (!aec) acceptor_.bind(ep, aec);
    if (!aec) acceptor_.listen(asio::socket_base::max_listen_connections, aec);
    if (aec) {
      return IOError(
          "cannot serve metrics on {}: {}; is another process using that port? choose another "
          "with --metrics-listen HOST:PORT",
          address, aec.message());
    }
    host_ = host;
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  void AddSource(Source s) {
    std::lock_guard<std::mutex> l(mu_);
    sources_.push_back(std::move(s));
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      sources_.clear();
    }
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string address() const {
    return host_.find(':') != std::string::npos ? fmt::format("[{}]:{}", host_, port_)
                                                : fmt::format("{}:{}", host_, port_);
  }

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io), timer(io) {}
    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    asio::streambuf in{64 * 1024};  // a request head larger than this is refused
    std::string out;
  };

  void Accept() {
    auto c = std::make_shared<Connection>(io_);
    acceptor_.async_accept(c->socket, [this, c](asio::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) Serve(c);
      Accept();
    });
  }

  // Reads one request head, answers it and closes the connection.
  void Serve(const std::shared_ptr<Connection>& c) {
    // A client that never finishes its request is dropped.
    c->timer.expires_after(std::chrono::seconds(10));
    c->timer.async_wait([c](asio::error_code ec) {
      asio::error_code ignored;
      if (!ec) c->socket.close(ignored);
    });
    asio::async_read_until(c->socket, c->in, "\r\n\r\n", [this, c](asio::error_code ec, size_t) {
      if (ec) {
        asio::error_code ignored;
        c->socket.close(ignored);
        c->timer.cancel();
        return;
      }
      std::string head(asio::buffers_begin(c->in.data()), asio::buffers_end(c->in.data()));
      const std::string line = head.substr(0, head.find("\r\n"));
      const size_t sp1 = line.find(' ');
      const size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
      const std::string method = line.substr(0, sp1);
      std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
      target = target.substr(0, target.find('?'));
      int code = 200;
      std::string body;
      std::string type = "text/plain; version=0.0.4; charset=utf-8";
      if (method != "GET" && method != "HEAD") {
        code = 405;
        body = "only GET /metrics is served\n";
        type = "text/plain; charset=utf-8";
      } else if (target != "/metrics") {
        code = 404;
        body = "not found; the metrics are at /metrics\n";
        type = "text/plain; charset=utf-8";
      } else {
        body = Scrape();
      }
      const char* reason = code == 200 ? "OK" : code == 404 ? "Not Found" : "Method Not Allowed";
      c->out = fmt::format(
          "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
          code, reason, type, body.size());
      if (method != "HEAD") c->out += body;
      asio::async_write(c->socket, asio::buffer(c->out), [c](asio::error_code, size_t) {
        asio::error_code ignored;
        c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        c->socket.close(ignored);
        c->timer.cancel();
      });
    });
  }

  std::string Scrape() {
    PrometheusText out;
    std::lock_guard<std::mutex> l(mu_);
    for (const Source& s : sources_) s(out);
    return out.Take();
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::string host_;
  uint16_t port_ = 0;
  std::mutex mu_;  // guards sources_; held for a scrape
  std::vector<Source> sources_;
};

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsHttpServer::~MetricsHttpServer() { Stop(); }

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(const std::string& address) {
  auto impl = std::make_unique<Impl>();
  SLUICE_RETURN_IF_ERROR(impl->Listen(address));
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

void MetricsHttpServer::AddSource(Source source) { impl_->AddSource(std::move(source)); }

void MetricsHttpServer::Stop() {
  if (impl_) impl_->Stop();
}

std::string MetricsHttpServer::address() const { return impl_->address(); }

}  // namespace sluice::tools
