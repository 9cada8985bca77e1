#include <fmt/format.h>

#include "server/internal/server_impl.h"

namespace sluice::kafka::internal {

using Clock = std::chrono::steady_clock;

namespace {
const char* const kNoFirstRequest =
    "no complete request within first_request_timeout of connecting; closing the connection";
}  // namespace

Connection::Connection(ServerImpl* server, asio::ip::tcp::socket socket, uint64_t id)
    : server_(server),
      socket_(std::move(socket)),
      timer_(server->io()),
      id_(id),
      splitter_(server->options().max_frame_bytes) {
  asio::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  client_.host = ec ? std::string("unknown") : ep.address().to_string();
  client_.connection_id = id;
  if (!server->options().sasl_mechanisms.empty()) client_.sasl = std::make_shared<SaslSession>();
  if (server->tls_context()) tls_ = std::make_unique<TlsStream>(socket_, *server->tls_context());
}

void Connection::Start() {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  first_request_deadline_ = Clock::now() + server_->options().first_request_timeout;
  if (!tls_) {
    ReadMore();
    return;
  }
  // The TLS handshake counts against first_request_timeout like a silent client.
  ArmTimer(first_request_deadline_, kNoFirstRequest);
  tls_->async_handshake(
      asio::ssl::stream_base::server, [self = shared_from_this()](const asio::error_code& ec) {
        if (self->closed_) return;
        if (ec) {
          // A client hanging up mid-handshake closes quietly, as on a plaintext read (librdkafka
          // drops spare bootstrap connections that way); a refused handshake is logged.
          bool hung_up = ec == asio::error::eof || ec == asio::error::connection_reset ||
                         ec == asio::ssl::error::stream_truncated;
          self->Close(hung_up ? std::string()
                              : fmt::format("TLS handshake failed: {}; closing the connection",
                                            ec.message()));
          return;
        }
        self->ReadMore();
      });
}

void Connection::ArmTimer(Clock::time_point deadline, const char* what) {
  timer_.expires_at(deadline);
  timer_.async_wait([self = shared_from_this(), what](const asio::error_code& ec) {
    // A wait replaced by a later ArmTimer may still be queued; only a current expiry counts.
    if (ec || self->closed_ || self->timer_.expiry() > Clock::now()) return;
    if (what == kNoFirstRequest) ++self->server_->first_request_timeouts;
    self->Close(what);
  });
}

void Connection::ReadMore() {
  if (closed_) return;
  if (splitter_.in_frame()) {
    if (!frame_started_) {
      frame_started_ = true;
      frame_deadline_ = Clock::now() + server_->options().request_read_timeout;
      if (!first_request_done_ && first_request_deadline_ < frame_deadline_) {
        ArmTimer(first_request_deadline_, kNoFirstRequest);
      } else {
        ArmTimer(frame_deadline_,
                 "request not received completely within the read deadline "
                 "(request_read_timeout); closing the connection");
      }
    }
  } else {
    frame_started_ = false;
    auto idle_deadline = Clock::now() + server_->options().idle_timeout;
    if (!first_request_done_ && first_request_deadline_ < idle_deadline) {
      ArmTimer(first_request_deadline_, kNoFirstRequest);
    } else {
      ArmTimer(idle_deadline,
               "");  // idle connections close quietly, as Kafka's connections.max.idle.ms
    }
  }
  AsyncReadSome(
      asio::buffer(read_buf_),
      [self = shared_from_this()](const asio::error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const asio::error_code& ec, size_t n) {
  if (closed_) return;
  if (ec) {
    if (splitter_.in_frame()) {
      Close(
          fmt::format("connection closed by the client in the middle of a request ({} bytes "
                      "buffered)",
                      splitter_.buffered()));
    } else {
      Close(ec == asio::error::eof || ec == asio::error::connection_reset ||
                    ec == asio::ssl::error::stream_truncated
                ? std::string()
                : "read failed: " + ec.message());
    }
    return;
  }
  if (Admit(n)) ProcessBuffered();
}

bool Connection::Admit(size_t n) {
  if (!server_->TryCharge(static_cast<int64_t>(n))) {
    // Back-pressure: keep the bytes in read_buf_ and stop reading until there is room.
    pending_ = n;
    server_->Pause(shared_from_this());
    return false;
  }
  charged_ += static_cast<int64_t>(n);
  splitter_.Append(std::string_view(read_buf_.data(), n));
  return true;
}

void Connection::Resume() {
  // The server has charged pending_ bytes for us already.
  size_t n = pending_;
  pending_ = 0;
  if (closed_) {
    server_->Release(static_cast<int64_t>(n));
    return;
  }
  charged_ += static_cast<int64_t>(n);
  splitter_.Append(std::string_view(read_buf_.data(), n));
  // A request may be in flight (pipelined bytes); OnWritten picks the buffer up then.
  if (inflight_ == 0) ProcessBuffered();
}

void Connection::ReleaseInflight() {
  if (inflight_ == 0) return;
  charged_ -= inflight_;
  int64_t n = inflight_;
  inflight_ = 0;
  server_->Release(n);
}

void Connection::ProcessBuffered() {
  if (closed_) return;
  auto next = splitter_.Next();
  if (!next.ok()) {
    Close(next.status().message());
    return;
  }
  if (!next->has_value()) {
    ReadMore();
    return;
  }
  // A whole request: stop reading (mute) until its response is written. Its bytes stay
  // charged to the server's budget until then.
  inflight_ = 4 + static_cast<int64_t>((*next)->size());
  frame_started_ = false;
  first_request_done_ = true;
  timer_.cancel();
  ++server_->requests;
  auto self = shared_from_this();
  server_->RunOnWorker([self, frame = std::move(**next)]() mutable {
    self->server_->handler().Handle(std::move(frame), self->client_, [self](Reply reply) {
      asio::post(self->server_->io(),
                 [self, reply = std::move(reply)]() mutable { self->OnReply(std::move(reply)); });
    });
  });
}

void Connection::OnReply(Reply reply) {
  if (!reply.error.empty()) server_->LogClientError(id_, client_.host, reply.error);
  if (closed_) return;
  if (reply.frame.empty()) {
    ReleaseInflight();
    if (reply.close) {
      Close("");
    } else {
      ProcessBuffered();
    }
    return;
  }
  write_buf_ = std::move(reply.frame);
  ArmTimer(Clock::now() + server_->options().write_timeout,
           "client did not read its response within the write deadline; closing the connection");
  AsyncWrite(asio::buffer(write_buf_),
             [self = shared_from_this(), close = reply.close](const asio::error_code& ec, size_t) {
               self->OnWritten(ec, close);
             });
}

void Connection::OnWritten(const asio::error_code& ec, bool close) {
  if (closed_) return;
  write_buf_.clear();
  write_buf_.shrink_to_fit();
  ReleaseInflight();
  if (ec) {
    Close("write failed: " + ec.message());
    return;
  }
  if (close) {
    Close("");
    return;
  }
  ProcessBuffered();
}

void Connection::Close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  if (!reason.empty()) server_->LogClientError(id_, client_.host, reason);
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
  // Everything this connection held goes back to the budget (a request still being handled
  // included: its reply is dropped).
  int64_t held = charged_;
  charged_ = 0;
  inflight_ = 0;
  server_->Release(held);
  --server_->open;
  server_->Forget(id_, client_.host);
}

}  // namespace sluice::kafka::internal
