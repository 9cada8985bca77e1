// Private pieces of KafkaServer: the asio machinery (io thread, acceptor, connections).
#pragma once

#define ASIO_STANDALONE 1
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/log.h"
#include "server/protocol/frame_splitter.h"
#include "server/request_handler.h"
#include "server/server_options.h"

namespace sluice::kafka::internal {

class ServerImpl;

// One client connection. Lives on the io thread; shared_ptr keeps it alive across async ops.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerImpl* server, asio::ip::tcp::socket socket, uint64_t id);
  // The TLS stream over the socket (SSL / SASL_SSL listeners), or null for plaintext.
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket&>;
  void Start();
  // Closes the socket (idempotent); `reason` is logged when not empty.
  void Close(const std::string& reason);
  uint64_t id() const { return id_; }
  // Bytes read but waiting for room under max_buffered_request_bytes (0 when reading).
  size_t pending() const { return pending_; }
  // Called by the server when there is room for pending() bytes again (io thread).
  void Resume();

 private:
  void ReadMore();
  // Reads/writes through TLS when the listener has it; one predictable branch per I/O call, so
  // the plaintext path is the same socket calls as before TLS existed.
  template <typename Buffers, typename Handler>
  void AsyncReadSome(const Buffers& b, Handler&& h) {
    if (tls_) {
      tls_->async_read_some(b, std::forward<Handler>(h));
    } else {
      socket_.async_read_some(b, std::forward<Handler>(h));
    }
  }
  template <typename Buffers, typename Handler>
  void AsyncWrite(const Buffers& b, Handler&& h) {
    if (tls_) {
      asio::async_write(*tls_, b, std::forward<Handler>(h));
    } else {
      asio::async_write(socket_, b, std::forward<Handler>(h));
    }
  }
  // Moves `n` bytes of read_buf_ into the splitter if the server's request-byte budget allows;
  // otherwise keeps them pending and waits for Resume. Returns true when appended.
  bool Admit(size_t n);
  // Gives back the budget of the request whose response was just sent.
  void ReleaseInflight();
  void OnRead(const asio::error_code& ec, size_t n);
  // Dispatches the next buffered frame, or reads more.
  void ProcessBuffered();
  void OnReply(Reply reply);
  void OnWritten(const asio::error_code& ec, bool close);
  // Arms the single deadline timer for the current state.
  void ArmTimer(std::chrono::steady_clock::time_point deadline, const char* what);

  ServerImpl* server_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
  asio::steady_timer timer_;
  uint64_t id_;
  ClientInfo client_;
  FrameSplitter splitter_;
  std::array<char, 64 * 1024> read_buf_;
  std::string write_buf_;
  bool closed_ = false;
  bool frame_started_ = false;
  std::chrono::steady_clock::time_point frame_deadline_;
  // Until the first whole request arrives, the connection must send one by this time.
  bool first_request_done_ = false;
  std::chrono::steady_clock::time_point first_request_deadline_;
  // Request-byte budget held: the splitter's bytes plus the request being handled.
  int64_t charged_ = 0;
  int64_t inflight_ = 0;
  size_t pending_ = 0;
};

class ServerImpl {
 public:
  ServerImpl(sluice::Log* log, const ServerOptions& options);
  ~ServerImpl();
  Status Start();
  void Stop();

  void LogLine(std::string_view line);
  void LogClientError(uint64_t conn, const std::string& peer, std::string_view what);

  const ServerOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  // The TLS context (certificate, key, client-auth policy), or null for plaintext.
  asio::ssl::context* tls_context() { return tls_context_.get(); }
  RequestHandler& handler() { return *handler_; }
  void RunOnWorker(std::function<void()> fn);
  // Drops a closed connection from the tables (io thread).
  void Forget(uint64_t id, const std::string& ip);

  uint16_t port() const { return port_; }
  std::string advertised_host() const { return advertised_host_; }
  int32_t advertised_port() const { return advertised_port_; }

  // The global request-byte budget (max_buffered_request_bytes), io thread only except the
  // atomics read by stats(). TryCharge takes `n` bytes if they fit; Release gives bytes back and
  // resumes paused connections that now fit, in the order they paused.
  bool TryCharge(int64_t n);
  void Release(int64_t n);
  void Pause(std::shared_ptr<Connection> conn);

  std::atomic<int64_t> open{0}, accepted{0}, rejected{0}, requests{0}, first_request_timeouts{0};
  std::atomic<int64_t> buffered{0}, peak_buffered{0}, reads_paused{0};

 private:
  void Accept();
  void Housekeeping();
  // Builds tls_context_ from the options' PEM files.
  Status SetUpTls();

  sluice::Log* log_;
  ServerOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<asio::ssl::context> tls_context_;
  asio::steady_timer tick_timer_;
  asio::steady_timer accept_retry_timer_;
  std::unique_ptr<asio::thread_pool> workers_;
  std::unique_ptr<RequestHandler> handler_;
  std::thread io_thread_;
  uint16_t port_ = 0;
  std::string advertised_host_;
  int32_t advertised_port_ = 0;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;  // io thread only
  std::map<std::string, int32_t> per_ip_;                      // io thread only
  std::deque<std::weak_ptr<Connection>> paused_;               // io thread only
  bool resume_posted_ = false;                                 // io thread only
  bool stopped_ = false;
  std::mutex log_mu_;
  int64_t log_window_start_ms_ = 0;
  int32_t log_window_count_ = 0;
  int64_t log_suppressed_ = 0;
};

}  // namespace sluice::kafka::internal
